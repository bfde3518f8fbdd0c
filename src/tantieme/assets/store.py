"""Content-addressed file store under `TANTIEME_HOME/store`.

A file is kept under its SHA-256, the same hash that is registered on chain, so
anyone holding the file can check it against the registry.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from tantieme.errors import AssetError

_CHUNK = 1 << 20


def sha256_file(path: Path) -> bytes:
    """SHA-256 of a file's bytes; a clear error if it cannot be read."""
    if path.exists() and not path.is_file() and not path.is_dir():
        raise AssetError(f"{path} is not a regular file (a device, pipe or socket): pass a file")
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
    except IsADirectoryError:
        raise AssetError(f"{path} is a directory: pass a file") from None
    except FileNotFoundError:
        raise AssetError(f"{path} does not exist") from None
    except OSError as exc:
        raise AssetError(f"cannot read {path}: {exc.strerror}") from None
    return digest.digest()


class ContentStore:
    """Files by content hash: `put` copies a file in, `path` finds it again."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, content_hash: bytes) -> Path:
        """Where a file with this hash lives (whether or not it is stored)."""
        hex_ = content_hash.hex()
        return self.root / hex_[:2] / hex_

    def has(self, content_hash: bytes) -> bool:
        return self.path(content_hash).is_file()

    def put(self, source: Path) -> bytes:
        """Copy `source` into the store atomically; return its SHA-256."""
        content_hash = sha256_file(source)

        def chunks() -> Iterator[bytes]:
            with open(source, "rb") as handle:
                while chunk := handle.read(_CHUNK):
                    yield chunk

        self._write(content_hash, chunks(), f"{source} changed while it was being stored; try again")
        return content_hash

    def put_bytes(self, data: bytes) -> bytes:
        """Store `data` atomically; return its SHA-256."""
        content_hash = hashlib.sha256(data).digest()
        self._write(content_hash, iter((data,)), "stored bytes do not match their hash")
        return content_hash

    def _write(self, content_hash: bytes, chunks: Iterator[bytes], changed: str) -> None:
        """Write `chunks` under `content_hash` via a temporary file, checking the hash."""
        target = self.path(content_hash)
        if target.is_file():
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".put-")
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in chunks:
                    digest.update(chunk)
                    out.write(chunk)
            if digest.digest() != content_hash:
                raise AssetError(changed)
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def read_bytes(self, content_hash: bytes) -> bytes:
        path = self.path(content_hash)
        if not path.is_file():
            raise AssetError(f"content {content_hash.hex()} is not in the local store")
        return path.read_bytes()
