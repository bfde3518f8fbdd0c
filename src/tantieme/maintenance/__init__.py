"""Keeping a node's home healthy: what it holds, `doctor`, `backup` and `restore`.

A home (`TANTIEME_HOME`) holds state of two kinds. Some can be rebuilt from
the chain and the content store: the knowledge index, the deployment record
(the ledger knows its token, registry and router), the local model's entry in
`models.json`. The rest cannot: the embedded chain itself, the journal of
signed records (the payers' signatures exist nowhere else until settled), the
stored works, the keys and the credential CA. `doctor` checks all of it and
repairs the first kind (`--repair`); `backup` snapshots everything while the
node runs, and `restore` puts a snapshot back.

    holdings()                  # what this home holds, per chain
    doctor.run(repair=True)     # checks and repairs
    backup.backup(path)         # a consistent snapshot, even while the node runs
    backup.restore(path, force) # refuses to overwrite a used home unless forced
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from tantieme.config import home
from tantieme.errors import TantiemeError

__all__ = ["Holdings", "holdings", "interrupted_restore"]

# Where `restore` stages a checked backup inside the home, and the mark that it is complete.
STAGE = ".restore"
COMPLETE = "COMPLETE"


def interrupted_restore() -> bool:
    """Whether a complete, checked restore stage waits to be swapped in (`restore --resume`)."""
    return (home() / STAGE / COMPLETE).is_file()


@dataclass(frozen=True)
class Holdings:
    """What a home holds that a new deployment or a restore would orphan or overwrite."""

    records: dict[int, int] = field(default_factory=dict)
    """Journaled interaction records per chain id."""
    stored: int = 0
    """Files in the content store (registered works, datasets)."""
    models: int = 0
    """Models this node serves (`models.json`)."""
    deployments: tuple[int, ...] = ()
    """Chain ids with a deployment record (damaged ones included)."""
    unreadable: tuple[str, ...] = ()
    """Files that could not be read (they may hold something)."""

    @property
    def empty(self) -> bool:
        return not (self.records or self.stored or self.models or self.unreadable)

    def on(self, chain_id: int) -> bool:
        """Whether this home holds anything that a new deployment on `chain_id` would orphan."""
        return bool(self.records.get(chain_id) or self.stored or self.models or self.unreadable)

    def describe(self) -> str:
        """E.g. "12 records, 4 stored files and 1 model"."""
        parts = []
        if self.records:
            parts.append(_count(sum(self.records.values()), "record"))
        if self.stored:
            parts.append(_count(self.stored, "stored file"))
        if self.models:
            parts.append(_count(self.models, "model"))
        parts.extend(f"an unreadable {name}" for name in self.unreadable)
        if len(parts) < 2:
            return parts[0] if parts else "nothing"
        return ", ".join(parts[:-1]) + " and " + parts[-1]


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def holdings() -> Holdings:
    """Count what this home holds, without opening the chain."""
    from tantieme.ledger.journal import Journal

    root = home()
    unreadable: list[str] = []
    records: dict[int, int] = {}
    if (root / "ledger.db").is_file():
        try:
            book = Journal(root / "ledger.db")
            try:
                records = dict(book.db.execute("SELECT chain_id, COUNT(*) FROM records GROUP BY chain_id").fetchall())
            finally:
                book.close()
        except TantiemeError:
            unreadable.append("journal")
    models = 0
    if (root / "models.json").is_file():
        try:
            models = len(json.loads((root / "models.json").read_text())["models"])
        except (ValueError, KeyError, TypeError):
            unreadable.append("models.json")
    store = root / "store"
    stored = sum(1 for p in store.glob("*/*") if p.is_file() and not p.name.startswith(".")) if store.is_dir() else 0
    deployments = tuple(
        sorted(int(p.stem) for p in (root / "deployments").glob("*.json") if p.stem.isdigit())
    )
    return Holdings(records, stored, models, deployments, tuple(unreadable))
