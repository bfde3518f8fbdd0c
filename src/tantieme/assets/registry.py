"""Registering IP assets and reading them back from the chain.

The chain is the source of truth (owner, kind, content hash, parents, terms,
consent); the node keeps the files and their metadata (title, media type)
content-addressed in its store, and the metadata's hash is the asset's URI.

Registration takes two transactions, so that nobody who sees it pending can
register the content first: a commitment to (account, content hash, secret
salt), then, in a later block, the registration revealing the salt.
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from tantieme.assets.store import sha256_file
from tantieme.assets.terms import LicenseTerms
from tantieme.errors import AssetError

if TYPE_CHECKING:  # the node (web3) loads when a function is called, not on import
    from tantieme.node import Node

KINDS = ("work", "dataset", "model", "prompt", "output", "agent")
MAX_PARENTS = 16
URI_SCHEME = "tantieme://"
# Upper bounds from the gas benchmark, passed explicitly (no estimate per call).
_REGISTER_GAS = 1_500_000
_CALL_GAS = 400_000
_COMMIT_GAS = 100_000


@dataclass(frozen=True)
class Asset:
    """An IP asset as the chain records it, with its local metadata when known."""

    id: int
    owner: str
    kind: str
    content_hash: str
    uri: str
    parents: tuple[int, ...]
    ancestors: int
    terms: LicenseTerms
    # Effective AI consent: what the asset's own terms and every ancestor's allow now.
    consent: dict[str, bool] = field(default_factory=dict)
    title: str | None = None
    media_type: str | None = None
    # Set by `register` when the content was already this account's asset.
    reused: bool = False

    def to_json(self) -> dict:
        data = {k: v for k, v in self.__dict__.items() if k not in ("terms", "consent", "reused")}
        data["parents"] = list(self.parents)
        data["terms"] = self.terms.as_struct()
        data["ai_consent"] = dict(self.consent)
        return data


def kind_code(kind: str) -> int:
    try:
        return KINDS.index(kind)
    except ValueError:
        raise AssetError(f"unknown kind {kind!r}; choose one of: {', '.join(KINDS)}") from None


def register(
    node: Node,
    path: Path,
    *,
    kind: str = "work",
    terms: LicenseTerms | None = None,
    parents: tuple[int, ...] = (),
    title: str | None = None,
    media_type: str | None = None,
) -> Asset:
    """Register the file at `path` as an asset owned by the node's account.

    The file is hashed (SHA-256) and kept in the node's store; its metadata JSON
    (title, media type, file name) is stored too and its hash becomes the URI.
    Everything is checked before anything is written: a file someone else
    registered, an unknown parent or a rule the registry would refuse is a clear
    `AssetError` or `ChainError`, and a refused registration leaves no file
    behind. A file this account registered already is that asset, `reused`.
    """
    path = Path(path)
    content_hash = sha256_file(path)
    new_content = not node.store.has(content_hash)
    media_type = media_type or mimetypes.guess_type(path.name)[0] or "application/octet-stream"

    def keep() -> None:
        node.store.put(path)

    try:
        asset = register_hash(
            node, content_hash, kind=kind, terms=terms, parents=parents, title=title or path.stem,
            media_type=media_type, file_name=path.name, before_sending=keep,
        )
        if asset.reused:
            keep()
        return asset
    except BaseException:
        if new_content:
            node.store.path(content_hash).unlink(missing_ok=True)
        raise


def register_hash(
    node: Node,
    content_hash: bytes,
    *,
    kind: str,
    terms: LicenseTerms | None = None,
    parents: tuple[int, ...] = (),
    title: str,
    media_type: str,
    file_name: str | None = None,
    before_sending: Callable[[], None] = lambda: None,
) -> Asset:
    """Register content known by its SHA-256 only (e.g. model weights kept elsewhere)."""
    code = kind_code(kind)
    terms = terms or LicenseTerms()
    existing = owned_asset(node, content_hash)
    if existing is not None:
        return replace(existing, reused=True)
    _check(node, code, terms, parents)
    metadata = {
        "name": title,
        "media_type": media_type,
        "file_name": file_name,
        "content_sha256": content_hash.hex(),
        "kind": kind,
    }
    metadata_hash, stored = _put_metadata(node, metadata)
    salt = os.urandom(32)
    try:
        before_sending()
        node.conn.transact(
            node.registry.functions.commitRegistration(commitment(node.address, content_hash, salt)),
            gas=_COMMIT_GAS,
        )
        receipt = node.conn.transact(
            node.registry.functions.register(
                code, content_hash, URI_SCHEME + metadata_hash.hex(), list(parents), terms.as_struct(), salt
            ),
            gas=_REGISTER_GAS,
        )
    except BaseException:
        if stored:
            node.store.path(metadata_hash).unlink(missing_ok=True)
        raise
    from web3.logs import DISCARD

    (event,) = node.registry.events.AssetRegistered().process_receipt(receipt, errors=DISCARD)
    return get(node, event["args"]["asset_id"])


def commitment(registrant: str, content_hash: bytes, salt: bytes) -> bytes:
    """What `commitRegistration` takes: keccak256(abi.encode(registrant, content_hash, salt))."""
    from eth_abi import encode as abi_encode
    from eth_utils import keccak

    return keccak(abi_encode(["address", "bytes32", "bytes32"], [registrant, content_hash, salt]))


def owned_asset(node: Node, content_hash: bytes, what: str = "this content") -> Asset | None:
    """The node's own asset for `content_hash`, None if unregistered; a clear error
    naming the asset and its owner if someone else registered it."""
    existing = node.registry.functions.assetOfContent(content_hash).call()
    if not existing:
        return None
    asset = get(node, existing)
    if asset.owner != node.address:
        raise AssetError(
            f"{what} is already registered as asset #{asset.id}, owned by {asset.owner}; "
            "only its owner can use that registration"
        )
    return asset


def _check(node: Node, kind: int, terms: LicenseTerms, parents: tuple[int, ...]) -> None:
    """Refuse, with a clear message, what the registry would revert."""
    if len(parents) > MAX_PARENTS:
        raise AssetError(f"an asset may name at most {MAX_PARENTS} parents, got {len(parents)}")
    if len(set(parents)) != len(parents):
        raise AssetError("a parent is named twice")
    for parent in parents:
        if not node.registry.functions.exists(parent).call():
            raise AssetError(f"parent asset {parent} does not exist")
        parent_terms = LicenseTerms.from_struct(node.registry.functions.licenseTerms(parent).call())
        if parent_terms.derivatives_reciprocal and terms != parent_terms:
            raise AssetError(
                f"parent asset {parent} is reciprocal: a derivative must carry its exact terms"
            )
        allowed = effective_consent(node, parent)
        if kind == KINDS.index("model"):
            _check_lineage(node, parent, allowed)
        refused = [use for use, wanted in terms.ai_consent().items() if wanted and not allowed[use]]
        if refused:
            uses = ", ".join(_named(use) for use in refused)
            raise AssetError(
                f"parent asset {parent} does not allow AI {uses} (its terms or an ancestor's refuse it), "
                f"so a derivative cannot allow it either: refuse it with --no-ai {_named(refused[0])}"
            )
        held = node.registry.functions.licenseBalance(node.address, parent).call()
        if terms.commercial_use and parent_terms.commercial_use and held == 0:
            raise AssetError(
                f"a commercial derivative needs a licence of asset {parent}: "
                f"run `tantieme license mint {parent}` first"
            )


def effective_consent(node: Node, asset_id: int) -> dict[str, bool]:
    """What AI may do with the asset now: its own consent narrowed by every ancestor's."""
    return dict(zip(LicenseTerms().ai_consent(), node.registry.functions.aiConsent(asset_id).call(), strict=True))


