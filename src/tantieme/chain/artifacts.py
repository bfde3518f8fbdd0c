"""Compiled contracts, cached: each source compiles once per compiler version.

Artifacts are keyed by the SHA-256 of the compiler version and every contract
source, and kept under `TANTIEME_CACHE` (default `~/.cache/tantieme`), so CLI
start-up never recompiles and all nodes on a machine share the cache.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from tantieme.config import cache_root
from tantieme.files import write_json

CONTRACTS_DIR = Path(__file__).resolve().parent.parent / "contracts"


@dataclass(frozen=True)
class Artifact:
    """A contract's ABI and deployment bytecode."""

    name: str
    abi: list[dict]
    bytecode: str


def cache_dir() -> Path:
    return cache_root() / "artifacts"


@cache
def _sources_digest() -> str:
    # Neither compiler nor library is imported: vyper takes ~0.1 s to import, and a node that
    # finds its artifacts cached never compiles (vyper's `__version__` is this same metadata).
    digest = hashlib.sha256(importlib.metadata.version("vyper").encode())
    for path in sorted(CONTRACTS_DIR.glob("*.vy*")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    # snekmate's version is part of the key through its files
    snekmate_dir = Path(importlib.util.find_spec("snekmate").submodule_search_locations[0])
    for path in sorted(snekmate_dir.rglob("*.vy*")):
        digest.update(str(path.relative_to(snekmate_dir)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _compile(name: str) -> Artifact:
    from vyper.compiler import compile_from_file_input
    from vyper.compiler.input_bundle import FilesystemInputBundle

    source = CONTRACTS_DIR / f"{name}.vy"
    bundle = FilesystemInputBundle([CONTRACTS_DIR, *map(Path, filter(None, sys.path))])
    file_input = bundle.load_file(source)
    out = compile_from_file_input(file_input, input_bundle=bundle, output_formats=["abi", "bytecode"])
    return Artifact(name=name, abi=out["abi"], bytecode=out["bytecode"])


@cache
def load(name: str) -> Artifact:
    """The artifact of `contracts/<name>.vy`, compiled on first use only."""
    path = cache_dir() / _sources_digest() / f"{name}.json"
    if path.is_file():
        data = json.loads(path.read_text())
        return Artifact(name=name, abi=data["abi"], bytecode=data["bytecode"])
    artifact = _compile(name)
    write_json(path, {"abi": artifact.abi, "bytecode": artifact.bytecode}, indent=None)
    return artifact
