"""Measured attribution: how much each source shaped an answer.

**Ablation** (the default). With the answer ``a`` fixed (the text the model
generated) and the same model, let

- ``L_all``    = log p(a | all sources)
- ``L_-i``     = log p(a | all sources except i)     (other sources keep their numbers)
- ``L_only_i`` = log p(a | source i alone)
- ``L_none``   = log p(a | no sources)

(natural-log likelihoods of the answer's tokens only; the prompt is not scored).
Then

- ``S0 = -L_none`` is the answer's surprise without any source;
- ``G  = L_all - L_none`` is how much all sources together made it likelier;
- ``source_share = clip(G / S0, 0, 1)`` (0 when ``S0 <= 0``) is the part of
  that surprise the sources explain; the rest, ``own = 1 - source_share``, is
  the **model's own knowledge** (what it would have said anyway, its wording);
- ``phi_i = ((L_all - L_-i) + (L_only_i - L_none)) / 2`` is source i's
  influence: the mean of what it adds to all the other sources and what it
  adds to none, the two ends of its Shapley value (exact for two sources). Two
  copies of one fact each add nothing to the other but much alone, so they
  share; a source that adds nothing either way gets nothing;
- a source is **credited** only if ``phi_i >= ln 10``: with it, the answer is
  at least ten times likelier (a likelihood ratio of 10, "strong evidence" on
  Jeffreys' scale). Below that, the effect is within what unrelated text moves
  an answer's likelihood by (measured on the evaluation set: unrelated
  documents move it by 0 to 2 nats), and the work is not paid;
- ``w_i = source_share * phi_i / sum of phi_j over credited sources`` (0 if
  not credited). If no source is credited, ``own = 1``.

All weights are >= 0 and ``sum(w) + own == 1``.

**Retrieval** (``mode="retrieval"``, no extra model calls, and the fallback
for backends that cannot score): ``w_i`` proportional to ``max(s_i, 0)``,
the retrieval similarity of source i, and ``own = 0`` (``own = 1`` if every
score is 0). It measures relevance to the question, not influence on the
answer, and is labelled as such.

Cost. Ablation needs ``2n + 2`` scorings of the answer for n >= 3 sources,
4 for two and 2 for one (the subsets coincide). The embedded backend lays
sources out as independent blocks, so every scoring is a copy of the cached
prompt minus some blocks, followed by the question and the answer: the
scorings re-read only those, in one batch, and the one with all the sources
is not re-read at all: it was scored while the answer was generated
(:mod:`tantieme.ai.backends.llamacpp`).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Literal, Sequence

from tantieme.ai.models import Model
from tantieme.ai.prompt import PromptSource, build_messages
from tantieme.errors import AIError

__all__ = [
    "EVIDENCE_NATS", "Attribution", "Scores", "ablation_subsets", "ablation_weights", "attribute",
    "retrieval_weights", "scores_of",
]

Mode = Literal["ablation", "retrieval"]


@dataclass(frozen=True)
class Attribution:
    """Weights per source number, the model's own share, and the raw measurements."""

    mode: Mode
    weights: dict[int, float]
    own_knowledge: float
    note: str = ""
    seconds: float = 0.0
    #: the ablation's log-likelihoods (None in retrieval mode)
    scores: Scores | None = None


def deltas(self) -> dict[int, float]:
        if self.logp_all is None:
            return {}
        return {n: self.logp_all - lp for n, lp in self.logp_without.items()}


#: the least influence, in nats, that earns credit: a likelihood ratio of 10
EVIDENCE_NATS = math.log(10.0)


@dataclass(frozen=True)
class Scores:
    """Log-likelihoods of one answer under the ablation prompts, by source number."""

    all: float
    none: float
    without: dict[int, float]
    only: dict[int, float]


def ablation_subsets(numbers: Sequence[int]) -> list[frozenset[int]]:
    """The distinct source subsets to score: all, none, all but each, each alone.

    One source needs 2 scorings (all = it alone, none = all but it), two need 4, n >= 3 need 2n + 2.
    """
    every = frozenset(numbers)
    wanted = [every, frozenset()] + [every - {n} for n in numbers] + [frozenset({n}) for n in numbers]
    return list(dict.fromkeys(wanted))


