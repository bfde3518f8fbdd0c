"""`tantieme doctor`: check a home's state, and repair what can be rebuilt (`--repair`).

Checks, in order: an interrupted restore, the settings, the chain (its
database's integrity on the embedded chain), the deployment record, who owns
the parameters (a handover to the DAO cut short), the journal, the content store, the index, the credential CA and `models.json`.
Each says what it found and, when something is wrong, how to fix it.

What `--repair` rebuilds: an interrupted restore (finished), the deployment
record (from the ledger on chain: the journal names it, or the node's account
created it), the index (discarded and indexed again from the chain and the
store; resumable), the CA's signing certificate (re-issued from the root),
`models.json` (the local model's entries, from the chain), stray temporary
files. What it cannot rebuild — the chain database, the journal, stored works,
keys, the CA's root — comes back from a backup (`tantieme restore`).

Doctor reads the chain without the writer lock, so it runs beside a node at
work; the index repair alone waits for the embedded chain's writers.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import rlp
from eth_utils import keccak, to_checksum_address

from tantieme import sqlitefile
from tantieme.assets.store import sha256_file
from tantieme.chain import Connection, connect, dev_account
from tantieme.chain.deploy import (
    Deployment,
    from_ledger,
    is_live,
    record,
    recorded_deployment,
    with_agents,
    with_dao,
    with_disputes,
    with_offers,
)
from tantieme.config import home
from tantieme.errors import ConfigError, IndexDamagedError, TantiemeError
from tantieme.node import Node, Settings, no_writers

if TYPE_CHECKING:
    from tantieme.interaction import Models
    from tantieme.ledger.journal import Journal

__all__ = ["Diagnosis", "Finding", "run"]

Say = Callable[[str], None]


@dataclass
class Finding:
    name: str
    ok: bool
    detail: str
    fix: str | None = None
    """What to do about it, when not ok."""
    repaired: bool = False


@dataclass
class Diagnosis:
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(f.ok for f in self.findings)

    def add(self, name: str, ok: bool, detail: str, fix: str | None = None, repaired: bool = False) -> None:
        self.findings.append(Finding(name, ok, detail, None if ok else fix, repaired))


def run(repair: bool = False, say: Say = lambda _m: None) -> Diagnosis:
    """Check this home (and repair what can be rebuilt, with `repair`)."""
    diagnosis = Diagnosis()
    _restore(diagnosis, repair, say)
    settings = _settings(diagnosis)
    conn = _chain(diagnosis, settings) if settings is not None else None
    try:
        deployment = _deployment(diagnosis, conn, settings, repair) if conn and settings else None
        node = Node(settings, conn, deployment) if conn and settings and deployment else None
        _handover(diagnosis, node)
        _journal(diagnosis, node)
        _store(diagnosis, repair)
        _index(diagnosis, node, repair, say)
        _ca(diagnosis, repair)
        _models(diagnosis, node, repair)
    finally:
        if conn is not None:
            conn.close()
    return diagnosis


# -- the checks ---------------------------------------------------------------


def _restore(d: Diagnosis, repair: bool, say: Say) -> None:
    from tantieme.maintenance import backup, interrupted_restore

    if not interrupted_restore():
        return
    if repair:
        backup.resume(say)
        d.add("restore", True, "an interrupted restore was finished", repaired=True)
    else:
        d.add("restore", False, "a restore was interrupted half-way", "`tantieme restore --resume` finishes it")


def _settings(d: Diagnosis) -> Settings | None:
    try:
        settings = Settings.load()
    except ConfigError as exc:
        d.add("settings", False, str(exc), "`tantieme init` sets the node up (it never orphans what the home holds)")
        return None
    where = "the embedded chain" if settings.chain == "embedded" else f"the chain at {settings.rpc_url}"
    d.add("settings", True, f"{where}, account {settings.address}")
    return settings


def _chain(d: Diagnosis, settings: Settings) -> Connection | None:
    fix = "restore a backup: `tantieme restore FILE --force`"
    if settings.chain == "embedded":
        database = home() / "chain" / "chain.sqlite3"
        if not database.is_file():
            d.add("chain", False, f"the embedded chain {database} is missing", fix)
            return None
        problem = sqlitefile.check(database)
        if problem:
            d.add("chain", False, f"the embedded chain {database} is damaged: {problem}", fix)
            return None
    try:
        conn = connect(settings.chain, rpc_url=settings.rpc_url, account=dev_account(0), readonly=True)
        block = conn.w3.eth.block_number
    except TantiemeError as exc:
        d.add("chain", False, str(exc), fix if settings.chain == "embedded" else "start the node or fix its URL")
        return None
    d.add("chain", True, f"chain {conn.chain_id}, block {block}")
    return conn


def _deployment(d: Diagnosis, conn: Connection, settings: Settings, repair: bool) -> Deployment | None:
    try:
        recorded = recorded_deployment(conn.chain_id)
        problem = None if recorded is not None else "no deployment record"
    except ConfigError:
        recorded, problem = None, "the deployment record is damaged"
    if recorded is not None and not is_live(conn, recorded):
        problem = f"the recorded contracts (ledger {recorded.ledger}) are not on chain {conn.chain_id}"
    if problem is None:
        d.add("deployment", True, f"ledger {recorded.ledger}, registry {recorded.registry}")
        return recorded
    found = _find_deployment(conn, settings)
    if found is None:
        d.add("deployment", False, problem, "`tantieme init` deploys the contracts (`--force` if the home holds records)")
        return None
    if not repair:
        d.add("deployment", False, f"{problem}; the chain has this node's ledger {found.ledger}", "`tantieme doctor --repair` records it again")
        return None
    found = with_disputes(conn, with_offers(conn, with_agents(conn, with_dao(conn, found))))
    record(found)
    d.add("deployment", True, f"{problem}: recovered ledger {found.ledger} from the chain", repaired=True)
    return found


def _handover(d: Diagnosis, node: Node | None) -> None:
    """Who owns the parameters: the deployer, the DAO, or (a handover cut short) some of each."""
    from tantieme.dao import state

    if node is None or node.deployment.timelock is None:
        return
    held = state(node)
    if all(h.dao for h in held):
        d.add("handover", True, "the DAO's timelock owns every parameter")
        return
    kept = ", ".join(f"the {h.name} ({h.owner})" for h in held if not h.dao)
    if any(h.dao for h in held):
        d.add("handover", False, f"a handover to the DAO stopped half-way: still owned elsewhere: {kept}",
              "`tantieme dao handover` finishes it (as the owner's account)")
    else:
        d.add("handover", True, f"the deployer owns the parameters ({kept}); `tantieme dao handover` gives them to the DAO")


def _journal(d: Diagnosis, node: Node | None) -> None:
    from tantieme.ledger.journal import Journal

    path = home() / "ledger.db"
    if not path.is_file():
        d.add("journal", True, "no journal yet: records are journaled from the first answer")
        return
    problem = sqlitefile.check(path)
    if problem:
        d.add(
            "journal", False, f"{path} is damaged: {problem}",
            "restore a backup (`tantieme restore FILE --force`: records signed since are lost), or move "
            "ledger.db away to start an empty journal",
        )
        return
    book = Journal(path)
    try:
        total = book.db.execute("SELECT COUNT(*) FROM records").fetchone()[0]
        pending = book.db.execute("SELECT COUNT(*) FROM records WHERE batch_id IS NULL").fetchone()[0]
        unsettled = book.unsettled_batches()
        behind = _behind_the_chain(book, node) if node is not None else []
    finally:
        book.close()
    detail = f"{total} records, {pending} pending"
    if unsettled:
        detail += f", {len(unsettled)} batches signed and not sent yet (`tantieme settle` sends them)"
    if behind:
        d.add(
            "journal", False, f"{detail}; older than the chain: " + "; ".join(behind) + " (settle refuses it, "
            "so nothing is paid twice)",
            "restore the newest backup (`tantieme restore FILE --force`)",
        )
        return
    d.add("journal", True, detail)


def _behind_the_chain(book: Journal, node: Node) -> list[str]:
    """The node's pools whose batches the chain anchored and the journal does not know."""
    from tantieme.ledger.settlement import known_batches

    chain_id, ledger = node.conn.chain_id, node.deployment.ledger
    payers = book.db.execute(
        "SELECT DISTINCT payer FROM records WHERE chain_id = ? AND ledger = ? ORDER BY payer", (chain_id, ledger)
    ).fetchall()
    behind = []
    for (payer,) in payers:
        known = known_batches(book.previous_in_pool(payer, node.address, chain_id, ledger))
        on_chain = node.ledger.functions.batchNonces(payer, node.address).call()
        if on_chain > known:
            behind.append(f"{payer}: {on_chain} batches anchored, {known} journaled")
    return behind


