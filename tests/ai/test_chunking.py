import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tantieme.ai.chunking import chunk_text, count_tokenish


def test_chunk__short_text__one_chunk():
    chunks = chunk_text("Hello world. This is short.")
    assert [c.text for c in chunks] == ["Hello world. This is short."]
    assert chunks[0].start == 0


def test_chunk__paragraphs_are_kept_whole_when_they_fit():
    text = "\n\n".join(f"Paragraph {i} has a few words in it." for i in range(6))
    chunks = chunk_text(text, max_tokens=20, overlap=0)
    for c in chunks:
        assert c.text.startswith("Paragraph") and c.text.endswith(".")
    assert " ".join(c.text for c in chunks).count("Paragraph") == 6


def test_chunk__long_paragraph__split_between_sentences_with_overlap():
    sentences = [f"Sentence number {i} says something." for i in range(30)]
    text = " ".join(sentences)
    chunks = chunk_text(text, max_tokens=30, overlap=8)
    assert len(chunks) > 3
    for c in chunks:
        assert count_tokenish(c.text) <= 30
        assert c.text.endswith(".")
    # consecutive chunks share a sentence (the overlap)
    for a, b in zip(chunks, chunks[1:]):
        assert b.start < a.end


def test_chunk__run_on_sentence__split_between_words():
    text = " ".join(f"word{i}" for i in range(500))
    chunks = chunk_text(text, max_tokens=50, overlap=0)
    assert all(count_tokenish(c.text) <= 50 for c in chunks)
    assert " ".join(c.text for c in chunks) == text


@pytest.mark.parametrize("max_tokens,overlap", [(0, 0), (10, 10), (10, -1)])
def test_chunk__bad_sizes__raise(max_tokens, overlap):
    with pytest.raises(ValueError):
        chunk_text("text", max_tokens=max_tokens, overlap=overlap)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.lists(st.text(st.characters(codec="utf-8", categories=["L", "N"]), min_size=1, max_size=12), min_size=1, max_size=40)
        .map(lambda ws: " ".join(ws) + "."),
        min_size=1, max_size=25,
    ).map(lambda ss: "\n\n".join(" ".join(ss[i:i + 3]) for i in range(0, len(ss), 3))),
    st.integers(8, 80),
)
def test_chunk__chunks_are_slices_that_cover_every_word(text, max_tokens):
    chunks = chunk_text(text, max_tokens=max_tokens, overlap=max_tokens // 4)
    covered = set()
    for i, c in enumerate(chunks):
        assert c.ordinal == i
        assert text[c.start:c.end] == c.text
        assert count_tokenish(c.text) <= max_tokens
        covered.update(range(c.start, c.end))
    for pos, ch in enumerate(text):
        if not ch.isspace():
            assert pos in covered
