import os

import numpy as np
import pytest

from tantieme.ai.embeddings import HashingEmbedder
from tantieme.ai.index import Index, bm25_terms
from tantieme.errors import AIError, IndexDamagedError

BEES = "Keep at most four hives on a roof of forty square metres. Strap every hive down against the wind."
BREAD = "The levain ferments overnight at 24 degrees for ten hours before the dough is mixed."
BIKES = "A chain that skips under load is worn or has a stiff link; measure it with a chain checker."


def fill(index):
    index.add_work(1, "Bees", "ada", BEES)
    index.add_work(2, "Bread", "bruno", BREAD)
    index.add_work(3, "Bikes", "chen", BIKES)


def test_add_and_search(make_index):
    index = make_index()
    fill(index)
    assert [w.asset_id for w in index.works()] == [1, 2, 3]
    hits = index.search("how many hives on a roof", k=2)
    assert hits[0].asset_id == 1 and hits[0].title == "Bees" and hits[0].owner == "ada"
    assert hits[0].text == BEES
    assert hits[0].score >= hits[-1].score


def test_search__empty_query__raises(make_index):
    with pytest.raises(AIError, match="empty"):
        make_index().search("  ")


def test_search__empty_index__no_hits(make_index):
    assert make_index().search("anything") == []


def test_search__allowed_set_filters(make_index):
    index = make_index()
    fill(index)
    hits = index.search("hives roof", k=3, allowed={2, 3})
    assert hits and all(h.asset_id in {2, 3} for h in hits)
    assert index.search("hives roof", k=3, allowed=set()) == []


def test_search__predicate_is_asked_per_candidate_work_in_rank_order(make_index):
    index = make_index()
    fill(index)
    asked = []

    def allowed(asset_id):
        asked.append(asset_id)
        return asset_id != 1

    hits = index.search("hives on a roof", k=1, allowed=allowed)
    assert asked[0] == 1  # the best match was checked first ... and refused
    assert len(asked) == len(set(asked))  # once per work
    assert hits[0].asset_id != 1


def test_remove_work__never_returned_again(make_index):
    index = make_index()
    fill(index)
    assert index.remove_work(1) is True
    assert index.remove_work(1) is False
    assert 1 not in index
    assert all(h.asset_id != 1 for h in index.search("hives roof forty square metres", k=5))


def test_persistence__reopen_sees_the_same(make_index, tmp_path):
    index = make_index("p")
    fill(index)
    index.remove_work(2)
    before = [(h.asset_id, h.chunk_id) for h in index.search("chain hives", k=5)]
    index.close()
    again = Index(tmp_path / "p", embedder=HashingEmbedder())
    assert [w.asset_id for w in again.works()] == [1, 3]
    assert [(h.asset_id, h.chunk_id) for h in again.search("chain hives", k=5)] == before
    again.close()


def test_incremental_add__appends_without_rewriting(make_index, tmp_path):
    index = make_index("inc")
    fill(index)
    matrix = next((tmp_path / "inc").glob("embeddings-*.f32"))
    before = matrix.read_bytes()
    index.add_work(4, "Honey", "ada", "Lime honey from June is the best for baking.")
    after = matrix.read_bytes()
    assert after[: len(before)] == before
    assert len(after) - len(before) == 4 * index.dim * len(index.chunks(4))
    assert index.search("lime honey june", k=1)[0].asset_id == 4


def test_second_process_view_sees_updates(make_index, tmp_path):
    writer = make_index("shared")
    reader = Index(tmp_path / "shared", embedder=HashingEmbedder())
    writer.add_work(1, "Bees", "ada", BEES)
    assert reader.search("hives roof", k=1)[0].asset_id == 1
    writer.remove_work(1)
    assert reader.search("hives roof", k=1) == []
    reader.close()


def test_crash_after_append_before_commit__trailing_rows_are_cut(make_index, tmp_path):
    index = make_index("crash")
    fill(index)
    index.close()
    matrix = next((tmp_path / "crash").glob("embeddings-*.f32"))
    size = matrix.stat().st_size
    with open(matrix, "ab") as f:  # vectors written, SQLite never committed
        f.write(np.ones(256 * 3, dtype=np.float32).tobytes())
    again = Index(tmp_path / "crash", embedder=HashingEmbedder())
    assert matrix.stat().st_size == size
    assert len(again.works()) == 3
    again.close()


def test_add_work__replaces_previous_version(make_index):
    index = make_index()
    index.add_work(1, "Bees", "ada", BEES)
    index.add_work(1, "Bees v2", "ada", "Only three hives now.")
    assert [w.title for w in index.works()] == ["Bees v2"]
    assert all("forty" not in h.text for h in index.search("hives", k=5))


def test_add_work__empty_text__raises_and_indexes_nothing(make_index):
    index = make_index()
    with pytest.raises(AIError, match="no text"):
        index.add_work(1, "Empty", "ada", "  \n")
    assert index.works() == []


def test_embedder_mismatch__raises(make_index, tmp_path):
    make_index("m").add_work(1, "Bees", "ada", BEES)
    with pytest.raises(AIError, match="hashing-256 vectors"):
        Index(tmp_path / "m", embedder=HashingEmbedder(dim=64))


def test_compaction__keeps_live_works(tmp_path):
    index = Index(tmp_path / "c", embedder=HashingEmbedder(dim=32), chunk_tokens=8, chunk_overlap=0)
    long_text = " ".join(f"Sentence {i} about topic{i}." for i in range(1200))
    index.add_work(1, "Big", "ada", long_text)
    index.add_work(2, "Small", "bruno", "Salt pans at Ebbmouth.")
    dead = len(index.chunks(1))
    assert dead > 1024
    index.remove_work(1)  # dead rows now outnumber live ones: compacted
    files = list((tmp_path / "c").glob("embeddings-*.f32"))
    assert len(files) == 1 and files[0].stat().st_size == 32 * 4 * len(index.chunks(2))
    assert index.search("salt pans", k=1)[0].asset_id == 2
    index.close()


