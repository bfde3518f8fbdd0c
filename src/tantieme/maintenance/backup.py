"""`tantieme backup FILE` / `restore FILE`: a whole home in one file, and back.

A backup is a gzipped tar of the home's state with a manifest
(`tantieme-backup.json`: format, time, what it holds, and the SHA-256 and size
of every file). The SQLite databases (the journal, the embedded chain, the
index) are copied with SQLite's online backup API while the embedded chain's
writer lock is held, so the journal and the chain are snapshotted at one
moment, even while the node runs (a running `ask` or `settle` is waited for).
The file is written under a temporary name and renamed when complete: a killed
backup leaves no half-written FILE.

A restore checks every file against the manifest before touching the home,
stages it inside the home, marks the stage complete, then swaps entry by entry
(the replaced state is set aside, and backed up first if the home was in use).
A restore killed mid-swap is finished by `tantieme restore --resume`; until
then every command refuses to run on the half-swapped home.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import tarfile
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

from tantieme import __version__, sqlitefile
from tantieme.config import home
from tantieme.errors import ConfigError
from tantieme.files import fsync
from tantieme.maintenance import COMPLETE, STAGE, Holdings, holdings, interrupted_restore

__all__ = [
    "FORMAT",
    "Backup",
    "Restored",
    "automatic_path",
    "backup",
    "restore",
    "resume",
]

FORMAT = "tantieme-backup/1"
MANIFEST = "tantieme-backup.json"
# What a home holds, top level: a restore replaces exactly these. Anything else
# (backups/, temporary files) is neither backed up nor touched.
ENTRIES = (
    "node.json", "models.json", "deployments", "agents", "keys", "ca", "store", "answers",
    "ledger.db", "ledger.db-wal", "ledger.db-shm", "chain", "index",
)
# SQLite databases: snapshotted with the backup API, never copied as files
# (the index's vector files are copied at the same moment).
DATABASES = ("ledger.db", "chain/chain.sqlite3", "index/index.sqlite")
# Files that belong to a live database or a lock, never to a backup.
_LIVE = ("-wal", "-shm", ".lock", "LOCK")
SET_ASIDE = ".restore-old"
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Backup:
    path: Path
    files: int
    bytes: int
    holdings: Holdings


@dataclass(frozen=True)
class Restored:
    source: str
    files: int
    holdings: Holdings
    previous: str | None
    """The backup of what the home held before (None if it held nothing)."""


def automatic_path(reason: str) -> Path:
    """Where a backup taken before a risky step goes: `TANTIEME_HOME/backups/<reason>-<time>.tar.gz`."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    folder = home() / "backups"
    folder.mkdir(exist_ok=True)
    return folder / f"{reason}-{stamp}-{os.getpid()}.tar.gz"


def backup(target: Path, on_wait: Callable[[str], None] | None = None) -> Backup:
    """Write a consistent snapshot of this home to `target` (a new .tar.gz file)."""
    root = home()
    target = Path(target).expanduser().absolute()
    if target.exists():
        raise ConfigError(f"{target} exists already: give a new file name")
    if not target.parent.is_dir():
        raise ConfigError(f"cannot write {target}: its folder does not exist")
    if _is_within(target, root) and not _is_within(target, root / "backups"):
        raise ConfigError(f"{target} is inside the home it backs up: write it elsewhere (or under {root / 'backups'})")
    held = holdings()
    _remove_leftovers(target)
    partial = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    scratch = target.with_name(f".{target.name}.{os.getpid()}.scratch")
    files: dict[str, dict[str, Any]] = {}
    try:
        scratch.mkdir()
        with tarfile.open(partial, "w:gz", compresslevel=1) as tar:
            with _quiet(root, on_wait):
                snapshots = {
                    name: _snapshot(name, path, scratch)
                    for name, path in _home_files(root)
                    if name in DATABASES or name.startswith("index/")
                }
            for name, path in _home_files(root):
                _add(tar, name, snapshots.get(name, path), files)
            manifest = {
                "format": FORMAT,
                "created_at": int(time.time()),
                "tantieme": __version__,
                "home": str(root),
                "holdings": asdict(held),
                "files": files,
            }
            data = json.dumps(manifest, indent=2, sort_keys=True).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mtime = len(data), manifest["created_at"]
            tar.addfile(info, io.BytesIO(data))
        fsync(partial)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
        shutil.rmtree(scratch, ignore_errors=True)
    return Backup(target, len(files), sum(f["size"] for f in files.values()), held)


