"""Measured attribution: how much each source shaped an answer.

**Ablation** (the default). With the answer ``a`` fixed (the text the model
generated) and the same model, let

- ``L_all``  = log p(a | all sources)
- ``L_-i``   = log p(a | all sources except i)     (other sources keep their numbers)
- ``L_none`` = log p(a | no sources)

(natural-log likelihoods of the answer's tokens only; the prompt is not scored).
Then

- ``S0 = -L_none`` is the answer's surprise without any source;
- ``G  = L_all - L_none`` is how much all sources together made it likelier;
- ``source_share = clip(G / S0, 0, 1)`` (0 when ``S0 <= 0``) is the part of
  that surprise the sources explain; the rest, ``own = 1 - source_share``, is
  the **model's own knowledge** (what it would have said anyway, its wording);
- ``d_i = max(L_all - L_-i, 0)`` is source i's marginal influence: how much
  likelier the answer is with it than without it. A source that made the
  answer *less* likely gets nothing;
- ``w_i = source_share * d_i / sum_j d_j``.

If every ``d_i`` is 0 while ``G > 0`` (sources that are each redundant but
jointly needed, e.g. two copies of a fact), the source share is split in
proportion to the retrieval scores instead, and the result says so.

All weights are >= 0 and ``sum(w) + own == 1``.

**Retrieval** (``mode="retrieval"``, no extra model calls, and the fallback
for backends that cannot score): ``w_i`` proportional to ``max(s_i, 0)``,
the retrieval similarity of source i, and ``own = 0`` (``own = 1`` if every
score is 0). It measures relevance to the question, not influence on the
answer, and is labelled as such.

Cost. Ablation needs ``n + 2`` scorings of the answer; the embedded backend
gets ``L_all`` for free from generation (it records the greedy tokens'
log-probabilities), keeps the system prompt in its KV cache and, leaving out
source i, re-reads only what follows source i.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Literal, Sequence

from tantieme.ai.models import Model
from tantieme.ai.prompt import PromptSource, build_messages
from tantieme.errors import AIError

__all__ = ["Attribution", "attribute", "ablation_weights", "retrieval_weights"]

Mode = Literal["ablation", "retrieval"]


@dataclass(frozen=True)
class Attribution:
    """Weights per source number, the model's own share, and the raw measurements."""

    mode: Mode
    weights: dict[int, float]
    own_knowledge: float
    note: str = ""
    seconds: float = 0.0
    logp_all: float | None = None
    logp_none: float | None = None
    logp_without: dict[int, float] = field(default_factory=dict)

    @property
    def deltas(self) -> dict[int, float]:
        if self.logp_all is None:
            return {}
        return {n: self.logp_all - lp for n, lp in self.logp_without.items()}


def _normalise(raw: dict[int, float], total: float) -> dict[int, float]:
    s = sum(raw.values())
    return {n: total * v / s for n, v in raw.items()}


def ablation_weights(
    logp_all: float,
    logp_none: float,
    logp_without: dict[int, float],
    retrieval_scores: dict[int, float] | None = None,
) -> tuple[dict[int, float], float, str]:
    """Weights per source and the own-knowledge share (formula in the module docstring)."""
    for value in (logp_all, logp_none, *logp_without.values()):
        if math.isnan(value) or value > 1e-6:
            raise AIError(f"a log-probability must be <= 0, got {value}")
    numbers = list(logp_without)
    zero = {n: 0.0 for n in numbers}
    s0 = -logp_none
    gain = logp_all - logp_none
    if not numbers or s0 <= 0.0 or gain <= 0.0:
        return zero, 1.0, "" if numbers else "no sources"
    share = min(gain / s0, 1.0)
    deltas = {n: max(logp_all - logp_without[n], 0.0) for n in numbers}
    note = ""
    if sum(deltas.values()) > 0.0:
        weights = _normalise(deltas, share)
    else:
        scores = {n: max((retrieval_scores or {}).get(n, 0.0), 0.0) for n in numbers}
        if sum(scores.values()) <= 0.0:
            scores = {n: 1.0 for n in numbers}
        weights = _normalise(scores, share)
        note = "no single source changed the answer's likelihood; the sources' joint share is split by retrieval score"
    own = max(0.0, 1.0 - sum(weights.values()))
    return weights, own, note


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
    scores = retrieval_scores or {}
    numbers = [s.number for s in sources]
    note = ""
    if mode == "ablation" and not getattr(model, "can_score", False):
        mode = "retrieval"
        note = (
            f"model {model.name} cannot score answers (its server returns no prompt "
            "log-probabilities), so weights come from retrieval scores"
        )
    if mode == "retrieval" or not answer_text.strip():
        weights, own = retrieval_weights({n: scores.get(n, 0.0) for n in numbers})
        if mode == "retrieval" and not note:
            note = "weights from retrieval similarity (relevance to the question, not measured influence)"
        if not answer_text.strip():
            weights, own = {n: 0.0 for n in numbers}, 1.0
            note = "empty answer: nothing to attribute"
        return Attribution(mode, weights, own, note, time.perf_counter() - t0)

    extra = {"system": system} if system else {}
    variants = [build_messages(question, sources, **extra)]
    variants.append(build_messages(question, sources, leave_out=numbers, **extra))
    variants += [build_messages(question, sources, leave_out=[n], **extra) for n in numbers]
    scores_fn = getattr(model, "answer_logprobs", None)
    if scores_fn is not None:
        logps = scores_fn(variants, answer_text)
    else:
        logps = [model.answer_logprob(v, answer_text) for v in variants]
    logp_all, logp_none, rest = logps[0], logps[1], logps[2:]
    without = dict(zip(numbers, rest))
    weights, own, note = ablation_weights(logp_all, logp_none, without, scores)
    return Attribution(
        "ablation", weights, own, note, time.perf_counter() - t0,
        logp_all=logp_all, logp_none=logp_none, logp_without=without,
    )