def test_bm25__matches_bm25s_scores():
    import bm25s

    docs = [BEES, BREAD, BIKES, "Hives and hives and more hives.", "Nothing relevant here at all."]
    index = Index.__new__(Index)  # only the scorer is exercised, on a hand-built state
    from tantieme.ai.index import _Postings
    from collections import Counter

    index._rows = len(docs)
    index._terms, index._postings = {}, _Postings()
    index._row_len = np.zeros(len(docs), dtype=np.float32)
    for row, doc in enumerate(docs):
        counts = Counter(bm25_terms(doc))
        index._row_len[row] = sum(counts.values())
        for term, tf in counts.items():
            tid = index._terms.setdefault(term, len(index._terms))
            index._postings.add(tid, np.array([row]), np.array([tf], dtype=np.float32))
    ours = index._bm25("hives on the roof, chain", np.ones(len(docs), dtype=bool))
    ref = bm25s.BM25()
    ref.index([bm25_terms(d) for d in docs], show_progress=False)
    theirs = ref.get_scores(bm25_terms("hives on the roof, chain"))
    np.testing.assert_allclose(ours, theirs, rtol=1e-5)


# -- invariants under any sequence of adds, removes and reopens -------------- #

from hypothesis import settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule  # noqa: E402

WORDS = ["bees", "roof", "levain", "oven", "chain", "brake", "salt", "comet", "choir", "canal"]


class IndexMachine(RuleBasedStateMachine):
    """The index always holds exactly the works added and not removed, across reopens."""

    def __init__(self):
        super().__init__()
        import tempfile

        self.dir = tempfile.mkdtemp()
        self.index = Index(self.dir, embedder=HashingEmbedder(dim=32), chunk_tokens=12, chunk_overlap=3)
        self.model: dict[int, str] = {}

    @rule(asset=st.integers(1, 6), words=st.lists(st.sampled_from(WORDS), min_size=3, max_size=40))
    def add(self, asset, words):
        text = ". ".join(" ".join(words[i:i + 5]) for i in range(0, len(words), 5)) + "."
        self.index.add_work(asset, f"Work {asset}", "owner", text)
        self.model[asset] = text

    @rule(asset=st.integers(1, 6))
    def remove(self, asset):
        assert self.index.remove_work(asset) == (asset in self.model)
        self.model.pop(asset, None)

    @rule()
    def reopen(self):
        self.index.close()
        self.index = Index(self.dir, embedder=HashingEmbedder(dim=32), chunk_tokens=12, chunk_overlap=3)

    @rule(word=st.sampled_from(WORDS), allowed=st.frozensets(st.integers(1, 6)))
    def search(self, word, allowed):
        hits = self.index.search(word, k=5, allowed=set(allowed))
        for hit in hits:
            assert hit.asset_id in self.model and hit.asset_id in allowed
            assert hit.text in self.model[hit.asset_id]

    @invariant()
    def works_match(self):
        assert [w.asset_id for w in self.index.works()] == sorted(self.model)
        assert len(self.index) == sum(w.chunks for w in self.index.works())

    def teardown(self):
        self.index.close()


TestIndexMachine = IndexMachine.TestCase
TestIndexMachine.settings = settings(max_examples=25, stateful_step_count=15, deadline=None)


# -- damage ------------------------------------------------------------------ #


def _indexed(make_index, name: str = "index") -> Index:
    index = make_index(name)
    index.add_work(1, "Bees", "0xA", "Bees on a flat roof of forty square metres: four hives. " * 20)
    index.add_work(2, "Bread", "0xB", "The deck oven runs at 250 degrees for the rye loaves. " * 20)
    index.close()
    return index


@pytest.mark.parametrize(
    "damage",
    ["truncated database", "overwritten database", "truncated matrix", "missing matrix"],
)
def test_damaged_index__clear_error_then_discard_and_rebuild(make_index, tmp_path, damage):
    _indexed(make_index)
    path = tmp_path / "index"
    database, matrix = path / "index.sqlite", path / "embeddings-0.f32"
    if damage == "truncated database":
        os.truncate(database, database.stat().st_size // 2)
    elif damage == "overwritten database":
        database.write_bytes(b"not a database at all" * 100)
    elif damage == "truncated matrix":
        os.truncate(matrix, matrix.stat().st_size - 7)
    else:
        matrix.unlink()
    for leftover in path.glob("index.sqlite-*"):
        leftover.unlink()  # the WAL would otherwise still hold the pages
    with pytest.raises(IndexDamagedError, match=f"the index at {path} is damaged .*rebuilt from the chain and the store"):
        make_index()
    Index.discard(path)
    assert not path.exists() and not list(tmp_path.glob(".index.discarded-*"))
    rebuilt = make_index()
    assert len(rebuilt) == 0
    rebuilt.add_work(1, "Bees", "0xA", "Bees on a flat roof of forty square metres: four hives.")
    assert rebuilt.search("hives on a roof", k=1)[0].asset_id == 1


def test_discard__leftover_of_an_interrupted_discard__is_removed(make_index, tmp_path):
    _indexed(make_index)
    leftover = tmp_path / ".index.discarded-999999"
    leftover.mkdir()
    (leftover / "index.sqlite").write_bytes(b"x")
    Index.discard(tmp_path / "index")
    assert sorted(p.name for p in tmp_path.iterdir()) == []