def title(node: Node, asset_id: int) -> str | None:
    """The asset's title from its metadata (one call: cheaper than `get`)."""
    return _read_metadata(node, node.registry.functions.metadataURI(asset_id).call()).get("name")


def _named(use: str) -> str:
    """An AI use as the CLI names it (`fine_tuning` → `fine-tuning`)."""
    return use.replace("_", "-")


def _check_lineage(node: Node, parent: int, allowed: dict[str, bool]) -> None:
    """A model's parents: datasets that allow training, models that allow fine-tuning."""
    kind = KINDS[node.registry.functions.assetKind(parent).call()]
    use = {"dataset": "training", "model": "fine_tuning"}.get(kind)
    if use is None:
        raise AssetError(f"asset {parent} is a {kind}: a model's parents are the datasets and models it was trained from")
    if not allowed[use]:
        raise AssetError(
            f"{kind} {parent} does not allow AI {_named(use)} (its terms or an ancestor's refuse it), "
            "so no model can be registered as trained from it"
        )


def get(node: Node, asset_id: int) -> Asset:
    """The asset `asset_id`; a clear error if it does not exist."""
    registry = node.registry.functions
    if asset_id <= 0 or not registry.exists(asset_id).call():
        raise AssetError(f"asset {asset_id} does not exist")
    uri = registry.metadataURI(asset_id).call()
    metadata = _read_metadata(node, uri)
    return Asset(
        id=asset_id,
        owner=registry.ownerOf(asset_id).call(),
        kind=KINDS[registry.assetKind(asset_id).call()],
        content_hash=registry.contentHash(asset_id).call().hex(),
        uri=uri,
        parents=tuple(registry.parentsOf(asset_id).call()),
        ancestors=registry.ancestorCount(asset_id).call(),
        terms=LicenseTerms.from_struct(registry.licenseTerms(asset_id).call()),
        consent=effective_consent(node, asset_id),
        title=metadata.get("name"),
        media_type=metadata.get("media_type"),
    )