def restore(source: Path, *, force: bool = False, on_wait: Callable[[str], None] | None = None) -> Restored:
    """Put the backup at `source` into this home.

    A home that holds a node is only replaced with `force`, after a backup of
    it (`Restored.previous`). The backup is checked in full before anything
    in the home changes.
    """
    root = home()
    source = Path(source).expanduser().absolute()
    if interrupted_restore():
        raise ConfigError("an earlier restore into this home was interrupted: run `tantieme restore --resume` first")
    manifest = _read_manifest(source)
    held = holdings()
    used = not held.empty or (root / "node.json").is_file()
    if used and not force:
        raise ConfigError(
            f"this home ({root}) already holds a node ({held.describe()}); restore into an empty "
            f"home (TANTIEME_HOME=NEW_DIR tantieme restore {source}) or add --force to replace it "
            "(what it holds is backed up first)"
        )
    previous = str(backup(automatic_path("before-restore"), on_wait).path) if used else None
    stage = root / STAGE
    shutil.rmtree(stage, ignore_errors=True)
    shutil.rmtree(root / SET_ASIDE, ignore_errors=True)
    stage.mkdir()
    count = _extract(source, manifest, stage)
    (stage / MANIFEST).write_text(json.dumps(manifest))
    _fsync_tree(stage)
    (stage / COMPLETE).touch()
    fsync(stage)
    _swap(root, on_wait)
    return Restored(str(source), count, Holdings(**_holdings_fields(manifest["holdings"])), previous)


def resume(on_wait: Callable[[str], None] | None = None) -> Restored:
    """Finish a restore that was killed while it swapped the home's entries."""
    root = home()
    if not interrupted_restore():
        raise ConfigError("there is no interrupted restore to finish in this home")
    manifest = json.loads((root / STAGE / MANIFEST).read_text())
    _swap(root, on_wait)
    return Restored("(resumed)", len(manifest["files"]), Holdings(**_holdings_fields(manifest["holdings"])), None)


# -- backup --


@contextmanager
def _quiet(root: Path, on_wait: Callable[[str], None] | None) -> Iterator[None]:
    """No block mined, no record settled, no work indexed meanwhile: hold the writers' locks."""
    from filelock import FileLock

    from tantieme.node import no_writers

    with ExitStack() as stack:
        stack.enter_context(no_writers(on_wait))
        if (root / "index").is_dir():
            stack.enter_context(FileLock(str(root / "index" / ".write.lock")))
        yield


