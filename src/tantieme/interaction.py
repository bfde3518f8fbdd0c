"""The main flow: a question in, a paid, attributed, anchored and credentialed answer out.

    question → consent-filtered retrieval → local model → attribution → fee
    → payer-signed record (journal) → C2PA credential on the answer
    → (batch) Merkle root + netted settlement on chain

Models are IP assets of kind `model` (their weights' hash on chain, their
training datasets as parents); the node keeps each model's backend and offer
in `TANTIEME_HOME/models.json`.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from eth_account.signers.local import LocalAccount

from tantieme.assets import registry
from tantieme.assets.royalties import mint_license
from tantieme.assets.terms import LicenseTerms, preset
from tantieme.config import home
from tantieme.disputes import retrieval_exclusion
from tantieme.errors import AIError, AssetError, IndexDamagedError
from tantieme.ledger import funds, settlement
from tantieme.ledger.journal import Journal, RecordRow
from tantieme.node import Node
from tantieme.provenance import CA, Consent, ModelRef, Source, ensure_ca, sign_answer
from tantieme.served_models import ModelEntry, Models

if TYPE_CHECKING:
    from tantieme import ai
    from tantieme.ledger.records import InteractionRecord
    from tantieme.ai.documents import Document

# Default offer: AI-token wei per million tokens (1 TAI = 10**18 wei).
PRICE_PROMPT_PER_MILLION = 100 * 10**18
PRICE_COMPLETION_PER_MILLION = 400 * 10**18
# The kinds of asset the node reads and indexes.
INDEXED_KINDS = ("work", "dataset")
# Larger documents are refused for retrieval before they are read (the text's own
# limit is the index's `MAX_WORK_CHARS`).
MAX_DOCUMENT_BYTES = 20_000_000


def register_model(
    node: Node,
    *,
    backend: str = "local",
    options: dict | None = None,
    datasets: tuple[int, ...] = (),
    terms: LicenseTerms | None = None,
    price_prompt_per_million: int = PRICE_PROMPT_PER_MILLION,
    price_completion_per_million: int = PRICE_COMPLETION_PER_MILLION,
    say: Callable[[str], None] = lambda _: None,
) -> ModelEntry:
    """Register a model as an IP asset, its training datasets as parents, and serve it.

    The weights' SHA-256 is the content hash (for a remote model without a weights
    file, the hash of its backend and name). Licences of commercial datasets are
    bought first, as the registry requires. Weights this account registered
    already are that asset, reused (and `say` tells so); weights registered by
    someone else are a clear `AssetError` naming the asset and its owner. The
    default terms are `open`, narrowed to what the datasets allow.
    """
    from tantieme import ai

    options = options or {}
    model = ai.load_model(backend, **options)
    weights_hash = (model.weights_hash or "").removeprefix("sha256:") or _identity_hash(backend, options)
    models = Models.load()
    existing = registry.owned_asset(node, bytes.fromhex(weights_hash), "these model weights")
    if existing is not None:
        if datasets and sorted(datasets) != sorted(existing.parents):
            declared = ", ".join(f"#{p}" for p in existing.parents) or "no dataset"
            raise AIError(
                f"{model.name} is registered already, as asset #{existing.id} trained on {declared}; "
                "a model's training data is fixed when it is registered and cannot change"
            )
        asset_id = existing.id
        say(f"model {model.name} is already registered as your asset #{asset_id}: reusing it")
    else:
        parents = [registry.get(node, dataset) for dataset in datasets]
        if terms is None:
            terms = _narrowed(preset("open"), parents)
        for parent in parents:
            if terms.commercial_use and parent.terms.commercial_use:
                mint_license(node, parent.id)
        asset = registry.register_hash(
            node, bytes.fromhex(weights_hash), kind="model", terms=terms, parents=datasets,
            title=model.name, media_type="application/octet-stream",
        )
        asset_id = asset.id
    entry = ModelEntry(
        asset_id=asset_id,
        name=model.name,
        backend=backend,
        options=options,
        weights_hash=weights_hash,
        price_prompt_per_million=price_prompt_per_million,
        price_completion_per_million=price_completion_per_million,
    )
    models.models[str(asset_id)] = entry
    models.default = models.default or asset_id
    models.save()
    return entry


def _narrowed(terms: LicenseTerms, parents: list[registry.Asset]) -> LicenseTerms:
    """`terms` without the AI uses that a parent (or its ancestors) refuses."""
    refused = {use for parent in parents for use, ok in parent.consent.items() if not ok}
    return terms.with_(**{f"ai_{use}": False for use in refused})


def ensure_default_model(node: Node) -> ModelEntry | None:
    """Register the embedded local model if this node serves none yet; the new entry, or None."""
    if Models.load().default is not None:
        return None
    return register_model(node)


def index_path() -> Path:
    return home() / "index"


def consents_to_retrieval(node: Node) -> Callable[[int], bool]:
    """The live, on-chain answer to "may AI read this work to answer questions?": its terms
    consent to retrieval, no upheld dispute tagged it and none tagged an ancestor for copied
    content (such a work is never read or cited; `disputes.exclusion_rule`, the rule the report
    and `tantieme show` explain exclusions by)."""
    why = retrieval_exclusion(node)
    return lambda asset_id: why(asset_id) is None


def check_readable(path: Path, kind: str, terms: LicenseTerms) -> Document | None:
    """The document a work or dataset holds, read before registration; None if it holds none.

    AI consent needs a document the node can read: a binary or unreadable file with
    any AI use allowed is refused with a clear `AssetError`, and registers without
    AI consent only. Consent to retrieval also needs a document within the index's
    limits (`MAX_DOCUMENT_BYTES`, `MAX_WORK_CHARS`): a larger one is refused.
    """
    from tantieme.ai import documents

    if kind not in INDEXED_KINDS or not path.is_file():
        return None  # registration says what is wrong with a missing file or a device
    if terms.ai_retrieval:
        _check_size(path.name, path.stat().st_size)
    try:
        document = documents.read(path)
    except AIError as exc:
        if any(terms.ai_consent().values()):
            raise AssetError(
                f"{exc}; AI cannot read it, so it cannot be registered with AI consent: "
                "use --terms no-ai or --terms private"
            ) from None
        return None
    if terms.ai_retrieval:
        _check_length(path.name, len(document.text))
    return document


def _check_size(name: str, size: int) -> None:
    if size > MAX_DOCUMENT_BYTES:
        raise AIError(
            f"{name} is {size / 1e6:.1f} MB; AI retrieval takes documents of up to "
            f"{MAX_DOCUMENT_BYTES / 1e6:g} MB: split it into parts and register each, or register "
            "it without retrieval consent"
        )


def _check_length(name: str, chars: int) -> None:
    from tantieme.ai.index import MAX_WORK_CHARS

    if chars > MAX_WORK_CHARS:
        raise AIError(
            f"{name} holds {chars:,} characters of text; the index takes works of up to "
            f"{MAX_WORK_CHARS:,} (about a novel): split it into parts and register each, "
            "or register it without retrieval consent"
        )


def unindexed(node: Node, index: ai.Index) -> Iterator[registry.Asset]:
    """The works and datasets this node could index and `index` lacks: consenting to retrieval,
    of a readable kind, their file in the store."""
    from tantieme.ai import documents

    consents = consents_to_retrieval(node)
    kind = node.registry.functions.assetKind
    total = node.registry.functions.totalAssets().call()
    for asset_id in range(1, total + 1):
        # Indexed already, of a kind never indexed (a model) or refusing retrieval: skip
        # before reading the rest of the asset.
        if asset_id in index or registry.KINDS[kind(asset_id).call()] not in INDEXED_KINDS or not consents(asset_id):
            continue
        asset = registry.get(node, asset_id)
        if asset.media_type not in documents.MEDIA_TYPES:
            continue
        if node.store.has(bytes.fromhex(asset.content_hash)):
            yield asset


def sync_index(node: Node, index: ai.Index, warn: Callable[[str], None] = lambda _m: None) -> list[int]:
    """Index every work or dataset whose terms consent to retrieval and whose file this node has.

    A document that cannot be read, or is above the index's limits, is skipped
    with a warning: it never stops a question. Each work is added atomically,
    so an interrupted sync resumes where it stopped.
    """
    from tantieme import ai

    added = []
    for asset in unindexed(node, index):
        content = bytes.fromhex(asset.content_hash)
        try:
            _check_size(f"asset {asset.id}", node.store.path(content).stat().st_size)
            text = ai.extract_text(node.store.read_bytes(content), _file_name(asset))
            _check_length(f"asset {asset.id}", len(text))
        except AIError as exc:
            warn(f"asset {asset.id} is not indexed: {exc}")
            continue
        index.add_work(asset.id, asset.title or f"asset {asset.id}", asset.owner, text)
        added.append(asset.id)
    return added


@dataclass(frozen=True)
class Interaction:
    """An answered question: the answer, its fee, its journaled record and credential; or,
    invoiced (deposit mode), the record its payer is to sign, and no files yet."""

    answer: ai.Answer
    model: ModelEntry
    fee: int
    record: RecordRow | None
    answer_path: Path | None
    credential_path: Path | None
    invoice: InteractionRecord | None = None


@dataclass(frozen=True)
class Quote:
    """The model a question goes to, loaded, and the most its answer may cost (token wei)."""

    entry: ModelEntry
    model: ai.Model
    max_tokens: int
    amount: int


def quote(model_id: int | None = None, max_tokens: int = 96) -> Quote:
    """Price a question before it is asked: its model (`UnknownModelError` if this node
    does not serve it), loaded once per process, and the most its answer may cost.

    `ask` charges at most `amount`; `tantieme serve` asks for a payment of it.
    """
    from tantieme import ai

    entry = Models.load().get(model_id)
    model = ai.load_model(entry.backend, **entry.options)
    if not 1 <= max_tokens < model.context_window:
        raise AIError(
            f"max_tokens must be from 1 to {model.context_window - 1} ({entry.name} attends to "
            f"{model.context_window} tokens, question and answer together)"
        )
    return Quote(entry, model, max_tokens, max_fee(entry, model.context_window, max_tokens))


def ask(
    node: Node,
    question: str,
    *,
    payer: LocalAccount | None = None,
    model_id: int | None = None,
    index: ai.Index | None = None,
    k: int = 4,
    max_tokens: int = 96,
    attribution: str = "ablation",
    book: Journal | None = None,
    status: Callable[[str], None] = lambda _msg: None,
    priced: Quote | None = None,
    nonce: int | None = None,
    sync: bool = True,
    invoice: Callable[..., InteractionRecord] | None = None,
    payment: Callable[[int], dict] | None = None,
) -> Interaction:
    """Answer `question` from consenting works, charge `payer`, journal and credential it.

    `priced` is the question's `quote` when the caller took it already (it names the
    model and `max_tokens`); `nonce` binds the record to a payment (default: the time);
    `sync=False` when the caller keeps `index` in step with the chain itself.
    `invoice` replaces the payer's signature (deposit mode, `payments.deposit.Desk.invoice`
    for one payer, whose credit the caller checked): called with the question, answer,
    details and what was metered, it journals the record for its payer to sign; the
    answer's files and credential are written once it is signed (`write_answer`).
    `payment(fee)` is the x402 payment the answer is paid with, as journaled with its
    record (`payments.per_request.PayPerRequest.entry`): the record settles in no batch
    before the payment does. The record is journaled only once its credential is written.
    """
    from tantieme import ai

    if not question or not question.strip():
        raise AIError("the question is empty: ask something, e.g. tantieme ask \"How many hives fit on a roof?\"")
    payer = payer or node.account
    book = book or settlement.journal()
    status("loading the model")
    priced = priced or quote(model_id, max_tokens)
    entry, model, max_tokens = priced.entry, priced.model, priced.max_tokens
    if invoice is None:
        funds.require(
            node, funds.funds(node, payer.address, book, permit=True), priced.amount,
            "this answer may cost up to", "ask again",
        )
    with contextlib.nullcontext(index) if index is not None else open_index(status) as index:
        if sync:
            status("updating the index")
            sync_index(node, index, status)
        status("answering")
        answer = ai.ask(
            question, index, model, consents_to_retrieval(node), k=k, max_tokens=max_tokens, attribution=attribution
        )
    fee = ai.fee(entry.offer, answer.prompt_tokens, answer.completion_tokens)
    details = {
        "model": entry.name,
        "sources": [asdict(s) for s in answer.sources],
        "own_knowledge": answer.own_knowledge,
        "attribution": answer.attribution_mode,
        "timings": answer.timings,
        "truncated": list(answer.truncated),
    }
    metered = dict(
        model=entry.asset_id, question=answer.question, answer=answer.text,
        sources=[s.asset_id for s in answer.sources], weights=[s.weight for s in answer.sources],
        prompt_tokens=answer.prompt_tokens, completion_tokens=answer.completion_tokens, fee=fee, details=details,
    )
    if invoice is not None:
        return Interaction(answer=answer, model=entry, fee=fee, record=None, answer_path=None, credential_path=None,
                           invoice=invoice(**metered))
    status("signing the content credential")
    written: list[Path] = []
    row = settlement.record(
        node, payer, book=book, nonce=nonce, payment=None if payment is None else payment(fee),
        before=lambda draft: written.extend(write_answer(node, draft, entry)), **metered,
    )
    answer_path, credential = written
    return Interaction(answer=answer, model=entry, fee=fee, record=row, answer_path=answer_path, credential_path=credential)


def max_fee(entry: ModelEntry, context_window: int, max_tokens: int) -> int:
    """The most an answer can cost: the longest prompt that leaves `max_tokens` of the model's
    context for the answer (`ai.ask` never sends a longer one), and `max_tokens` more."""
    from tantieme import ai

    return ai.fee(entry.offer, context_window - max_tokens, max_tokens)


def open_index(status: Callable[[str], None] = lambda _msg: None) -> ai.Index:
    """The node's index; a damaged one is discarded, to be rebuilt by `sync_index`."""
    from tantieme import ai

    try:
        return ai.Index(index_path())
    except IndexDamagedError as exc:
        status(f"{exc}: rebuilding it")
        ai.Index.discard(index_path())
        return ai.Index(index_path())


