"""Ask a question: consent-checked retrieval, a prompt with numbered sources,
the model's answer, its token counts, and measured attribution.

Consent is checked live: ``consents(asset_id)`` is called at query time for
every candidate work, before any of its text is read, and a work that no
longer consents is removed from the index at once, so the next question cannot
read it either.
"""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass, field
from typing import Callable, Sequence

from tantieme.ai.attribution import Attribution, Mode, attribute
from tantieme.ai.guard import instructions, is_keyword_list, near_duplicate, shingles
from tantieme.ai.index import Hit, Index
from tantieme.ai.models import Generation, Model
from tantieme.ai.prompt import SYSTEM_PROMPT, PromptSource, build_messages
from tantieme.errors import AIError, PromptTooLongError

__all__ = [
    "Answer", "Source", "ask", "first_sentences", "generate", "guard_passages", "prompt_size", "relevant", "select_sources",
    "trim_repetition",
]

Consents = Callable[[int], bool]

#: an answer is one paragraph: a blank line ends it (small models ramble on)
STOP = ("\n\n",)
#: ... and at most two sentences: a small model that quotes its source runs on into the
#: next ones (on the evaluation set, the fact is in the first two sentences of 51 answers
#: in 56, in the whole answer of 52, at half the tokens)
SENTENCES = 2
_SENTENCE_END = re.compile(r"[.!?][\"'”’)\]]*\s")


def first_sentences(text: str, n: int = SENTENCES) -> str:
    """``text`` up to the end of its ``n``-th sentence."""
    for i, m in enumerate(_SENTENCE_END.finditer(text), start=1):
        if i == n:
            return text[: m.end()].rstrip()
    return text

_SENTENCE = re.compile(r"\s*(?:\d+[.)]\s*)?[^.!?\n]+(?:[.!?]+|\n|$)")
_LIST_MARK = re.compile(r"^\s*(?:\d+[.)]|[-*•])\s*")


def trim_repetition(text: str) -> str:
    """Cut ``text`` before the first sentence that repeats an earlier one.

    Greedy decoding of a small model can loop ("2. Measure the chain. 3.
    Measure the chain. ..."); list numbers are ignored when comparing, and
    sentences under three words never count as repeats.
    """
    seen: set[str] = set()
    for m in _SENTENCE.finditer(text):
        key = " ".join(_LIST_MARK.sub("", m.group()).lower().split()).rstrip(".!?")
        if len(key.split()) >= 3:
            if key in seen:
                return text[: m.start()].rstrip()
            seen.add(key)
    return text


@dataclass(frozen=True)
class Source:
    """A work that was in the prompt as ``[number]``, with its measured weight."""

    number: int
    asset_id: int
    title: str
    owner: str
    chunk_ids: tuple[int, ...]
    weight: float
    #: best cosine similarity of its passages with the question
    retrieval_score: float
    #: token count of its text as it went into the prompt
    tokens: int


@dataclass(frozen=True)
class Answer:
    question: str
    text: str
    #: by weight, highest first (numbers are their places in the prompt)
    sources: tuple[Source, ...]
    own_knowledge: float
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str
    model: str
    weights_hash: str | None
    attribution_mode: str
    attribution_note: str
    #: what did not fit in the context, one line each
    truncated: tuple[str, ...]
    #: seconds: retrieval, generation (prefill + decode), attribution, total
    timings: dict[str, float] = field(default_factory=dict)
    #: works removed from the index during this question because consent was withdrawn
    revoked: tuple[int, ...] = ()

    def to_dict(self) -> dict:
        return asdict(self)


#: a passage is read only if its similarity to the question is at least this part of the best one's
RELEVANCE_FLOOR = 0.8


def relevant(hits: Sequence[Hit]) -> list[Hit]:
    """The hits whose cosine similarity with the question is within ``RELEVANCE_FLOOR`` of the best.

    Passages far less similar than the best one distract a small model (it
    mixes their numbers into the answer) and cost prompt tokens; keyword lists
    match many queries lexically but sit far below a real answer in meaning.
    On the evaluation set the passage holding the answer is always the most
    similar one, and unrelated passages score under 0.66 of it.
    """
    if not hits:
        return []
    best = max(h.dense for h in hits)
    return [h for h in hits if h.dense >= RELEVANCE_FLOOR * best]