def _remove_leftovers(target: Path) -> None:
    """Temporary files of earlier backups to `target` whose process died (a kill -9)."""
    for leftover in target.parent.glob(f".{target.name}.*"):
        pid = leftover.name.removeprefix(f".{target.name}.").split(".")[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(leftover) if leftover.is_dir() else leftover.unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _snapshot(name: str, path: Path, scratch: Path) -> Path:
    """A copy of a database (backup API) or an index file, taken while the writers wait."""
    copy = scratch / path.name
    if name in DATABASES:
        sqlitefile.copy(path, copy)
    else:
        shutil.copyfile(path, copy)
    return copy


def _home_files(root: Path) -> Iterator[tuple[str, Path]]:
    """(name in the backup, file) of everything a backup holds, in a stable order."""
    for entry in ENTRIES:
        path = root / entry
        if path.is_file() and not entry.endswith(_LIVE):
            yield entry, path
        elif path.is_dir():
            for file in sorted(path.rglob("*")):
                name = file.relative_to(root).as_posix()
                if file.is_file() and not file.name.startswith(".") and not name.endswith(_LIVE):
                    yield name, file


def _add(tar: tarfile.TarFile, name: str, path: Path, files: dict[str, dict[str, Any]]) -> None:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        info = tar.gettarinfo(fileobj=handle, arcname=name)
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        tar.addfile(info, _Hashing(handle, digest))
    files[name] = {"sha256": digest.hexdigest(), "size": info.size}


class _Hashing(io.RawIOBase):
    """A reader that hashes what passes through it."""

    def __init__(self, inner: IO[bytes], digest: Any) -> None:
        self.inner, self.digest = inner, digest

    def read(self, size: int = -1) -> bytes:
        data = self.inner.read(size)
        self.digest.update(data)
        return data


# -- restore --


def _read_manifest(source: Path) -> dict[str, Any]:
    if not source.is_file():
        raise ConfigError(f"{source} does not exist")
    _check_stream(source)
    try:
        with tarfile.open(source, "r:gz") as tar:
            member = tar.extractfile(MANIFEST)
            manifest = json.loads(member.read()) if member else None
    except (tarfile.TarError, KeyError, OSError, EOFError, ValueError) as exc:
        raise ConfigError(f"{source} is not a readable tantieme backup ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ConfigError(f"{source} is not a tantieme backup (format {FORMAT})")
    for name in manifest["files"]:
        if not _safe_name(name):
            raise ConfigError(f"{source} holds a file outside the home ({name!r}): refusing it")
    return manifest


def _check_stream(source: Path) -> None:
    """Read the whole gzip stream, so that its CRC is checked: tar stops at its end-of-archive
    marker, and a damaged byte in a file's padding would otherwise pass unseen."""
    try:
        with gzip.open(source) as stream:
            while stream.read(_CHUNK):
                pass
    except gzip.BadGzipFile as exc:
        raise ConfigError(f"{source} is damaged or not a tantieme backup ({exc})") from None
    except (OSError, EOFError, zlib.error) as exc:
        raise ConfigError(f"{source} is damaged ({exc})") from None


def _safe_name(name: str) -> bool:
    parts = Path(name).parts
    return bool(parts) and not Path(name).is_absolute() and ".." not in parts and parts[0] in ENTRIES


def _extract(source: Path, manifest: dict[str, Any], stage: Path) -> int:
    """Write every file of the backup under `stage`, checking each against the manifest."""
    expected: dict[str, dict[str, Any]] = manifest["files"]
    seen = set()
    try:
        with tarfile.open(source, "r:gz") as tar:
            for member in tar:
                if member.name == MANIFEST:
                    continue
                wanted = expected.get(member.name)
                if wanted is None or not member.isfile():
                    raise ConfigError(f"{source} is damaged: {member.name!r} is not in its manifest")
                target = stage / member.name
                target.parent.mkdir(parents=True, exist_ok=True)
                digest = hashlib.sha256()
                handle = tar.extractfile(member)
                assert handle is not None  # a regular file
                with open(target, "wb") as out:
                    while chunk := handle.read(_CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
                if digest.hexdigest() != wanted["sha256"] or member.size != wanted["size"]:
                    raise ConfigError(f"{source} is damaged: {member.name} does not match its checksum")
                seen.add(member.name)
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise ConfigError(f"{source} is damaged ({exc})") from None
    missing = set(expected) - seen
    if missing:
        raise ConfigError(f"{source} is damaged: {len(missing)} files are missing, e.g. {sorted(missing)[0]}")
    return len(seen)


def _swap(root: Path, on_wait: Callable[[str], None] | None) -> None:
    """Move each entry of the home aside and the staged one in; safe to repeat after a kill."""
    from tantieme.node import no_writers

    stage, aside = root / STAGE, root / SET_ASIDE
    aside.mkdir(exist_ok=True)
    with no_writers(on_wait):
        for entry in ENTRIES:
            current, staged, old = root / entry, stage / entry, aside / entry
            if (current.exists() or current.is_symlink()) and not old.exists():
                os.replace(current, old)
            if staged.exists():
                os.replace(staged, current)
    (stage / COMPLETE).unlink()
    shutil.rmtree(stage)
    shutil.rmtree(aside)


def _holdings_fields(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "records": {int(k): v for k, v in data["records"].items()},
        "stored": data["stored"],
        "models": data["models"],
        "deployments": tuple(data["deployments"]),
        "unreadable": tuple(data["unreadable"]),
    }


# -- files --


def _is_within(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())


def _fsync_tree(folder: Path) -> None:
    for path in folder.rglob("*"):
        fsync(path)