def _store(d: Diagnosis, repair: bool) -> None:
    store = home() / "store"
    files = sorted(p for p in store.glob("*/*") if p.is_file()) if store.is_dir() else []
    leftovers = [p for p in files if p.name.startswith(".")]
    damaged = [p for p in files if not p.name.startswith(".") and sha256_file(p).hex() != p.name]
    if repair:
        for path in leftovers:
            path.unlink()
        aside = home() / "damaged"
        for path in damaged:
            aside.mkdir(exist_ok=True)
            shutil.move(path, aside / path.name)
    count = len(files) - len(leftovers)
    if not damaged:
        d.add("store", True, f"{count} files, each matching its hash", repaired=bool(repair and leftovers))
        return
    names = ", ".join(p.name[:12] + "…" for p in damaged[:3])
    if repair:
        d.add("store", True, f"{len(damaged)} files did not match their hash ({names}): moved to {home() / 'damaged'}; "
              "restore a backup to get them back", repaired=True)
    else:
        d.add("store", False, f"{len(damaged)} of {count} files do not match their hash ({names})",
              "`tantieme doctor --repair` sets them aside; a backup (`tantieme restore`) has the originals")


def _index(d: Diagnosis, node: Node | None, repair: bool, say: Say) -> None:
    from tantieme import interaction
    from tantieme.ai.index import Index

    path = interaction.index_path()
    if not path.exists():
        d.add("index", True, "no index yet: it is built at the first question")
        return
    try:
        index = Index(path)
    except IndexDamagedError as exc:
        if not (repair and node):
            d.add("index", False, str(exc).split(";")[0], "`tantieme doctor --repair` rebuilds it from the chain and the store (so does the next question)")
            return
        with no_writers(say):
            say("rebuilding the index from the chain and the store")
            Index.discard(path)
            with Index(path) as index:
                added = interaction.sync_index(node, index, say)
        d.add("index", True, f"was damaged: rebuilt, {len(added)} works indexed", repaired=True)
        return
    with index:
        works, passages = len(index.works()), len(index)
        waiting = list(interaction.unindexed(node, index)) if node else []
        if waiting and repair:
            with no_writers(say):
                added = interaction.sync_index(node, index, say)
            d.add("index", True, f"{works + len(added)} works, {len(index)} passages ({len(added)} indexed now)", repaired=True)
            return
    detail = f"{works} works, {passages} passages"
    if waiting:
        detail += f"; {len(waiting)} consenting works wait to be indexed (at the next question, or --repair)"
    d.add("index", True, detail)


