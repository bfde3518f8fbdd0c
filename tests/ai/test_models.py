import os

import pytest

from tantieme.ai import models
from tantieme.ai.backends.openai import OpenAICompatibleModel
from tantieme.ai.models import CHATML_TEMPLATE, file_sha256, load_model, register_backend, render_chat, weights_sha256
from tantieme.chain.anvil import free_port
from tantieme.errors import AIError



def test_render_chat__chatml():
    text = render_chat([{"role": "system", "content": "S"}, {"role": "user", "content": "U"}], CHATML_TEMPLATE)
    assert text == "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\n"


def test_render_chat__broken_template__raises():
    with pytest.raises(AIError, match="chat template"):
        render_chat([], "{% for %}")


def test_load_model__unknown_backend__raises():
    with pytest.raises(AIError, match="unknown model backend 'nope'"):
        load_model("nope")


def test_register_backend__plugin_is_built(make_fake_model):
    register_backend("fake", make_fake_model)
    assert isinstance(load_model("fake", context_window=99), make_fake_model)


def test_file_sha256(tmp_path):
    (tmp_path / "w").write_bytes(b"abc")
    assert file_sha256(tmp_path / "w") == "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_weights_sha256__kept_for_the_file_as_it_stands(tmp_path, monkeypatch):
    monkeypatch.setenv("TANTIEME_CACHE", str(tmp_path / "cache"))
    weights = tmp_path / "w.gguf"
    weights.write_bytes(b"abc")
    hashed = []
    monkeypatch.setattr(models, "file_sha256", lambda p: hashed.append(p) or file_sha256(p))
    assert weights_sha256(weights) == weights_sha256(weights) == file_sha256(weights)
    assert len(hashed) == 1  # the second load read the cache
    weights.write_bytes(b"abd")  # new weights: size or time moved, hashed afresh
    os.utime(weights, ns=(weights.stat().st_atime_ns, weights.stat().st_mtime_ns + 1_000))
    assert weights_sha256(weights) == file_sha256(weights) != "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert len(hashed) == 2


def test_weights_sha256__damaged_or_unwritable_cache__hashes_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("TANTIEME_CACHE", str(tmp_path / "cache"))
    weights = tmp_path / "w.gguf"
    weights.write_bytes(b"abc")
    weights_sha256(weights)
    for kept in (tmp_path / "cache" / "weights").iterdir():
        kept.write_text("{trunc")
    assert weights_sha256(weights) == file_sha256(weights)
    (tmp_path / "not-a-dir").write_text("")
    monkeypatch.setenv("TANTIEME_CACHE", str(tmp_path / "not-a-dir"))  # nothing can be written under it
    assert weights_sha256(weights) == file_sha256(weights)


def test_local_model__missing_weights__raises(monkeypatch, tmp_path):
    monkeypatch.setenv("TANTIEME_MODEL", str(tmp_path / "none.gguf"))
    with pytest.raises(AIError, match="not found"):
        load_model("local")


def test_openai_backend__unreachable_server__clean_error():
    port = free_port()
    model = OpenAICompatibleModel(f"http://127.0.0.1:{port}/v1", "m", timeout=2)
    with pytest.raises(AIError, match="cannot reach"):
        model.generate([{"role": "user", "content": "hi"}], max_tokens=4)
    assert model.can_score is False and "cannot reach" in model.scoring_note
    assert model.count_tokens("abcdefg") == 2  # estimate when no tokenizer is reachable


def test_openai_backend__bad_url__raises():
    with pytest.raises(AIError, match="http"):
        OpenAICompatibleModel("ftp://x", "m")


def test_render_chat__gemma_turns_fold_the_system_prompt_into_the_first_user_turn():
    from tantieme.ai.models import GEMMA_TEMPLATE

    messages = [{"role": "system", "content": "S"}, {"role": "user", "content": "U"},
                {"role": "assistant", "content": "A"}, {"role": "user", "content": "V"}]
    assert render_chat(messages, GEMMA_TEMPLATE, bos_token="<bos>") == (
        "<bos><start_of_turn>user\nS\n\nU<end_of_turn>\n<start_of_turn>model\nA<end_of_turn>\n"
        "<start_of_turn>user\nV<end_of_turn>\n<start_of_turn>model\n"
    )
