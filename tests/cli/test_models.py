"""The models a node serves: list, default, prices, training data that never goes missing,
and a node that can answer right after `init`."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tantieme import ai, interaction
from tantieme.cli import app
from tantieme.errors import AIError
from tantieme.node import Node

from .conftest import run, run_json, runner

TAI = 10**18


@dataclass
class Weights:
    """Stands in for a model's weights: registration needs only a name and a hash."""

    name: str
    digest: str

    @property
    def weights_hash(self) -> str:
        return "sha256:" + self.digest


@pytest.fixture
def node(tmp_path, init_embedded):
    ai.register_backend("weights", Weights)
    init_embedded()
    run("init")
    data = tmp_path / "answers.jsonl"
    data.write_text('{"q": "How many hives?", "a": "Four"}\n')
    run("register", str(data), "--kind", "dataset", "--terms", "training-data")
    other = tmp_path / "more.jsonl"
    other.write_text('{"q": "How many bees?", "a": "Many"}\n')
    run("register", str(other), "--kind", "dataset", "--terms", "training-data")
    with Node.open() as opened:
        yield opened


def serve(node: Node, name: str, digest: str, datasets: tuple[int, ...] = ()) -> interaction.ModelEntry:
    return interaction.register_model(node, backend="weights", options={"name": name, "digest": digest}, datasets=datasets)


def test_model_list_default_price(node):
    assert run_json("model", "list") == {"default": None, "models": []}
    assert "`tantieme ask` registers the local model" in run("model", "list").output
    first = serve(node, "first", "11" * 32, (1,))
    second = serve(node, "second", "22" * 32)
    listed = run_json("model", "list")
    assert listed["default"] == first.asset_id
    assert [m["asset_id"] for m in listed["models"]] == [first.asset_id, second.asset_id]
    assert listed["models"][0]["price_prompt_per_million"] == str(100 * TAI)

    assert run_json("model", "default", str(second.asset_id))["asset_id"] == second.asset_id
    assert interaction.Models.load().default == second.asset_id
    assert "default" in run("model", "list").output.splitlines()[1]

    priced = run_json("model", "price", str(second.asset_id), "--prompt", "0.5", "--completion", "2")
    assert (priced["price_prompt_per_million"], priced["price_completion_per_million"]) == (str(TAI // 2), str(2 * TAI))
    assert interaction.Models.load().get().offer == ai.Offer(TAI // 2, 2 * TAI)
    run_json("model", "price", str(second.asset_id), "--completion", "0")
    assert interaction.Models.load().get().offer == ai.Offer(TAI // 2, 0)

    missing = run("model", "default", "99", ok=False)
    assert "does not serve model 99" in missing.stderr and f"#{first.asset_id}" in missing.stderr


def test_model_register__dataset_is_never_silently_ignored(node):
    entry = serve(node, "m", "33" * 32, (1,))
    assert serve(node, "m", "33" * 32, (1,)).asset_id == entry.asset_id  # the same training data: served again
    assert serve(node, "m", "33" * 32).asset_id == entry.asset_id  # none named: served as registered
    with pytest.raises(AIError, match=r"registered already, as asset #\d+ trained on #1; .* cannot change"):
        serve(node, "m", "33" * 32, (2,))
    assert list(node.registry.functions.parentsOf(entry.asset_id).call()) == [1]


def test_model_register__openai_backend_needs_url_and_name(node):
    result = run("model", "register", "--backend", "openai", ok=False)
    assert result.stderr.startswith("error: Invalid value for '--backend': --backend openai needs --base-url URL and --name MODEL")


@pytest.mark.slow
def test_ask__right_after_init__registers_the_local_model_and_says_so(tmp_path):
    run("init")
    essay = tmp_path / "essay.md"
    essay.write_text("# Roof Bees\n\nA flat roof of forty square metres holds four hives.\n")
    run("register", str(essay), "--terms", "open")
    first = runner.invoke(app, ["ask", "How many hives fit on a flat roof?"], catch_exceptions=False)
    assert first.exit_code == 0, first.output
    assert "note: registered the local model SmolLM2" in first.stderr
    answer = run_json("ask", "How many hives fit on a flat roof?", "--attribution", "retrieval")
    assert answer["registered_model"] is None  # registered once only
    assert run_json("model", "list")["default"] == answer["model"] == 2
