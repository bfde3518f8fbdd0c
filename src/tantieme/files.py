"""Files written whole or not at all.

A reader, or a crash, sees a file as it was before a write or as it is after,
never half-written: the data goes to a temporary file beside it, is flushed to
the disk (fsync), renamed over the file, and the rename is flushed with the
directory. Used for the home's records (node, deployment, models, agent
profile, latencies, cached views, compiled contracts) and what it exports.
`read_record` reads a record back, a damaged one named with what to do.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from tantieme.errors import ConfigError

__all__ = ["fsync", "read_record", "write_atomic", "write_json"]

T = TypeVar("T")


def write_atomic(path: Path, data: bytes, mode: int = 0o600, *, durable: bool = True) -> None:
    """Replace `path` by `data` atomically and durably; the file has `mode` from its first byte
    on (default: readable by its owner only, as the home's files are). Raises `OSError`, and
    leaves no temporary file, when the write fails. `durable=False` skips the two fsyncs: for
    a cache that is computed again when a crash leaves it unreadable (~15 ms a write saved)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), mode)  # the umask may have narrowed it
            handle.write(data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    if durable:
        fsync(path.parent)


def write_json(path: Path, data: Any, *, indent: int | None = 2, mode: int = 0o600, durable: bool = True) -> None:
    """`data` as a JSON file, written with `write_atomic` (`indent` None: on one line)."""
    write_atomic(path, (json.dumps(data, indent=indent) + "\n").encode(), mode, durable=durable)


def read_record(path: Path, parse: Callable[[Any], T], fix: str) -> T | None:
    """What `parse` makes of the JSON file at `path`, None if there is no such file. A damaged
    file (not JSON, or not what `parse` takes) is a `ConfigError` naming it and saying `fix`."""
    if not path.is_file():
        return None
    try:
        return parse(json.loads(path.read_text()))
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"{path} is damaged ({type(exc).__name__}: {exc}); {fix}") from None


def fsync(path: Path) -> None:
    """Flush a file, or a directory's entries, to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
