"""Recording interactions and settling them on chain in batches.

`record` signs an interaction as its payer and journals it. `settle` rolls a
payer's pending records into a Merkle tree, nets the fees per recipient, adds
them to the payer's cumulative asset tree with this node (the operator), has
the payer sign the batch under the ledger's current split (and an EIP-2612
permit, so the payer needs no gas), journals the signed batch with its records
and amounts, and only then sends it, from the operator's account. A crash
anywhere leaves a journal that `settle` finishes: a batch the chain already
anchored is marked settled, one it has not is sent again; the contract's batch
nonce per payer and operator and its root check make paying twice impossible.
A journal older than the chain (restored from an older backup) is refused
before any batch is signed: its pending records may have been paid already.
The assets then credit their cumulative amounts by proof from the journal's
trees (`tantieme.assets.royalties.credit`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eth_account.signers.local import LocalAccount
from web3.logs import DISCARD

from tantieme.chain.permit import sign_permit
from tantieme.errors import ChainError, LedgerError
from tantieme.ledger import funds
from tantieme.ledger.journal import BatchRow, Journal, RecordRow, journal
from tantieme.ledger.netting import Netted, Split, net
from tantieme.ledger.records import Batch, Domain, InteractionRecord, asset_root, record_tree
from tantieme.node import Node

DEFAULT_BATCH_SIZE = 100
DEFAULT_MAX_AGE_S = 3600
BATCH_DEADLINE_S = 24 * 3600
MAX_BATCH_RECORDS = 10_000
BPS = 10_000
_SETTLE_GAS = 500_000


def domain(node: Node) -> Domain:
    return Domain(chain_id=node.conn.chain_id, verifying_contract=node.deployment.ledger)


def sha256(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


def weights_bps(weights: list[float]) -> list[int]:
    """Attribution weights (fractions summing to ≤ 1) as basis points, floored."""
    out = [max(0, int(w * BPS)) for w in weights]
    excess = sum(out) - BPS
    if excess > 0:  # float rounding: take it from the largest
        out[out.index(max(out))] -= excess
    return out


def record(
    node: Node,
    payer: LocalAccount,
    *,
    question: str,
    answer: str,
    details: dict[str, Any],
    book: Journal | None = None,
    nonce: int | None = None,
    payment: dict[str, Any] | None = None,
    before: Callable[[RecordRow], object] = lambda _row: None,
    **metered: Any,
) -> RecordRow:
    """Sign an interaction as `payer` and journal it; `node`'s account is the operator.
    `metered`: the model, sources, weights, token counts and fee (`unsigned_record`);
    `nonce` makes the record unique (default: the time in nanoseconds); `payment`: the
    x402 payment it is answered for (`Journal.add_record`). `before(row)` runs with the
    record signed and not journaled yet (its id is 0), e.g. to write its credential: if
    it fails, nothing is journaled."""
    book = book or journal()
    dom = domain(node)
    nonce = time.time_ns() if nonce is None else nonce
    rec = unsigned_record(node, payer.address, question=question, answer=answer, nonce=nonce, **metered)
    signed = rec.sign(payer, dom)
    before(RecordRow(0, signed, dom.chain_id, dom.verifying_contract, question, answer, details, rec.timestamp, None))
    return book.add_record(signed, dom.chain_id, dom.verifying_contract, question, answer, details, payment)


def unsigned_record(
    node: Node,
    payer: str,
    *,
    model: int,
    question: str,
    answer: str,
    sources: list[int],
    weights: list[float],
    prompt_tokens: int,
    completion_tokens: int,
    fee: int,
    nonce: int,
) -> InteractionRecord:
    """The record of an answer `node` (the operator) gave `payer`, for the payer to sign."""
    return InteractionRecord(
        payer=payer,
        operator=node.address,
        model=model,
        prompt_hash=sha256(question),
        output_hash=sha256(answer),
        sources=tuple(sources),
        weights=tuple(weights_bps(weights)),
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        fee=fee,
        nonce=nonce,
        timestamp=int(time.time()),
    )


@dataclass(frozen=True)
class Settled:
    """A batch anchored on chain: its id there, and who was paid what (`owed`: into the
    payer's pool, for each asset to credit)."""

    batch: int
    chain_batch_id: int
    root: str
    payer: str
    records: int
    total: int
    commons: int
    operator: int
    owed: dict[int, int]
    gas: int | None
    tx: str | None


def settle(
    node: Node,
    payers: dict[str, LocalAccount],
    *,
    batch_size: int = MAX_BATCH_RECORDS,
    book: Journal | None = None,
) -> list[Settled]:
    """Finish any interrupted batch, then settle every pending record of `payers`.

    `payers` maps address → account: the node can only sign for payers whose
    keys it holds (its own account, or local personas).
    """
    book = book or journal()
    dom = domain(node)
    done = [finish(node, row, payers, book) for row in book.unsettled_batches()]
    for payer in payers.values():
        while records := book.pending(payer.address, dom.chain_id, dom.verifying_contract, batch_size):
            row = _sign_batch(node, payer, records, book)
            done.append(finish(node, row, payers, book))
    return done


def due(node: Node, batch_size: int, max_age_s: int, book: Journal | None = None) -> list[str]:
    """Payers whose pending records fill a batch or have waited longer than `max_age_s`."""
    book = book or journal()
    dom = domain(node)
    now = time.time()
    return [
        payer
        for payer, count, oldest in book.pending_payers(dom.chain_id, dom.verifying_contract)
        if count >= batch_size or now - oldest >= max_age_s
    ]


def finish(node: Node, row: BatchRow, payers: dict[str, LocalAccount], book: Journal) -> Settled:
    """Anchor a journaled batch, unless the chain already did (then just record that)."""
    ledger = node.ledger.functions
    anchored = ledger.batchOfRoot(row.operator, row.root).call()
    if anchored:
        book.mark_settled(row.id, None, anchored)
        return _settled(row, anchored, None, None)
    on_chain_nonce = ledger.batchNonces(row.payer, row.operator).call()
    if on_chain_nonce != row.batch_nonce:
        raise LedgerError(
            f"batch {row.id} was signed with nonce {row.batch_nonce} but the ledger expects "
            f"{on_chain_nonce} for {row.payer} with operator {row.operator}: another process "
            "settles for this node"
        )
    payer = payers.get(row.payer)
    rules = current_rules(node)
    if rules != (row.signed.batch.commons, row.signed.batch.commons_bps, row.signed.batch.operator_bps):
        if payer is None:
            raise LedgerError(
                f"the ledger's split changed since batch {row.id} was signed; only its payer "
                f"{row.payer} can sign it again"
            )
        row = _resign(node, payer, row, book, rules)
    elif row.signed.batch.deadline <= int(time.time()) + 60:
        if payer is None:
            raise LedgerError(f"batch {row.id} expired and only its payer {row.payer} can sign it again")
        signed = _with_deadline(row.signed.batch).sign(payer, domain(node))
        book.resign(row.id, signed)
        row = book.batch(row.id)
    signed = row.signed
    batch = signed.batch
    funds.require(
        node, funds.funds(node, row.payer, None, permit=payer is not None), batch.total,
        f"batch {row.id} ({batch.count} records) costs", "run `tantieme settle` again (its records wait, signed, until then)",
    )
    args = (_batch_struct(batch), row.payer, *_vrs(signed.signature), f"tantieme:batch:{row.root}")
    funded = ledger.deposits(row.payer, row.operator).call() >= batch.total or (
        node.token.functions.allowance(row.payer, node.deployment.ledger).call() >= batch.total
    )
    if funded or payer is None:
        call = ledger.settle(*args)
    else:
        call = ledger.settleWithPermit(*args, *_permit(node, payer, batch.total, batch.deadline))
    try:
        receipt = node.conn.transact(call, gas=_SETTLE_GAS)
    except ChainError:
        anchored = ledger.batchOfRoot(row.operator, row.root).call()
        if not anchored:
            raise
        book.mark_settled(row.id, None, anchored)
        return _settled(row, anchored, None, None)
    (event,) = node.ledger.events.BatchSettled().process_receipt(receipt, errors=DISCARD)
    chain_batch_id = event["args"]["batch_id"]
    tx = receipt["transactionHash"].to_0x_hex()
    book.mark_settled(row.id, tx, chain_batch_id)
    return _settled(row, chain_batch_id, receipt["gasUsed"], tx)


def current_rules(node: Node) -> tuple[str, int, int]:
    """The ledger's current split: (commons pool, commons bps, operator bps)."""
    ledger = node.ledger.functions
    return ledger.commons().call(), ledger.commons_bps().call(), ledger.operator_bps().call()


def known_batches(previous: BatchRow | None) -> int:
    """How many batches of a pool the chain should have anchored, by the journal whose latest is `previous`."""
    if previous is None:
        return 0
    return previous.batch_nonce + (1 if previous.status == "settled" else 0)


def next_batch_nonce(node: Node, payer: str, previous: BatchRow | None) -> int:
    """The nonce of the pool's next batch on chain. Refuses when the chain anchored batches of
    this pool that the journal does not know (an older journal, restored or started afresh):
    its pending records may be paid already, and the pool's cumulative amounts would fall
    behind what the assets have credited."""
    on_chain = node.ledger.functions.batchNonces(payer, node.address).call()
    known = known_batches(previous)
    if on_chain > known:
        raise LedgerError(
            f"the ledger anchored {_batches(on_chain)} of {payer} with operator {node.address} but "
            f"this node's journal knows {known}: the journal is older than the chain (restored from an older "
            "backup?), and settling could charge again for records already paid. Restore the newest "
            "backup (`tantieme restore FILE --force`); `tantieme doctor` checks it"
        )
    return on_chain


def _batches(n: int) -> str:
    return f"{n} batch" if n == 1 else f"{n} batches"


def _sign_batch(node: Node, payer: LocalAccount, records: list[RecordRow], book: Journal) -> BatchRow:
    signed_records = [r.signed for r in records]
    tree = record_tree(signed_records)
    dom = domain(node)
    previous = book.previous_in_pool(payer.address, node.address, dom.chain_id, dom.verifying_contract)
    nonce = next_batch_nonce(node, payer.address, previous)
    batch, owed, cumulative = _batch(
        node, [s.record for s in signed_records], tree.root, nonce, previous, current_rules(node)
    )
    signed = batch.sign(payer, dom)
    return book.add_batch(
        signed, payer.address, dom.chain_id, dom.verifying_contract, tree.dump(), [r.id for r in records],
        owed, cumulative,
    )


def _batch(
    node: Node, records: list[InteractionRecord], root: str | bytes, nonce: int, previous: BatchRow | None,
    rules: tuple[str, int, int],
) -> tuple[Batch, dict[int, int], dict[int, int]]:
    """A batch of `records` under `rules`, after the pool's `previous` batch: (batch, owed, cumulative)."""
    return batch_of(
        net(records, rules[1], rules[2]), root, len(records), nonce, node.address,
        previous.cumulative if previous is not None else {}, rules, int(time.time()) + BATCH_DEADLINE_S,
    )


def batch_of(
    netted: Netted, root: str | bytes, count: int, nonce: int, operator: str, previous: dict[int, int],
    rules: tuple[str, int, int], deadline: int,
) -> tuple[Batch, dict[int, int], dict[int, int]]:
    """The batch of `count` records (under the Merkle `root`), `netted` under `rules`
    (commons pool, commons bps, operator bps), with `operator`, on top of the pool's
    `previous` cumulative amounts: (batch, what it owes each asset, the pool's cumulative
    amounts after it)."""
    owed = netted.owed()
    cumulative = dict(previous)
    for asset, amount in owed.items():
        cumulative[asset] = cumulative.get(asset, 0) + amount
    commons, commons_bps, operator_bps = rules
    batch = Batch(
        root=root,
        count=count,
        batch_nonce=nonce,
        operator=operator,
        commons=commons,
        commons_bps=commons_bps,
        operator_bps=operator_bps,
        assets_root=asset_root(cumulative) if cumulative else bytes(32),
        total=netted.total,
        deadline=deadline,
    )
    return batch, owed, cumulative


def _resign(node: Node, payer: LocalAccount, row: BatchRow, book: Journal, rules: tuple[str, int, int]) -> BatchRow:
    """Sign a journaled batch again under the ledger's current split: the same records,
    root and nonce, the amounts that split gives."""
    dom = domain(node)
    previous = book.previous_in_pool(row.payer, row.operator, dom.chain_id, dom.verifying_contract, before=row.id)
    records = [r.signed.record for r in book.batch_records(row.id)]
    batch, owed, cumulative = _batch(node, records, row.signed.batch.root, row.batch_nonce, previous, rules)
    book.resign(row.id, batch.sign(payer, dom), owed, cumulative)
    return book.batch(row.id)


def _with_deadline(batch: Batch) -> Batch:
    return dataclasses.replace(batch, deadline=int(time.time()) + BATCH_DEADLINE_S)


def _batch_struct(batch: Batch) -> tuple:
    return (
        batch.root, batch.count, batch.batch_nonce, batch.operator, batch.commons, batch.commons_bps,
        batch.operator_bps, batch.assets_root, batch.total, batch.deadline,
    )


def _vrs(signature: bytes) -> tuple[int, bytes, bytes]:
    return signature[64], signature[:32], signature[32:64]


def _permit(node: Node, payer: LocalAccount, value: int, deadline: int) -> tuple:
    """An EIP-2612 permit, signed by `payer`, letting the ledger take `value`."""
    token = node.token.functions
    nonce = token.nonces(payer.address).call()
    v, r, s = sign_permit(payer, token.eip712Domain().call(), node.deployment.ledger, value, nonce, deadline)
    return value, deadline, v, r, s


def _settled(row: BatchRow, chain_batch_id: int, gas: int | None, tx: str | None) -> Settled:
    batch = row.signed.batch
    split = Split.of(batch.total, batch.commons_bps, batch.operator_bps)
    return Settled(
        batch=row.id,
        chain_batch_id=chain_batch_id,
        root=row.root,
        payer=row.payer,
        records=batch.count,
        total=batch.total,
        commons=split.commons,
        operator=split.operator,
        owed=row.owed,
        gas=gas,
        tx=tx,
    )


def claim_dat(node: Node, payer: LocalAccount, row: RecordRow, book: Journal | None = None) -> int:
    """Mint a settled record as an ERC-721 Data Anchoring Token to its payer; returns the token id."""
    from tantieme.ledger.merkle import StandardMerkleTree

    book = book or journal()
    if row.batch_id is None or book.batch(row.batch_id).chain_batch_id is None:
        raise LedgerError(f"record {row.id} is not settled yet: run `tantieme settle` first")
    if payer.address != row.signed.record.payer:
        raise LedgerError(f"record {row.id} belongs to its payer {row.signed.record.payer}")
    batch = book.batch(row.batch_id)
    proof = StandardMerkleTree.load(batch.tree).get_proof(row.signed.leaf())
    rec = row.signed.record
    struct = (
        rec.payer, rec.operator, rec.model, rec.prompt_hash, rec.output_hash, list(rec.sources),
        list(rec.weights), rec.prompt_tokens, rec.completion_tokens, rec.fee, rec.nonce, rec.timestamp,
    )
    as_payer = node.as_account(payer)
    as_payer.conn.transact(
        as_payer.ledger.functions.claimRecord(batch.chain_batch_id, struct, [bytes.fromhex(p[2:]) for p in proof]),
        gas=400_000,
    )
    return row.signed.token_id