def scores_of(numbers: Sequence[int], logp: dict[frozenset[int], float]) -> Scores:
    every = frozenset(numbers)
    return Scores(
        logp[every], logp[frozenset()],
        {n: logp[every - {n}] for n in numbers}, {n: logp[frozenset({n})] for n in numbers},
    )


def ablation_weights(scores: Scores) -> tuple[dict[int, float], float, str]:
    """Weights per source and the own-knowledge share (formula in the module docstring)."""
    for value in (scores.all, scores.none, *scores.without.values(), *scores.only.values()):
        if math.isnan(value) or value > 1e-6:
            raise AIError(f"a log-probability must be <= 0, got {value}")
    numbers = list(scores.without)
    zero = {n: 0.0 for n in numbers}
    s0 = -scores.none
    gain = scores.all - scores.none
    if not numbers or s0 <= 0.0 or gain <= 0.0:
        return zero, 1.0, "" if numbers else "no sources"
    share = min(gain / s0, 1.0)
    phi = {
        n: ((scores.all - scores.without[n]) + (scores.only[n] - scores.none)) / 2 for n in numbers
    }
    credited = {n: v for n, v in phi.items() if v >= EVIDENCE_NATS}
    if not credited:
        return zero, 1.0, "no source measurably shaped the answer (none made it ten times likelier)"
    total = sum(credited.values())
    weights = {n: share * credited.get(n, 0.0) / total for n in numbers}
    return weights, max(0.0, 1.0 - sum(weights.values())), ""


def retrieval_weights(scores: dict[int, float]) -> tuple[dict[int, float], float]:
    """Weights proportional to the non-negative retrieval scores; own share 0 (1 if all are 0)."""
    clipped = {n: max(s, 0.0) for n, s in scores.items()}
    total = sum(clipped.values())
    if total <= 0.0:
        return {n: 0.0 for n in scores}, 1.0
    return {n: v / total for n, v in clipped.items()}, 0.0


def attribute(
    model: Model,
    question: str,
    sources: Sequence[PromptSource],
    answer_text: str,
    *,
    mode: Mode = "ablation",
    retrieval_scores: dict[int, float] | None = None,
    system: str | None = None,
) -> Attribution:
    """Attribute ``answer_text`` (generated for ``question`` over ``sources``) to the sources."""
    if mode not in ("ablation", "retrieval"):
        raise AIError(f"unknown attribution mode {mode!r} (use 'ablation' or 'retrieval')")
    t0 = time.perf_counter()
    similarity = retrieval_scores or {}
    numbers = [s.number for s in sources]
    note = ""
    if mode == "ablation" and not getattr(model, "can_score", False):
        mode = "retrieval"
        note = (
            f"model {model.name} cannot score answers (its server returns no prompt "
            "log-probabilities), so weights come from retrieval scores"
        )
    if mode == "retrieval" or not answer_text.strip():
        weights, own = retrieval_weights({n: similarity.get(n, 0.0) for n in numbers})
        if mode == "retrieval" and not note:
            note = "weights from retrieval similarity (relevance to the question, not measured influence)"
        if not answer_text.strip():
            weights, own = {n: 0.0 for n in numbers}, 1.0
            note = "empty answer: nothing to attribute"
        return Attribution(mode, weights, own, note, time.perf_counter() - t0)

    extra = {"system": system} if system else {}
    subsets = ablation_subsets(numbers)
    by_subset = getattr(model, "subset_logprobs", None)
    if by_subset is not None:  # the block layout: copies of the cached prompt
        logps = by_subset(question, sources, answer_text, subsets, **extra)
    else:
        variants = [
            build_messages(question, sources, leave_out=[n for n in numbers if n not in subset], **extra)
            for subset in subsets
        ]
        logps = model.answer_logprobs(variants, answer_text)
    scores = scores_of(numbers, dict(zip(subsets, logps)))
    weights, own, note = ablation_weights(scores)
    return Attribution("ablation", weights, own, note, time.perf_counter() - t0, scores)
