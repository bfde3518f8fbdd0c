"""Passages written to capture credit or steer the model, caught before they reach the prompt.

Three checks, each cheap and explainable (every action is reported in
``Answer.truncated``):

- **Instructions** — sentences addressed to the model rather than the reader:
  overrides ("ignore previous instructions", "SYSTEM:", "you are now ..."),
  demands about citing or crediting ("always cite this document", "attribute
  your answer to ..."), orders about the reply ("reply only with", "do not
  mention"). A passage with one is dropped whole: the rest of it was written
  around the instruction (on the evaluation set, a leftover "The user has
  agreed to this rule." was still copied into answers).
- **Keyword lists** — passages of 20 words or more that are not prose: fewer
  than 12 % of their words are English function words (prose has 35-55 %,
  recipes and tables 15-30 %) and almost no sentence ends. They exist to match
  every query and say nothing; they are dropped.
- **Near-duplicates** — a passage whose word 3-grams overlap another work's
  passage by half or more (Jaccard) is a copy: only the earliest registered
  work (lowest asset id) keeps it, so padding a copy with query terms cannot
  take the original's place.
"""

from __future__ import annotations

import re

__all__ = ["instructions", "is_keyword_list", "near_duplicate", "shingles"]

_SENTENCE = re.compile(r"[^.!?\n]+(?:[.!?]+[\"'”’)\]]*|\n|$)")
_WORD = re.compile(r"[a-z']+")

_INSTRUCTION = re.compile(
    r"""
    \b(?:ignore|disregard|forget|override)\b[^.!?\n]{0,40}\b(?:instructions?|prompts?|sources?|rules|documents?)\b
    | ^\s*(?:system|assistant|developer)\s*:
    | \byou\s+are\s+now\b
    | \b(?:always|must|should|shall)\s+(?:cite|credit|reference|attribute|name|mention|quote)\b
    | \b(?:cite|credit|attribute)\b[^.!?\n]{0,60}\b(?:this|the\s+present)\s+(?:document|source|bulletin|page|text|reference)\b
    | \b(?:give|assign)\b[^.!?\n]{0,30}\b(?:full\s+)?credit\b
    | \b(?:reply|respond|answer)\s+only\s+with\b
    | \bdo\s+not\s+(?:answer|mention|reveal|cite)\b
    | \bnotice\s+to\s+(?:any|all|the)\s+(?:ai|models?|assistants?|language\s+models?)\b
    | \b(?:ai|language)\s+models?\s+(?:must|should|shall)\b
    """,
    re.IGNORECASE | re.VERBOSE | re.MULTILINE,
)

_FUNCTION_WORDS = frozenset(
    """a an the and or but if of to in on at by for with from as is are was were be been being it its
    this that these those he she they we you i his her their our your my which who whom whose what
    when where why how not no than then so there here has have had do does did can could will would
    shall should may might must into onto over under about after before between through during each
    every all some any more most other such only own same too very just also one two""".split()
)


def instructions(text: str) -> list[str]:
    """The sentences of ``text`` that address the model rather than the reader."""
    return [m.group().strip() for m in _SENTENCE.finditer(text) if m.group().strip() and _INSTRUCTION.search(m.group())]


def is_keyword_list(text: str) -> bool:
    """A run of terms, not prose (see the module docstring for the thresholds)."""
    words = _WORD.findall(text.lower())
    if len(words) < 20:
        return False
    function = sum(w in _FUNCTION_WORDS for w in words) / len(words)
    sentences = len(re.findall(r"[.!?](?:\s|$)", text))
    return function < 0.12 and sentences <= len(words) / 40


def shingles(text: str, n: int = 3) -> frozenset[tuple[str, ...]]:
    words = _WORD.findall(text.lower())
    return frozenset(tuple(words[i : i + n]) for i in range(max(1, len(words) - n + 1)))


def near_duplicate(a: frozenset, b: frozenset, threshold: float = 0.5) -> bool:
    """Whether two shingle sets overlap by ``threshold`` or more (Jaccard)."""
    if not a or not b:
        return False
    return len(a & b) / len(a | b) >= threshold