def all_assets(node: Node) -> list[Asset]:
    """Every asset on the registry, oldest first."""
    total = node.registry.functions.totalAssets().call()
    return [get(node, asset_id) for asset_id in range(1, total + 1)]


def with_ancestors(node: Node, asset_ids: Iterable[int]) -> list[Asset]:
    """The assets of `asset_ids` that exist and every ancestor of theirs, oldest first: all that
    royalties paid to them can flow through."""
    found: dict[int, Asset] = {}
    todo = list(asset_ids)
    while todo:
        asset_id = todo.pop()
        if asset_id in found:
            continue
        try:
            found[asset_id] = get(node, asset_id)
        except AssetError:  # named by a record, never registered here: nothing flows through it
            continue
        todo.extend(found[asset_id].parents)
    return sorted(found.values(), key=lambda asset: asset.id)


def tighten_consent(
    node: Node,
    asset_id: int,
    *,
    training: bool,
    fine_tuning: bool,
    retrieval: bool,
    output_commercial: bool,
) -> Asset:
    """Clear AI consent flags of the node's own asset (flags can never be set again)."""
    node.conn.transact(
        node.registry.functions.setAIConsent(
            asset_id, training, fine_tuning, retrieval, output_commercial
        ),
        gas=_CALL_GAS,
    )
    return get(node, asset_id)


def _put_metadata(node: Node, metadata: dict) -> tuple[bytes, bool]:
    """Store the canonical JSON of `metadata`; return its hash and whether it is new."""
    data = json.dumps(metadata, sort_keys=True, separators=(",", ":")).encode()
    new = not node.store.has(hashlib.sha256(data).digest())
    return node.store.put_bytes(data), new


def _read_metadata(node: Node, uri: str) -> dict:
    if not uri.startswith(URI_SCHEME):
        return {}
    try:
        return json.loads(node.store.read_bytes(bytes.fromhex(uri.removeprefix(URI_SCHEME))))
    except (AssetError, ValueError):
        return {}
