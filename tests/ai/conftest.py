"""Fixtures for the AI tests: a hermetic home, a tiny deterministic model, indexes."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Sequence

import pytest

from tantieme.ai.embeddings import HashingEmbedder
from tantieme.ai.index import Index
from tantieme.ai.models import Generation, Message, render_chat

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"

_WORD = re.compile(r"\w+|[^\w\s]")


class FakeModel:
    """A deterministic stand-in for a language model.

    - tokens are words and punctuation marks;
    - it answers with the first sentence of the last source in the prompt;
    - an answer word costs 0.1 nats if it appears in the prompt's sources and
      5 nats otherwise, so a source holding the answer's words has influence.
    """

    name = "fake"
    weights_hash = "sha256:" + "0" * 64
    can_score = True

    def __init__(self, context_window: int = 4096) -> None:
        self.context_window = context_window
        self.prompts: list[str] = []

    def tokenize(self, text: str) -> list[int]:
        return [hash(w) % 50_000 for w in _WORD.findall(text)]

    def count_tokens(self, text: str) -> int:
        return len(_WORD.findall(text))

    def prompt_tokens(self, messages: Sequence[Message]) -> int:
        return self.count_tokens(render_chat(messages))

    def generate(self, messages, max_tokens=256, stop=()):
        prompt = render_chat(messages)
        self.prompts.append(prompt)
        user = messages[-1]["content"]
        blocks = re.findall(r"\[\d+\] [^\n]*\n([^\n]+)", user)
        text = blocks[-1].split(". ")[0] + "." if blocks else "I do not know."
        words = _WORD.findall(text)[:max_tokens]
        return Generation(" ".join(words), self.prompt_tokens(messages), len(words), "stop", 0.01, 0.01)

    def answer_logprob(self, messages, answer_text):
        user = messages[-1]["content"]
        sources = user.split("Question:")[0].lower()
        known = set(_WORD.findall(sources))
        return -sum(0.1 if w.lower() in known else 5.0 for w in _WORD.findall(answer_text))

    def answer_logprobs(self, variants, answer_text):
        return [self.answer_logprob(v, answer_text) for v in variants]


@pytest.fixture
def fake_model() -> FakeModel:
    return FakeModel()


@pytest.fixture
def make_fake_model():
    """The FakeModel class, to build one with another context window."""
    return FakeModel


@pytest.fixture
def make_index(tmp_path):
    made = []

    def make(name: str = "index", **options) -> Index:
        options.setdefault("embedder", HashingEmbedder())
        index = Index(tmp_path / name, **options)
        made.append(index)
        return index

    yield make
    for index in made:
        try:
            index.close()
        except Exception:
            pass


@pytest.fixture(scope="session")
def catalog() -> dict:
    return json.loads((SAMPLES / "catalog.json").read_text())


@pytest.fixture
def sample_index(make_index, catalog):
    """The sample corpus indexed with asset ids 1..n in catalog order, no-AI work included."""
    from tantieme.ai.documents import read_document

    index = make_index("samples")
    for i, work in enumerate(catalog["works"], start=1):
        index.add_work(i, work["title"], work["creator"], read_document(SAMPLES / work["file"]))
    return index


@pytest.fixture
def sample_consents(catalog):
    """Consent to retrieval as the sample terms presets say (no-ai refuses)."""
    terms = {i: w["terms"] for i, w in enumerate(catalog["works"], start=1)}
    return lambda asset_id: terms[asset_id] != "no-ai"
