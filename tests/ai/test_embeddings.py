import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tantieme.ai.embeddings import HashingEmbedder, MiniLMEmbedder, default_embedder
from tantieme.errors import AIError

REFERENCE = Path(__file__).parent / "data" / "minilm_reference.json"


@pytest.fixture(scope="module")
def minilm() -> MiniLMEmbedder:
    return default_embedder()


def test_minilm__same_vectors_as_sentence_transformers(minilm):
    # Reference vectors computed once with sentence-transformers 6.2.0 on torch 2.13.0 (CPU),
    # for a question, a passage, non-ASCII text, one character and a text past 256 tokens.
    ref = json.loads(REFERENCE.read_text())
    got = minilm.encode(ref["texts"])
    assert got.shape == (len(ref["texts"]), 384) and got.dtype == np.float32
    assert np.abs(got - np.array(ref["vectors"], dtype=np.float32)).max() < 1e-5


def test_minilm__batching_and_order_do_not_change_vectors(minilm):
    texts = ["short", "a much longer sentence about bees on a flat roof", "mid length text"]
    together = minilm.encode(texts)
    alone = np.stack([minilm.encode([t])[0] for t in texts])
    assert np.abs(together - alone).max() < 1e-5
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)
    assert minilm.encode([]).shape == (0, 384)


def test_minilm__missing_weights__clear_error(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps(
        {"hidden_size": 384, "num_attention_heads": 12, "num_hidden_layers": 6, "layer_norm_eps": 1e-12}))
    (tmp_path / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 256}))
    with pytest.raises(AIError, match="cannot read the embedding model"):
        MiniLMEmbedder(tmp_path)


def test_query_embedding__imports_no_torch():
    # A cold `ask` must not pay for torch / transformers / sentence-transformers (seconds).
    code = (
        "import sys; from tantieme.ai.embeddings import default_embedder; "
        "default_embedder().encode(['how many hives']); "
        "print(sorted(m for m in ('torch', 'transformers', 'sentence_transformers', 'scipy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_hashing_embedder__unit_rows():
    v = HashingEmbedder(64).encode(["bees on a roof", ""])
    assert v.shape == (2, 64)
    assert abs(float(np.linalg.norm(v[0])) - 1.0) < 1e-6 and not v[1].any()