def guard_passages(hits: Sequence[Hit]) -> tuple[list[Hit], list[str]]:
    """Hits without keyword lists, passages that instruct the model, and later copies (:mod:`tantieme.ai.guard`)."""
    notes: list[str] = []
    kept: list[tuple[Hit, frozenset]] = []
    for hit in hits:
        where = f"passage {hit.chunk_id} of asset {hit.asset_id}"
        if is_keyword_list(hit.text):
            notes.append(f"{where} dropped: a list of terms, not prose")
            continue
        cut = instructions(hit.text)
        if cut:
            notes.append(f"{where} dropped: it gives the model instructions ({cut[0][:60]!r})")
            continue
        grams = shingles(hit.text)
        twin = next((k for k in kept if k[0].asset_id != hit.asset_id and near_duplicate(k[1], grams)), None)
        if twin is not None:
            original, copy = sorted((twin[0], hit), key=lambda h: h.asset_id)
            notes.append(f"passage {copy.chunk_id} of asset {copy.asset_id} dropped: a copy of asset {original.asset_id}")
            if original is hit:  # the earlier-registered work takes its copy's rank
                kept[kept.index(twin)] = (hit, grams)
            continue
        kept.append((hit, grams))
    return [h for h, _ in kept], notes


def select_sources(
    model: Model,
    question: str,
    hits: Sequence[Hit],
    *,
    max_tokens: int,
    system: str = SYSTEM_PROMPT,
) -> tuple[list[PromptSource], list[list[Hit]], list[str]]:
    """Fit the retrieved works' passages into the context, and number them.

    Passages are first filtered by :func:`relevant` and checked by
    :func:`guard_passages`. They are then added in
    rank order while the whole prompt (counted with the
    model's tokenizer) leaves ``max_tokens`` free; a passage that does not fit
    whole is cut at a word boundary when at least 24 of its words fit, and
    dropped otherwise. Every cut and drop is reported. Sources are numbered in
    prompt order, and the prompt lists the best-ranked work last.
    """
    budget = model.context_window - max_tokens
    hits, notes = guard_passages(relevant(hits))
    chosen: dict[int, list[tuple[Hit, str]]] = {}

    def build(parts: dict[int, list[tuple[Hit, str]]]) -> list[PromptSource]:
        return [
            PromptSource(n, group[0][0].title, "\n\n".join(t for _, t in sorted(group, key=lambda p: p[0].ordinal)))
            for n, group in enumerate(parts.values(), start=1)
        ]

    def size(parts: dict[int, list[tuple[Hit, str]]]) -> int:
        return prompt_size(model, question, build(parts), system=system)

    base = size({})
    if base > budget:
        raise PromptTooLongError(
            f"the question is too long: the prompt without sources takes {base} tokens, "
            f"but only {budget} of the model's {model.context_window} are left after "
            f"reserving {max_tokens} for the answer; shorten the question or lower max_tokens"
        )
    full = False
    for hit in hits:
        if full:
            notes.append(f"passage {hit.chunk_id} of asset {hit.asset_id} dropped: the context is full")
            continue

        def with_text(text: str) -> dict[int, list[tuple[Hit, str]]]:
            trial = {a: list(g) for a, g in chosen.items()}
            trial.setdefault(hit.asset_id, []).append((hit, text))
            return trial

        trial = with_text(hit.text)
        if size(trial) <= budget:
            chosen = trial
            continue
        words = hit.text.split()
        lo, hi = 0, len(words) - 1
        while lo < hi:  # the longest word prefix that fits
            mid = (lo + hi + 1) // 2
            if size(with_text(" ".join(words[:mid]) + " …")) <= budget:
                lo = mid
            else:
                hi = mid - 1
        full = True
        if lo >= 24:
            chosen = with_text(" ".join(words[:lo]) + " …")
            notes.append(
                f"passage {hit.chunk_id} of asset {hit.asset_id} cut to its first {lo} of "
                f"{len(words)} words to fit the context"
            )
        else:
            notes.append(f"passage {hit.chunk_id} of asset {hit.asset_id} dropped: the context is full")
    # Present the best-ranked work last, nearest the question: a small model
    # attends best to what it read last (on the evaluation set this raised
    # top-1 attribution from 75 % to 92 % on the first 12 questions).
    chosen = dict(reversed(list(chosen.items())))
    sources = build(chosen)
    groups = [sorted((h for h, _ in g), key=lambda h: h.ordinal) for g in chosen.values()]
    return sources, groups, notes


def prompt_size(model: Model, question: str, sources: Sequence[PromptSource], *, system: str = SYSTEM_PROMPT) -> int:
    """Tokens of the prompt :func:`generate` sends for ``question`` over ``sources``: what the model meters."""
    grounded = getattr(model, "grounded_prompt_tokens", None)
    if grounded is not None:
        return grounded(question, sources, system=system)
    return model.prompt_tokens(build_messages(question, sources, system=system))