def node_ca() -> CA:
    return ensure_ca(home() / "ca", "tantieme node")


def answers_dir() -> Path:
    return home() / "answers"


def answer_file(row: RecordRow) -> Path:
    """The answer as text, with its `.c2pa` sidecar beside it."""
    return answers_dir() / f"{row.digest[2:18]}.txt"


def answer_document(row: RecordRow) -> Path:
    """The answer as JSON (question, answer, sources, record), with its own sidecar."""
    return answers_dir() / f"{row.digest[2:18]}.answer.json"


def discard_answer(row: RecordRow) -> None:
    """Remove the answer's files and credentials (of a record not journaled, or voided)."""
    from tantieme.provenance.credentials import sidecar_path

    for path in (answer_file(row), answer_document(row)):
        path.unlink(missing_ok=True)
        sidecar_path(path).unlink(missing_ok=True)


def write_answer(node: Node, row: RecordRow, entry: ModelEntry) -> tuple[Path, Path]:
    """Write the answer as text and as JSON, each with a C2PA credential; return the text and its
    sidecar. If any of it fails, none of the files stays."""
    try:
        return _write_answer(node, row, entry)
    except BaseException:
        discard_answer(row)
        raise


def _write_answer(node: Node, row: RecordRow, entry: ModelEntry) -> tuple[Path, Path]:
    rec = row.signed.record
    sources = []
    for asset_id, weight in zip(rec.sources, rec.weights, strict=True):
        consent = Consent(**registry.effective_consent(node, asset_id))
        sources.append(Source(asset_id=asset_id, title=registry.title(node, asset_id) or "", weight_bps=weight, consent=consent))
    text = answer_file(row)
    text.parent.mkdir(parents=True, exist_ok=True)
    text.write_text(row.answer)
    document = answer_document(row)
    document.write_text(json.dumps({
        "question": row.question,
        "answer": row.answer,
        "model": {"asset": entry.asset_id, "name": entry.name, "weights_sha256": entry.weights_hash},
        "sources": [{"asset": s.asset_id, "title": s.title, "weight_bps": s.weight_bps} for s in sources],
        "record": row.digest,
        "fee": str(rec.fee),
    }, indent=2, sort_keys=True))
    common = dict(
        ca=node_ca(),
        title=f"Answer {row.digest[:18]}",
        model=ModelRef(name=entry.name, asset_id=entry.asset_id, weights_hash=entry.weights_hash),
        sources=sources,
        record_id=row.digest,
        batch_root=None,
        chain_id=row.chain_id,
        contracts={"ledger": row.ledger, "registry": node.deployment.registry},
        prompt_text=row.question,
    )
    sign_answer(document, format="application/json", **common)
    return text, sign_answer(text, format="text/plain", **common)


def _identity_hash(backend: str, options: dict) -> str:
    import hashlib

    return hashlib.sha256(json.dumps([backend, options], sort_keys=True).encode()).hexdigest()


def _file_name(asset: registry.Asset) -> str:
    from tantieme.ai import documents

    (_, suffixes) = documents.FORMATS[documents.MEDIA_TYPES[asset.media_type]]
    return f"asset-{asset.id}{suffixes[0]}"
