"""The node's SQLite files: damage reported as a clear error, consistent copies, checks.

Every database under `TANTIEME_HOME` (the chain, the journal, the index) is
opened through `connect`, so a truncated or overwritten file surfaces as the
caller's `TantiemeError` (saying which file and what to do) at whichever query
first reads a damaged page, instead of a `sqlite3.DatabaseError` traceback.
`copy` takes a consistent snapshot with SQLite's backup API while other
processes write; `check` is `PRAGMA quick_check`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["check", "connect", "copy", "is_damage"]

# SQLite's result codes for a file that is not (or no longer) a whole database,
# or cannot be read back (a short read of a truncated file is an I/O error).
_SQLITE_IOERR = 10
_SQLITE_CORRUPT = 11
_SQLITE_NOTADB = 26


def is_damage(exc: BaseException) -> bool:
    """Whether `exc` says the database file itself is damaged (not busy, not a constraint)."""
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(exc, sqlite3.DatabaseError) and code is not None and code & 0xFF in (
        _SQLITE_IOERR,
        _SQLITE_CORRUPT,
        _SQLITE_NOTADB,
    )


Damaged = Callable[[str], Exception]


class _Cursor(sqlite3.Cursor):
    damaged: Damaged

    def _guard(self, method: Callable[..., Any], *args: Any) -> Any:
        try:
            return method(*args)
        except sqlite3.DatabaseError as exc:
            if is_damage(exc):
                raise self.damaged(str(exc)) from None
            raise

    def execute(self, *args: Any) -> _Cursor:  # type: ignore[override]
        return self._guard(super().execute, *args)

    def executemany(self, *args: Any) -> _Cursor:  # type: ignore[override]
        return self._guard(super().executemany, *args)

    def fetchone(self) -> Any:
        return self._guard(super().fetchone)

    def fetchall(self) -> list[Any]:
        return self._guard(super().fetchall)

    def __next__(self) -> Any:
        return self._guard(super().__next__)


class _Connection(sqlite3.Connection):
    damaged: Damaged

    def cursor(self, factory: Any = None) -> _Cursor:  # type: ignore[override]
        cursor = super().cursor(factory or _Cursor)
        cursor.damaged = self.damaged
        return cursor

    def execute(self, *args: Any) -> _Cursor:  # type: ignore[override]
        return self.cursor().execute(*args)

    def executemany(self, *args: Any) -> _Cursor:  # type: ignore[override]
        return self.cursor().executemany(*args)

    def executescript(self, script: str) -> _Cursor:  # type: ignore[override]
        cursor = self.cursor()
        return cursor._guard(sqlite3.Cursor.executescript, cursor, script)


def connect(
    path: Path, damaged: Damaged, *, readonly: bool = False, **kwargs: Any
) -> sqlite3.Connection:
    """`sqlite3.connect(path, **kwargs)` whose damage errors become `damaged(reason)`."""
    target = f"file:{path}?mode=ro" if readonly else str(path)
    try:
        db = sqlite3.connect(target, uri=readonly, factory=_Connection, **kwargs)
    except sqlite3.DatabaseError as exc:
        if is_damage(exc):
            raise damaged(str(exc)) from None
        raise
    db.damaged = damaged  # type: ignore[attr-defined]
    return db


def copy(source: Path, target: Path) -> None:
    """A consistent snapshot of the database at `source` in a new file `target`.

    SQLite's online backup: committed transactions only, whatever other
    processes write meanwhile (WAL readers never block writers).
    """
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def check(path: Path) -> str | None:
    """None if `PRAGMA quick_check` passes, else what is wrong."""
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            rows = [r[0] for r in db.execute("PRAGMA quick_check")]
        finally:
            db.close()
    except sqlite3.DatabaseError as exc:
        return str(exc)
    return None if rows == ["ok"] else "; ".join(rows[:3])