def generate(model: Model, question: str, sources: Sequence[PromptSource], *, max_tokens: int) -> Generation:
    """The model's answer over numbered sources: in the block layout when the backend has one
    (:meth:`~tantieme.ai.backends.llamacpp.LlamaCppModel.generate_grounded`), else as a chat."""
    grounded = getattr(model, "generate_grounded", None)
    if grounded is not None:
        return grounded(question, sources, max_tokens=max_tokens, stop=STOP, sentences=SENTENCES)
    return model.generate(build_messages(question, sources), max_tokens=max_tokens, stop=STOP)


def ask(
    question: str,
    index: Index,
    model: Model,
    consents: Consents,
    *,
    k: int = 4,
    max_tokens: int = 96,
    attribution: Mode = "ablation",
) -> Answer:
    """Answer ``question`` from consenting works in ``index`` with ``model``.

    ``consents(asset_id)`` must say, now, whether the work's terms allow
    retrieval (RAG) use; it is asked for each candidate before its text is read.

    >>> answer = ask("How many hives fit on a roof?", index, load_model(), registry.consents_to_rag)
    >>> answer.text, [(s.title, s.weight) for s in answer.sources], answer.own_knowledge
    """
    if not isinstance(question, str) or not question.strip():
        raise AIError("the question is empty")
    if k < 0:
        raise AIError("k must be >= 0")
    if max_tokens < 1:
        raise AIError("max_tokens must be at least 1")
    question = question.strip()
    # Too long whatever the sources? Say so before any retrieval.
    reserve = model.context_window - max_tokens
    if model.count_tokens(question) > reserve:
        raise PromptTooLongError(
            f"the question is too long: {model.count_tokens(question)} tokens, "
            f"the model's context is {model.context_window} tokens with {max_tokens} reserved for the answer"
        )
    t0 = time.perf_counter()
    refused: set[int] = set()

    def check(asset_id: int) -> bool:
        ok = bool(consents(asset_id))
        if not ok:
            refused.add(asset_id)
        return ok

    hits = index.search(question, k, allowed=check) if k else []
    for asset_id in sorted(refused):
        index.remove_work(asset_id)
    t1 = time.perf_counter()
    sources, groups, notes = select_sources(model, question, hits, max_tokens=max_tokens)
    generation = generate(model, question, sources, max_tokens=max_tokens)
    if generation.prompt_tokens > reserve or generation.completion_tokens > max_tokens:
        # the quote (interaction.max_fee) bounds the fee by these two counts: never charge more
        raise PromptTooLongError(
            f"the model metered {generation.prompt_tokens} prompt and {generation.completion_tokens} "
            f"completion tokens, more than the {reserve} and {max_tokens} this question was quoted for; "
            "lower max_tokens or k and ask again"
        )
    t2 = time.perf_counter()
    text = first_sentences(trim_repetition(generation.text))
    similarity = {s.number: max(h.dense for h in g) for s, g in zip(sources, groups)}
    result: Attribution = attribute(
        model, question, sources, text, mode=attribution, retrieval_scores=similarity
    )
    t3 = time.perf_counter()
    listed = sorted(
        (Source(
            number=s.number,
            asset_id=g[0].asset_id,
            title=g[0].title,
            owner=g[0].owner,
            chunk_ids=tuple(h.chunk_id for h in g),
            weight=result.weights.get(s.number, 0.0),
            retrieval_score=similarity[s.number],
            tokens=model.count_tokens(s.text),
        )
        for s, g in zip(sources, groups)),
        key=lambda s: (-s.weight, s.number),
    )
    return Answer(
        question=question,
        text=text.strip(),
        sources=tuple(listed),
        own_knowledge=result.own_knowledge,
        prompt_tokens=generation.prompt_tokens,
        completion_tokens=generation.completion_tokens,
        finish_reason=generation.finish_reason,
        model=model.name,
        weights_hash=model.weights_hash,
        attribution_mode=result.mode,
        attribution_note=result.note,
        truncated=tuple(notes),
        timings={
            "retrieval_s": t1 - t0,
            "prefill_s": generation.prefill_s,
            "decode_s": generation.decode_s,
            "generation_s": t2 - t1,
            "attribution_s": t3 - t2,
            "total_s": t3 - t0,
        },
        revoked=tuple(sorted(refused)),
    )
