"""Where paid questions wait for the model worker: fair between payers.

Each payer has its own first-in-first-out line, at most `per_payer` long; the
worker takes the head of each waiting payer's line in turn (round robin), so a
payer who sends many questions at once is answered one at a time between the
others, not before them. The lobby holds at most `size` questions in all.

    lobby = Lobby(size=8, per_payer=2)
    lobby.put(payer, job)      # or LobbyFull / PayerFull
    lobby.check(payer)         # PayerFull if `payer`'s line is full; queues nothing
    job = lobby.get()          # blocks; None once closed and empty
    lobby.close()              # takes nothing more; what waits is still handed out
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Generic, TypeVar

__all__ = ["Lobby", "LobbyFull", "PayerFull"]

T = TypeVar("T")


class LobbyFull(Exception):
    """The lobby holds `size` questions already (or is closed)."""


class PayerFull(Exception):
    """This payer has `per_payer` questions waiting already; `ahead` is how many questions
    the worker takes until this payer's next one leaves the lobby (its own included)."""

    def __init__(self, ahead: int) -> None:
        super().__init__(ahead)
        self.ahead = ahead


class Lobby(Generic[T]):
    """A bounded lobby of per-payer lines served in turn (thread-safe)."""

    def __init__(self, size: int, per_payer: int) -> None:
        if size < 1 or per_payer < 1:
            raise ValueError("a lobby holds at least one question, and one per payer")
        self.size = size
        self.per_payer = per_payer
        self._lines: dict[str, deque[T]] = {}
        self._turns: deque[str] = deque()  # payers with questions waiting, whose turn comes first first
        self._count = 0
        self._closed = False
        self._changed = threading.Condition()

    def __len__(self) -> int:
        return self._count

    def full(self) -> bool:
        return self._closed or self._count >= self.size

    def put(self, payer: str, item: T) -> None:
        """Queue `item` at the end of `payer`'s line; `PayerFull` when that line is full,
        `LobbyFull` when the lobby is (or is closed)."""
        with self._changed:
            if self.full():
                raise LobbyFull
            self._check(payer)
            line = self._lines.get(payer)
            if line is None:
                line = self._lines[payer] = deque()
                self._turns.append(payer)
            line.append(item)
            self._count += 1
            self._changed.notify()

    def check(self, payer: str) -> None:
        """`PayerFull` when `payer`'s line is full now; queues nothing."""
        with self._changed:
            self._check(payer)

    def _check(self, payer: str) -> None:
        line = self._lines.get(payer)
        if line is not None and len(line) >= self.per_payer:
            raise PayerFull(self._turns.index(payer) + 1)

    def get(self) -> T | None:
        """The next question, by turns between payers (waits for one); None once closed and empty."""
        with self._changed:
            while not self._count and not self._closed:
                self._changed.wait()
            if not self._count:
                return None
            payer = self._turns.popleft()
            line = self._lines[payer]
            item = line.popleft()
            if line:
                self._turns.append(payer)
            else:
                del self._lines[payer]
            self._count -= 1
            return item

    def close(self) -> None:
        """Take nothing more; `get` hands out what waits, then None."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()