def _ca(d: Diagnosis, repair: bool) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    from tantieme.provenance.ca import ROOT_CERT, ROOT_KEY, SIGNER_CERT, SIGNER_KEY, ensure_ca

    folder = home() / "ca"
    if not folder.exists():
        d.add("ca", True, "no CA yet: it is made with the first answer")
        return
    lost = "restore ca/ from a backup, or move ca/ away to start a new CA (credentials signed so far verify against the old root certificate, which their bundles carry)"
    try:
        root = x509.load_pem_x509_certificate((folder / ROOT_CERT).read_bytes())
        serialization.load_pem_private_key((folder / ROOT_KEY).read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        d.add("ca", False, f"the CA's root in {folder} is missing or damaged ({exc})", lost)
        return
    try:
        signer = x509.load_pem_x509_certificate((folder / SIGNER_CERT).read_bytes())
        serialization.load_pem_private_key((folder / SIGNER_KEY).read_bytes(), password=None)
        problem = None if signer.issuer == root.subject else "was not issued by the root"
    except (OSError, ValueError) as exc:
        problem = f"is missing or damaged ({exc})"
    if problem and repair:
        for name in (SIGNER_CERT, SIGNER_KEY):
            (folder / name).unlink(missing_ok=True)
        ensure_ca(folder, "tantieme node")
        d.add("ca", True, f"the signing certificate {problem}: issued again from the root", repaired=True)
    elif problem:
        d.add("ca", False, f"the signing certificate {problem}", "`tantieme doctor --repair` issues a new one from the root")
    else:
        d.add("ca", True, f"root valid until {root.not_valid_after_utc:%Y-%m-%d}, signer until {signer.not_valid_after_utc:%Y-%m-%d}")


def _models(d: Diagnosis, node: Node | None, repair: bool) -> None:
    from tantieme.interaction import Models

    if not Models.path().is_file():
        d.add("models", True, "no model registered yet (`tantieme model register`)")
        return
    try:
        models = Models.load()
    except ConfigError as exc:
        if not (repair and node):
            d.add("models", False, str(exc).split(";")[0], "`tantieme doctor --repair` rebuilds it from the chain")
            return
        rebuilt = _rebuild_models(node)
        d.add("models", True, f"rebuilt from the chain: {', '.join(f'#{m}' for m in rebuilt.models) or 'no local model found'} "
              "at the default prices", repaired=True)
        return
    wrong = [
        key for key, entry in models.models.items()
        if node is not None and not _is_model(node, entry.asset_id, entry.weights_hash)
    ]
    if wrong:
        d.add("models", False, f"models {', '.join('#' + w for w in wrong)} are not models with these weights on this chain",
              "register them again: `tantieme model register`")
    else:
        d.add("models", True, f"{len(models.models)} models, default #{models.default}")


# -- helpers ------------------------------------------------------------------


def _find_deployment(conn: Connection, settings: Settings) -> Deployment | None:
    """This node's deployment on chain: the ledger its journal names, else the newest its account created."""
    for ledger in _journal_ledgers(conn.chain_id):
        try:
            return from_ledger(conn, ledger)
        except TantiemeError:
            continue
    if not settings.address:
        return None
    deployer = bytes.fromhex(settings.address[2:])
    found = None
    for nonce in range(conn.w3.eth.get_transaction_count(settings.address)):
        address = to_checksum_address(keccak(rlp.encode([deployer, nonce]))[12:])
        if conn.w3.eth.get_code(address):
            try:
                found = from_ledger(conn, address)
            except TantiemeError:
                continue
    return found


def _journal_ledgers(chain_id: int) -> list[str]:
    from tantieme.ledger.journal import Journal

    path = home() / "ledger.db"
    if not path.is_file():
        return []
    try:
        book = Journal(path)
    except TantiemeError:
        return []
    try:
        rows = book.db.execute(
            "SELECT ledger FROM records WHERE chain_id = ? GROUP BY ledger ORDER BY MAX(id) DESC", (chain_id,)
        ).fetchall()
    except TantiemeError:
        return []
    finally:
        book.close()
    return [r[0] for r in rows]


def _rebuild_models(node: Node) -> Models:
    """`models.json` again: the local model's registered assets that this node owns, at the default prices."""
    from tantieme.ai.backends.llamacpp import default_model_path
    from tantieme.ai.models import file_sha256
    from tantieme.assets import registry
    from tantieme.interaction import PRICE_COMPLETION_PER_MILLION, PRICE_PROMPT_PER_MILLION, ModelEntry, Models

    weights = file_sha256(default_model_path()).removeprefix("sha256:")
    models = Models()
    for asset_id in range(1, node.registry.functions.totalAssets().call() + 1):
        asset = registry.get(node, asset_id)
        if asset.kind == "model" and asset.owner == node.settings.address and asset.content_hash == weights:
            models.models[str(asset_id)] = ModelEntry(
                asset_id=asset_id, name=asset.title or f"model {asset_id}", backend="local", options={},
                weights_hash=weights, price_prompt_per_million=PRICE_PROMPT_PER_MILLION,
                price_completion_per_million=PRICE_COMPLETION_PER_MILLION,
            )
            models.default = models.default or asset_id
    shutil.move(Models.path(), Models.path().with_name("models.json.damaged"))
    models.save()
    return models


def _is_model(node: Node, asset_id: int, weights_hash: str) -> bool:
    registry = node.registry.functions
    try:
        return bool(registry.exists(asset_id).call()) and registry.contentHash(asset_id).call().hex() == weights_hash
    except Exception:  # noqa: BLE001  (an id the contract rejects)
        return False
