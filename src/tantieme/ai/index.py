"""The knowledge index: hybrid (BM25 + dense) retrieval over registered works.

Layout of an index directory::

    index.sqlite        works, chunks (text, term counts, matrix row), vocabulary, meta
    embeddings-<n>.f32  float32 rows of unit-length chunk embeddings, appended to

Updates are incremental and atomic:

- ``add_work`` chunks and embeds only the new work, appends its vectors to the
  matrix file (flushed to disk) and then commits one SQLite transaction that
  records the chunks and the matrix's new row count. A crash between the two
  leaves trailing rows that no chunk references; they are cut off on the next
  open. Nothing is ever half-indexed.
- ``remove_work`` deletes the work's chunks in one transaction (from then on no
  query can read them; SQLite's ``secure_delete`` overwrites the freed text),
  then zeroes their vectors on disk. Dead rows are
  compacted away into a new matrix file once they outnumber the live ones.
- Writers take a file lock; readers in other processes notice a new
  ``generation`` in SQLite and reload.
- Damaged files (a truncated database or matrix, rows the matrix lacks) raise
  :class:`~tantieme.errors.IndexDamagedError` on opening; the index holds nothing
  that cannot be rebuilt, so :meth:`Index.discard` deletes it and the caller
  indexes the works again (one atomic ``add_work`` at a time: a rebuild that is
  killed resumes where it stopped).

Lexical scoring is exact BM25 (the Lucene variant that ``bm25s`` uses by
default: ``idf * tf / (tf + k1 * (1 - b + b * dl / avgdl))`` with
``idf = ln(1 + (N - df + 0.5) / (df + 0.5))``, ``k1 = 1.5``, ``b = 0.75``;
a test checks our scores equal bm25s's) computed at query time from per-term postings, so the collection
statistics are always current without re-indexing — rebuilding a ``bm25s``
index from stored tokens was measured at 3.4 s for 100,000 chunks, too slow to
do on every added work. Dense scoring is the cosine similarity of MiniLM
vectors. The two rankings are fused by reciprocal rank fusion (RRF, k = 60).

The index is consent-agnostic: ``search(..., allowed=...)`` checks the caller's
predicate on each candidate work, in rank order, before any of its text is
returned. :func:`tantieme.ai.answer.ask` passes the live consent check there.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
from filelock import FileLock

from tantieme import sqlitefile
from tantieme.ai.chunking import chunk_text
from tantieme.ai.embeddings import Embedder, default_embedder
from tantieme.ai.threads import limit_blas_threads
from tantieme.errors import AIError, IndexDamagedError

__all__ = ["MAX_WORK_CHARS", "Hit", "Index", "Work", "bm25_terms", "Allowed"]

Allowed = Callable[[int], bool] | set[int] | frozenset[int] | None

RRF_K = 60
# The longest work the index takes, in characters (about a novel, ~1,200
# passages: `bench/state.py` times it). Longer texts are refused, not indexed for
# minutes while a question waits and other writers queue behind it.
MAX_WORK_CHARS = 500_000
BM25_K1 = 1.5
BM25_B = 0.75

_WORD = re.compile(r"\w+", re.UNICODE)


def _bm25s_stopwords() -> frozenset[str]:
    """The English stopword list bm25s uses, read from its module without importing bm25s
    (whose ``__init__`` loads scipy: 0.16 s of a cold ``ask``)."""
    spec = importlib.util.find_spec("bm25s")
    if spec is None or not spec.submodule_search_locations:  # pragma: no cover - a dependency
        return frozenset()
    path = Path(spec.submodule_search_locations[0]) / "stopwords.py"
    module = importlib.util.module_from_spec(importlib.util.spec_from_file_location("_bm25s_stopwords", path))
    module.__loader__.exec_module(module)
    return frozenset(module.STOPWORDS_EN)


_STOPWORDS = _bm25s_stopwords()


def bm25_terms(text: str) -> list[str]:
    """Lower-cased word tokens without English stopwords (bm25s's default split)."""
    return [w for w in (m.lower() for m in _WORD.findall(text)) if w not in _STOPWORDS]


@dataclass(frozen=True)
class Work:
    asset_id: int
    title: str
    owner: str
    chunks: int
    chars: int
    added_at: float


@dataclass(frozen=True)
class Hit:
    """One retrieved passage.

    ``score`` is the fused RRF score; ``dense`` the cosine similarity with the
    question and ``bm25`` the lexical score (both ``0.0`` when that retriever
    did not rank the passage among its candidates).
    """

    asset_id: int
    chunk_id: int
    ordinal: int
    text: str
    score: float
    title: str
    owner: str
    dense: float = 0.0
    bm25: float = 0.0


_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS works (
    asset_id INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    owner TEXT NOT NULL,
    chunks INTEGER NOT NULL,
    chars INTEGER NOT NULL,
    added_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS chunks (
    chunk_id INTEGER PRIMARY KEY AUTOINCREMENT,
    asset_id INTEGER NOT NULL REFERENCES works(asset_id),
    ordinal INTEGER NOT NULL,
    row INTEGER NOT NULL UNIQUE,
    start INTEGER NOT NULL,
    "end" INTEGER NOT NULL,
    text TEXT NOT NULL,
    length INTEGER NOT NULL,
    term_ids BLOB NOT NULL,
    term_tfs BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_asset ON chunks(asset_id);
CREATE TABLE IF NOT EXISTS terms (term TEXT PRIMARY KEY, id INTEGER NOT NULL UNIQUE);
"""


class _Postings:
    """term id -> blocks of (rows, term frequencies), appended to as works arrive."""

    def __init__(self) -> None:
        self.blocks: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {}

    def add(self, term: int, rows: np.ndarray, tfs: np.ndarray) -> None:
        blocks = self.blocks.setdefault(term, [])
        blocks.append((rows, tfs))
        if len(blocks) > 16:  # keep lookups cheap
            self.blocks[term] = [
                (np.concatenate([b[0] for b in blocks]), np.concatenate([b[1] for b in blocks]))
            ]

    def get(self, term: int) -> tuple[np.ndarray, np.ndarray] | None:
        blocks = self.blocks.get(term)
        if not blocks:
            return None
        if len(blocks) > 1:
            blocks[:] = [
                (np.concatenate([b[0] for b in blocks]), np.concatenate([b[1] for b in blocks]))
            ]
        return blocks[0]


class Index:
    """A persistent hybrid index of works' passages.

    >>> index = Index(home() / "index")
    >>> index.add_work(7, "Bees Above the Tram Depot", "0xAda…", text)
    >>> index.search("how many hives on a roof", k=4, allowed={7})
    """

    def __init__(
        self,
        path: str | Path,
        *,
        embedder: Embedder | None = None,
        chunk_tokens: int = 160,
        chunk_overlap: int = 24,
        blas_threads: int | None = 1,
    ) -> None:
        """Open (or create) the index at ``path``.

        ``blas_threads`` caps NumPy's BLAS threads process-wide (see
        :mod:`tantieme.ai.threads`); ``None`` leaves them alone.
        """
        if blas_threads:
            limit_blas_threads(blas_threads)
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self._embedder = embedder
        self.chunk_tokens = chunk_tokens
        self.chunk_overlap = chunk_overlap
        self._lock = threading.RLock()
        self._flock = FileLock(str(self.path / ".write.lock"))
        self._db = sqlitefile.connect(
            self.path / "index.sqlite", self._damaged, check_same_thread=False, isolation_level=None
        )
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            # a removed work's text is overwritten on disk, not left in free pages
            self._db.execute("PRAGMA secure_delete=ON")
            self._db.executescript(_SCHEMA)
            with self._flock:
                self._init_meta()
                self._recover()
            self._generation = -1
            self._load()
        except BaseException:
            self._db.close()
            raise

    # -- housekeeping ------------------------------------------------------ #

    def _damaged(self, reason: str) -> IndexDamagedError:
        return IndexDamagedError(
            f"the index at {self.path} is damaged ({reason}); it is rebuilt from the chain and "
            "the store at the next question, or by `tantieme doctor --repair`"
        )

    @staticmethod
    def discard(path: str | Path) -> None:
        """Delete the index at ``path`` (damaged: it is rebuilt by indexing the works again).

        The directory is first renamed away, so no process ever opens a
        half-deleted index; leftovers of an earlier, interrupted discard go too.
        """
        path = Path(path)
        trash = path.with_name(f".{path.name}.discarded-{os.getpid()}")
        if path.exists():
            os.replace(path, trash)
        for leftover in path.parent.glob(f".{path.name}.discarded-*"):
            shutil.rmtree(leftover, ignore_errors=True)

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = default_embedder()
        return self._embedder

    def _meta(self, key: str, default: str | None = None) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def _init_meta(self) -> None:
        name = self._meta("embedder")
        if name is None:
            emb = self.embedder
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany(
                "INSERT OR IGNORE INTO meta VALUES (?, ?)",
                [
                    ("embedder", emb.name),
                    ("dim", str(emb.dim)),
                    ("rows", "0"),
                    ("matrix", "embeddings-0.f32"),
                    ("generation", "0"),
                ],
            )
            self._db.execute("COMMIT")
        elif self._embedder is not None and self._embedder.name != name:
            raise AIError(
                f"the index at {self.path} holds {name} vectors, not {self._embedder.name}; "
                "use the same embedder or build a new index"
            )

    def _matrix_path(self) -> Path:
        return self.path / str(self._meta("matrix"))

    def _recover(self) -> None:
        """Cut rows past the committed count; delete matrix files no longer in use."""
        dim = int(self._meta("dim") or 0)
        rows = int(self._meta("rows") or 0)
        current = self._matrix_path()
        if not current.exists():
            if rows:
                raise self._damaged(f"its matrix file {current.name} is missing")
            current.touch()
        size = rows * dim * 4
        if current.stat().st_size < size:
            raise self._damaged(f"{current.name} holds fewer than its {rows} rows")
        last = self._db.execute("SELECT MAX(row) FROM chunks").fetchone()[0]
        if last is not None and last >= rows:
            raise self._damaged(f"a passage points past the matrix's {rows} rows")
        if current.stat().st_size > size:
            with open(current, "r+b") as f:
                f.truncate(size)
        for stale in self.path.glob("embeddings-*.f32"):
            if stale != current:
                stale.unlink()

    def _load(self) -> None:
        """(Re)build the in-memory view from disk."""
        with self._lock:
            self._generation = int(self._meta("generation") or 0)
            self.dim = int(self._meta("dim") or 0)
            self.embedder_name = str(self._meta("embedder"))
            rows = int(self._meta("rows") or 0)
            data = np.fromfile(self._matrix_path(), dtype=np.float32, count=rows * self.dim)
            self._cap = max(1024, rows * 2)
            self._emb = np.zeros((self._cap, self.dim), dtype=np.float32)
            self._emb[:rows] = data.reshape(rows, self.dim)
            self._rows = rows
            self._row_chunk = np.full(self._cap, -1, dtype=np.int64)
            self._row_asset = np.full(self._cap, -1, dtype=np.int64)
            self._row_len = np.zeros(self._cap, dtype=np.float32)
            self._alive = np.zeros(self._cap, dtype=bool)
            self._postings = _Postings()
            self._terms = dict(self._db.execute("SELECT term, id FROM terms"))
            chunk_rows, term_ids, tfs = [], [], []
            for chunk_id, asset_id, row, length, tid, tf in self._db.execute(
                "SELECT chunk_id, asset_id, row, length, term_ids, term_tfs FROM chunks"
            ):
                self._row_chunk[row] = chunk_id
                self._row_asset[row] = asset_id
                self._row_len[row] = length
                self._alive[row] = True
                ids = np.frombuffer(tid, dtype=np.int32)
                chunk_rows.append(np.full(len(ids), row, dtype=np.int64))
                term_ids.append(ids)
                tfs.append(np.frombuffer(tf, dtype=np.int32))
            if chunk_rows:
                r = np.concatenate(chunk_rows)
                t = np.concatenate(term_ids)
                f = np.concatenate(tfs).astype(np.float32)
                order = np.argsort(t, kind="stable")
                r, t, f = r[order], t[order], f[order]
                bounds = np.flatnonzero(np.diff(t)) + 1
                for rr, tt, ff in zip(np.split(r, bounds), np.split(t, bounds), np.split(f, bounds)):
                    self._postings.add(int(tt[0]), rr, ff)
            self._works = {
                r[0]: Work(*r)
                for r in self._db.execute(
                    "SELECT asset_id, title, owner, chunks, chars, added_at FROM works"
                )
            }

    def _refresh(self) -> None:
        if int(self._meta("generation") or 0) != self._generation:
            self._load()

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "Index":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _grow(self, need: int) -> None:
        if need <= self._cap:
            return
        cap = max(need, self._cap * 2)
        for attr, fill in (("_row_chunk", -1), ("_row_asset", -1), ("_row_len", 0), ("_alive", False)):
            old = getattr(self, attr)
            new = np.full(cap, fill, dtype=old.dtype)
            new[: self._cap] = old
            setattr(self, attr, new)
        emb = np.zeros((cap, self.dim), dtype=np.float32)
        emb[: self._rows] = self._emb[: self._rows]
        self._emb, self._cap = emb, cap

    # -- reading ----------------------------------------------------------- #

    def works(self) -> list[Work]:
        """The indexed works, by asset id."""
        with self._lock:
            self._refresh()
            return [self._works[a] for a in sorted(self._works)]

    def __contains__(self, asset_id: int) -> bool:
        with self._lock:
            self._refresh()
            return asset_id in self._works

    def __len__(self) -> int:
        """Number of live chunks."""
        with self._lock:
            self._refresh()
            return int(self._alive[: self._rows].sum())

    def chunks(self, asset_id: int) -> list[str]:
        """A work's passages, in order."""
        return [
            r[0]
            for r in self._db.execute(
                "SELECT text FROM chunks WHERE asset_id = ? ORDER BY ordinal", (asset_id,)
            )
        ]

    # -- writing ----------------------------------------------------------- #

    def _term_ids(self, terms: Iterable[str]) -> tuple[dict[str, int], list[tuple[str, int]]]:
        """Ids of ``terms``, and the (term, id) pairs new to the vocabulary."""
        ids: dict[str, int] = {}
        new = []
        for term in set(terms):
            tid = self._terms.get(term)
            if tid is None:
                tid = len(self._terms) + len(new)
                new.append((term, tid))
            ids[term] = tid
        return ids, new

    def add_work(self, asset_id: int, title: str, owner: str, text: str) -> Work:
        """Index a work's text (replacing a previous version of the same asset)."""
        if not text or not text.strip():
            raise AIError(f"asset {asset_id} has no text to index")
        if len(text) > MAX_WORK_CHARS:
            raise AIError(
                f"asset {asset_id} holds {len(text):,} characters of text; the index takes works "
                f"of up to {MAX_WORK_CHARS:,}: split it into parts"
            )
        chunks = chunk_text(text, self.chunk_tokens, self.chunk_overlap)
        vectors = self.embedder.encode([f"{title}\n{c.text}" for c in chunks])
        if vectors.shape != (len(chunks), self.dim):
            raise AIError(f"the embedder returned vectors of shape {vectors.shape}, expected (*, {self.dim})")
        counted = [Counter(bm25_terms(f"{title} {c.text}")) for c in chunks]
        with self._lock, self._flock:
            self._refresh()
            if asset_id in self._works:
                self._remove(asset_id)
                self._refresh()
            ids, new_terms = self._term_ids(t for c in counted for t in c)
            start = self._rows
            path = self._matrix_path()
            with open(path, "r+b") as f:
                f.truncate(start * self.dim * 4)
                f.seek(0, os.SEEK_END)
                f.write(np.ascontiguousarray(vectors, dtype=np.float32).tobytes())
                f.flush()
                os.fsync(f.fileno())
            now = time.time()
            records = []
            for i, (chunk, counts) in enumerate(zip(chunks, counted)):
                tid = np.fromiter((ids[t] for t in counts), dtype=np.int32, count=len(counts))
                tf = np.fromiter(counts.values(), dtype=np.int32, count=len(counts))
                records.append(
                    (asset_id, chunk.ordinal, start + i, chunk.start, chunk.end, chunk.text,
                     sum(counts.values()), tid.tobytes(), tf.tobytes())
                )
            db = self._db
            try:
                db.execute("BEGIN IMMEDIATE")
                db.executemany("INSERT INTO terms VALUES (?, ?)", new_terms)
                db.execute(
                    "INSERT INTO works VALUES (?, ?, ?, ?, ?, ?)",
                    (asset_id, title, owner, len(chunks), len(text), now),
                )
                db.executemany(
                    'INSERT INTO chunks (asset_id, ordinal, row, start, "end", text, length, term_ids, term_tfs) '
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    records,
                )
                db.execute("UPDATE meta SET value = ? WHERE key = 'rows'", (str(start + len(chunks)),))
                db.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'")
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                with open(path, "r+b") as f:
                    f.truncate(start * self.dim * 4)
                raise
            # Apply the same change in memory instead of reloading everything.
            first_id = db.execute(
                "SELECT MIN(chunk_id) FROM chunks WHERE asset_id = ?", (asset_id,)
            ).fetchone()[0]
            n = len(chunks)
            self._grow(start + n)
            self._emb[start : start + n] = vectors
            self._row_chunk[start : start + n] = np.arange(first_id, first_id + n)
            self._row_asset[start : start + n] = asset_id
            self._alive[start : start + n] = True
            self._terms.update(new_terms)
            for i, counts in enumerate(counted):
                self._row_len[start + i] = sum(counts.values())
            per_term: dict[int, tuple[list[int], list[float]]] = {}
            for i, counts in enumerate(counted):
                for term, tf in counts.items():
                    rows, tfs = per_term.setdefault(ids[term], ([], []))
                    rows.append(start + i)
                    tfs.append(tf)
            for tid, (rows, tfs) in per_term.items():
                self._postings.add(tid, np.array(rows, dtype=np.int64), np.array(tfs, dtype=np.float32))
            self._rows = start + n
            self._generation += 1
            work = Work(asset_id, title, owner, n, len(text), now)
            self._works[asset_id] = work
            return work

    def remove_work(self, asset_id: int) -> bool:
        """Drop a work at once; returns whether it was indexed."""
        with self._lock, self._flock:
            self._refresh()
            if asset_id not in self._works:
                return False
            self._remove(asset_id)
            self._maybe_compact()
            return True

    def _remove(self, asset_id: int) -> None:
        db = self._db
        rows = [r[0] for r in db.execute("SELECT row FROM chunks WHERE asset_id = ?", (asset_id,))]
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute("DELETE FROM chunks WHERE asset_id = ?", (asset_id,))
            db.execute("DELETE FROM works WHERE asset_id = ?", (asset_id,))
            dead = int(self._meta("dead", "0") or 0) + len(rows)
            db.execute("INSERT OR REPLACE INTO meta VALUES ('dead', ?)", (str(dead),))
            db.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        # In memory: the rows are dead at once; their postings are skipped by the mask.
        idx = np.array(rows, dtype=np.int64)
        self._alive[idx] = False
        self._row_asset[idx] = -1
        self._row_chunk[idx] = -1
        self._emb[idx] = 0.0
        self._works.pop(asset_id, None)
        self._generation += 1
        # Scrub the vectors on disk too (the chunks are already unreachable).
        zero = np.zeros(self.dim, dtype=np.float32).tobytes()
        with open(self._matrix_path(), "r+b") as f:
            for row in rows:
                f.seek(row * self.dim * 4)
                f.write(zero)

    def _maybe_compact(self) -> None:
        dead = int(self._meta("dead", "0") or 0)
        live = int(self._alive[: self._rows].sum())
        if dead < 1024 or dead <= live:
            return
        self.compact()

    def compact(self) -> None:
        """Rewrite the matrix without dead rows (atomic: a new file, then one commit)."""
        with self._lock, self._flock:
            self._refresh()
            db = self._db
            old = list(db.execute("SELECT chunk_id, row FROM chunks ORDER BY row"))
            number = int(str(self._meta("matrix")).split("-")[1].split(".")[0]) + 1
            new_name = f"embeddings-{number}.f32"
            rows = np.array([r for _, r in old], dtype=np.int64)
            with open(self.path / new_name, "wb") as f:
                f.write(self._emb[rows].tobytes() if len(rows) else b"")
                f.flush()
                os.fsync(f.fileno())
            db.execute("BEGIN IMMEDIATE")
            try:
                # two passes keep the UNIQUE(row) constraint satisfied
                db.executemany("UPDATE chunks SET row = ? WHERE chunk_id = ?", [(-1 - i, c) for i, (c, _) in enumerate(old)])
                db.executemany("UPDATE chunks SET row = ? WHERE chunk_id = ?", [(i, c) for i, (c, _) in enumerate(old)])
                db.executemany(
                    "INSERT OR REPLACE INTO meta VALUES (?, ?)",
                    [("matrix", new_name), ("rows", str(len(old))), ("dead", "0")],
                )
                db.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'")
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                (self.path / new_name).unlink(missing_ok=True)
                raise
            self._recover()
            self._load()

    # -- search ------------------------------------------------------------ #

    def _bm25(self, query: str, live: np.ndarray) -> np.ndarray:
        n = self._rows
        scores = np.zeros(n, dtype=np.float32)
        n_docs = int(live.sum())
        if n_docs == 0:
            return scores
        avgdl = float(self._row_len[:n][live].mean()) or 1.0
        for term in set(bm25_terms(query)):
            tid = self._terms.get(term)
            if tid is None:
                continue
            post = self._postings.get(tid)
            if post is None:
                continue
            rows, tfs = post
            ok = live[rows]
            rows, tfs = rows[ok], tfs[ok]
            df = len(rows)
            if df == 0:
                continue
            idf = np.log(1.0 + (n_docs - df + 0.5) / (df + 0.5))
            dl = self._row_len[rows]
            scores[rows] += idf * tfs / (tfs + BM25_K1 * (1 - BM25_B + BM25_B * dl / avgdl))
        return scores

    def search(self, query: str, k: int = 4, allowed: Allowed = None) -> list[Hit]:
        """The ``k`` best passages for ``query`` from works that ``allowed`` admits.

        ``allowed`` is a set of asset ids, or a predicate called once per
        candidate work in rank order (so a live consent check reads no more
        works than it must), or ``None`` for all works.
        """
        if not query or not query.strip():
            raise AIError("the query is empty")
        if k < 1:
            return []
        qvec = self.embedder.encode([query])[0]
        with self._lock:
            self._refresh()
            n = self._rows
            if n == 0:
                return []
            live = self._alive[:n].copy()
            if isinstance(allowed, (set, frozenset)):
                live &= np.isin(self._row_asset[:n], np.fromiter(allowed, dtype=np.int64))
                check: Callable[[int], bool] | None = None
            else:
                check = allowed
            n_live = int(live.sum())
            if n_live == 0:
                return []
            dense = self._emb[:n] @ qvec
            dense[~live] = -np.inf
            lexical = self._bm25(query, live)
            row_asset = self._row_asset[:n].copy()
            row_chunk = self._row_chunk[:n].copy()
        decided: dict[int, bool] = {}
        picked: list[tuple[int, float]] = []
        depth = max(64, 8 * k)
        seen: set[int] = set()
        while True:
            fused = self._fuse(dense, lexical, live, min(depth, n_live))
            for row, score in fused:
                if row in seen:
                    continue
                seen.add(row)
                asset = int(row_asset[row])
                if check is not None:
                    if asset not in decided:
                        decided[asset] = bool(check(asset))
                    if not decided[asset]:
                        continue
                picked.append((row, score))
                if len(picked) == k:
                    break
            if len(picked) == k or depth >= n_live:
                break
            depth *= 4
        picked.sort(key=lambda p: -p[1])
        return self._hits(picked, row_chunk, dense, lexical)

    @staticmethod
    def _fuse(dense: np.ndarray, lexical: np.ndarray, live: np.ndarray, depth: int) -> list[tuple[int, float]]:
        scores: dict[int, float] = {}
        for values, require_positive in ((dense, False), (lexical, True)):
            cand = np.flatnonzero(live & (values > 0)) if require_positive else np.flatnonzero(live)
            if len(cand) == 0:
                continue
            if len(cand) > depth:
                part = np.argpartition(-values[cand], depth - 1)[:depth]
                cand = cand[part]
            order = cand[np.argsort(-values[cand], kind="stable")]
            for rank, row in enumerate(order.tolist()):
                scores[row] = scores.get(row, 0.0) + 1.0 / (RRF_K + rank + 1)
        return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))

    def _hits(self, picked: list[tuple[int, float]], row_chunk: np.ndarray, dense: np.ndarray, lexical: np.ndarray) -> list[Hit]:
        if not picked:
            return []
        ids = [int(row_chunk[row]) for row, _ in picked]
        marks = ",".join("?" * len(ids))
        found = {
            r[0]: r[1:]
            for r in self._db.execute(
                f"SELECT c.chunk_id, c.asset_id, c.ordinal, c.text, w.title, w.owner "
                f"FROM chunks c JOIN works w USING (asset_id) WHERE c.chunk_id IN ({marks})",
                ids,
            )
        }
        hits = []
        for (row, score), chunk_id in zip(picked, ids):
            rec = found.get(chunk_id)
            if rec is None:  # removed by another process since the scores were taken
                continue
            asset_id, ordinal, text, title, owner = rec
            hits.append(
                Hit(asset_id, chunk_id, ordinal, text, score, title, owner,
                    dense=float(max(dense[row], 0.0)), bm25=float(lexical[row]))
            )
        return hits
