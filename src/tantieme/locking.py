"""One writer at a time: an exclusive `flock` on a `LOCK` file that names its owner.

A writer that finds the lock taken by another process waits for it, polling,
up to `TANTIEME_LOCK_TIMEOUT` seconds (default 120) and says once whom it waits
for; then it gives up with a `ChainLockedError` naming the owner's PID and
command. So does a thread that finds the lock taken by another thread of its process
(a served node's payment deliveries and its settlement take turns), but a
thread never waits for a lock it holds itself (that would wait forever).
The embedded chain locks its folder; a node on a JSON-RPC chain locks its home,
so that two writers never race for the same account's nonce or batch.
"""

from __future__ import annotations

import fcntl
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from tantieme.errors import ChainLockedError, ConfigError

__all__ = ["ENV_LOCK_TIMEOUT", "LOCK_FILE", "DirectoryLock", "default_lock_timeout", "locked"]

LOCK_FILE = "LOCK"
ENV_LOCK_TIMEOUT = "TANTIEME_LOCK_TIMEOUT"
LOCK_TIMEOUT_S = 120.0

# The locks this process holds: lock file → the thread that holds it.
_held: dict[str, int] = {}


class DirectoryLock:
    """The writer lock of `directory`, held from construction until `release()`.

    `what` names what it guards in messages ("the embedded chain"); `advice`
    ends the message of a lock that stayed taken.
    """

    def __init__(
        self,
        directory: Path,
        what: str,
        timeout: float | None = None,
        on_wait: Callable[[str], None] | None = None,
        advice: str = "",
    ) -> None:
        timeout = default_lock_timeout() if timeout is None else timeout
        self.path = directory / LOCK_FILE
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + timeout
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                owner = os.pread(fd, 200, 0).decode(errors="replace").strip() or "unknown"
                mine = _held.get(str(self.path)) == threading.get_ident()
                if mine or time.monotonic() >= deadline:
                    os.close(fd)
                    if mine:
                        raise ChainLockedError(
                            f"{what} at {directory} is in use by process {os.getpid()} "
                            "(this one: close the other connection first)"
                        ) from None
                    waited = f" for {timeout:g} s" if timeout > 0 else ""
                    raise ChainLockedError(
                        f"{what} at {directory} is in use by process {_describe(owner)}{waited}; "
                        f"try again when it finishes (or wait longer: {ENV_LOCK_TIMEOUT}=SECONDS){advice}"
                    ) from None
                if on_wait is not None and not told:
                    on_wait(f"waiting for process {_describe(owner)} to finish with {what} (up to {timeout:g} s)")
                    told = True
                time.sleep(0.1)
        os.ftruncate(fd, 0)
        os.pwrite(fd, _owner_line().encode(), 0)
        _held[str(self.path)] = threading.get_ident()
        self._fd: int | None = fd

    def release(self) -> None:
        if self._fd is not None:
            _held.pop(str(self.path), None)
            os.ftruncate(self._fd, 0)
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = None


@contextmanager
def locked(
    directory: Path, what: str, lock_timeout: float | None = None, on_wait: Callable[[str], None] | None = None
) -> Iterator[None]:
    """Hold `directory`'s writer lock for a block (backup, restore, index repair)."""
    lock = DirectoryLock(directory, what, lock_timeout, on_wait)
    try:
        yield
    finally:
        lock.release()


def default_lock_timeout() -> float:
    """Seconds a writer waits for another: `TANTIEME_LOCK_TIMEOUT`, default 120."""
    text = os.environ.get(ENV_LOCK_TIMEOUT)
    if not text:
        return LOCK_TIMEOUT_S
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:  # also refuses nan
        raise ConfigError(f"{ENV_LOCK_TIMEOUT}={text!r} is not a number of seconds (e.g. 60)")
    return value


def _owner_line() -> str:
    """This process for the lock file: its PID, then what it runs (`tantieme ask`)."""
    command = " ".join([Path(sys.argv[0]).name, *sys.argv[1:2]]) if sys.argv and sys.argv[0] else ""
    return f"{os.getpid()} {command}".strip()


def _describe(owner: str) -> str:
    pid, _, command = owner.partition(" ")
    return f"{pid} ({command})" if command else pid
