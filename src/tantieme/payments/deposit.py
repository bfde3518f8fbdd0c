"""Deposit mode: a payer prepays the ledger for one operator, then signs each answer itself.

A frequent payer (a person or an agent on another machine) deposits once with
the `InteractionLedger`, earmarked for one operator (`deposit`; by EIP-2612
permit, so one transaction). For each answer the node sends an *invoice*: the
EIP-712 `Interaction` record it asks the payer to sign (its fee is what the
node metered). The payer signs the record **and** the updated *voucher*: the
`Batch` of all its unsettled records with this operator, this one included
(same batch nonce, a growing root, count, total and cumulative asset tree).
The latest voucher supersedes the previous one, so the node always holds a
batch the payer signed and can settle it whenever it wants, without the payer
online; records settle in batches as in `tantieme.ledger.settlement`, one
transaction per voucher.

Neither side trusts the other:

- the payer (`pay`) signs only a voucher it rebuilt itself from the records it
  signed and kept for the open batch (`pay_kept`: in its journal), and only
  when the node's terms give their count and root (deposit protocol 2: the
  terms carry no records, so they do not grow with the batch); `check_terms`:
  the previous cumulative asset amounts are the router's current root for its
  pool, the split and commons pool are the ledger's current ones, and records
  the node sends (`records=all`, when the count or root differ) are signed by
  it, for this operator, under the current batch nonce, and ones it kept
  (`recover`); the voucher's total is their fees' sum and the asset amounts
  their netting (`tantieme.ledger.netting`), and it signs only an invoice for
  its own question and the answer it received, at most the fee it accepts;
- the node (`accept`) takes a record only if it is the invoice it issued (so
  the fee is the metered one, the operator this node, the nonce unused), signed
  by its payer, with a voucher that is exactly the open batch plus this record,
  signed by the payer, leaving the node time to settle it, and covered by the
  payer's deposit with this node minus its pending withdrawal.

Record nonces carry the batch nonce in their high 128 bits: a record can only
be paid in the batch it was signed for, so no voucher can charge a settled
record again. A withdrawal waits `WITHDRAWAL_DELAY` (two days), longer than a
voucher's deadline (at most a day), so a node that settles its vouchers before
their deadline is always paid. SPEC.md has the threat model.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eth_abi import encode as abi_encode
from eth_account.signers.local import LocalAccount
from eth_hash.auto import keccak

from tantieme.assets.royalties import format_amount
from tantieme.chain.permit import sign_permit, sign_receive_authorization
from tantieme.errors import InvoiceExpiredError, LedgerError, PaymentError
from tantieme.ledger import settlement
from tantieme.ledger.journal import InvoiceRow, Journal, RecordRow, VoucherRow
from tantieme.ledger.merkle import SortedLeaves, root_of_leaf_hashes
from tantieme.ledger.netting import Netting
from tantieme.ledger.records import (
    Batch,
    Domain,
    InteractionRecord,
    SignedBatch,
    SignedRecord,
    asset_tree,
    record_leaf_hash,
    record_tree,
)
from tantieme.ledger.settlement import BATCH_DEADLINE_S, Settled, batch_of, domain, sha256
from tantieme.node import Node

log = logging.getLogger("tantieme.payments")

WITHDRAWAL_DELAY_S = 2 * 86_400
"""`InteractionLedger.WITHDRAWAL_DELAY`: longer than any voucher's deadline."""

MIN_VOUCHER_LIFE_S = 3_600
"""A voucher must leave the node at least this long to settle it."""

MAX_VOUCHER_LIFE_S = BATCH_DEADLINE_S + 300
"""And run out within a day (and a few minutes of clock skew): before any withdrawal
requested after it was signed is ready."""

SETTLE_MARGIN_S = 2 * 3_600
"""`due` settles a voucher this long before its deadline, or a pending withdrawal's."""

MAX_UNPAID = 1
"""Answers a payer may hold unsigned: the node's risk is one answer's fee."""

INVOICE_TTL_S = 3_600
"""An invoice not signed within this long after its answer expires: the node no longer takes
payment for it (a late signature is refused), forgets it, and the payer may ask again. So the
node risks one answer's fee per payer and hour, and keeps no invoice longer."""

_NONCE_SHIFT = 128
_GAS = 200_000


def authorization_nonce(operator: str, salt: bytes) -> bytes:
    """The EIP-3009 nonce of a deposit by authorization: `keccak256(abi.encode(operator, salt))`,
    so the payer's signature names the operator its tokens are earmarked for."""
    return keccak(abi_encode(["address", "bytes32"], [operator, salt]))


def record_nonce(batch_nonce: int) -> int:
    """A fresh record nonce for the batch `batch_nonce`: the batch nonce in the high 128 bits."""
    return (batch_nonce << _NONCE_SHIFT) | secrets.randbits(_NONCE_SHIFT)


def batch_nonce_of(record: InteractionRecord) -> int:
    """The batch a deposit-mode record may be paid in."""
    return record.nonce >> _NONCE_SHIFT


# -- what both sides agree on ---------------------------------------------------


PROTOCOL = 2
"""The deposit protocol of the terms: 2 sends the open batch's count and root, not its
records (the payer keeps those it signed); 1, before, sent them all with every answer."""

NO_ROOT = bytes(32)
"""The root of an empty open batch, as the terms give it."""


@dataclass(frozen=True)
class Terms:
    """What a payer needs to sign its next record and voucher with a node.

    `rules` is the split (commons pool, commons bps, operator bps); `count` and
    `root` the open batch so far (`NO_ROOT` when empty), which the payer compares
    with the records it kept; `previous` the pool's cumulative amount per asset
    before it (its last settled batch's); `invoices` the answers waiting for the
    payer's signature. `records`, the open batch's signed records, only when asked
    for (`Desk.terms(payer, records=True)`): a payer that lost them, or whose
    records the node's count or root no longer match, checks them all (`recover`).
    """

    domain: Domain
    payer: str
    operator: str
    rules: tuple[str, int, int]
    batch_nonce: int
    count: int
    root: bytes
    previous: dict[int, int]
    invoices: tuple[InteractionRecord, ...]
    records: tuple[SignedRecord, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        commons, commons_bps, operator_bps = self.rules
        return {
            "protocol": PROTOCOL,
            "domain": self.domain.as_dict() | {"chainId": str(self.domain.chain_id)},
            "payer": self.payer,
            "operator": self.operator,
            "commons": commons,
            "commonsBps": commons_bps,
            "operatorBps": operator_bps,
            "batchNonce": str(self.batch_nonce),
            "count": self.count,
            "root": "0x" + self.root.hex(),
            "previous": {str(a): str(v) for a, v in sorted(self.previous.items())},
            "invoices": [r.to_dict() for r in self.invoices],
            **({} if self.records is None else {"records": [r.to_dict() for r in self.records]}),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Terms:
        if isinstance(data, Mapping) and data.get("protocol") != PROTOCOL:
            raise PaymentError(
                f"the node's deposit terms are of protocol {data.get('protocol', 1)}, this tantieme speaks "
                f"protocol {PROTOCOL} (the node sends the open batch's count and root, the payer keeps its "
                "records): the node's operator must upgrade tantieme, or pay this node per request (x402)"
            )
        try:
            root = bytes.fromhex(data["root"].removeprefix("0x"))
            if len(root) != 32:
                raise ValueError(f"a root of {len(root)} bytes")
            return cls(
                domain=Domain.from_dict(data["domain"]),
                payer=data["payer"],
                operator=data["operator"],
                rules=(data["commons"], int(data["commonsBps"]), int(data["operatorBps"])),
                batch_nonce=int(data["batchNonce"]),
                count=int(data["count"]),
                root=root,
                previous={int(a): int(v) for a, v in data["previous"].items()},
                invoices=tuple(InteractionRecord.from_dict(r) for r in data["invoices"]),
                records=None if "records" not in data else tuple(SignedRecord.from_dict(r) for r in data["records"]),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise PaymentError(f"the node's deposit terms are malformed ({exc!r})") from None


class BatchDiffers(PaymentError):
    """The node's open batch (count, root) is not the records the payer kept: nothing was
    signed; ask the node for the batch's records and check them (`recover`)."""


def root_of(records: Sequence[SignedRecord]) -> bytes:
    """The Merkle root of an open batch of `records` (`NO_ROOT` when there are none)."""
    if not records:
        return NO_ROOT
    return bytes.fromhex(root_of_leaf_hashes([bytes.fromhex(record_leaf_hash(r)[2:]) for r in records])[2:])


@dataclass(frozen=True)
class Payment:
    """A payer's signed record of one answer and its updated voucher."""

    record: SignedRecord
    voucher: SignedBatch

    def to_dict(self) -> dict[str, Any]:
        return {"record": self.record.to_dict(), "voucher": self.voucher.to_dict()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Payment:
        if not isinstance(data, Mapping) or set(data) != {"record", "voucher"}:
            raise PaymentError("a deposit payment is an object with a signed 'record' and a signed 'voucher'")
        return cls(SignedRecord.from_dict(data["record"]), SignedBatch.from_dict(data["voucher"]))


def voucher_of(
    terms: Terms, kept: Sequence[SignedRecord], signed: SignedRecord, deadline: int,
) -> tuple[Batch, dict[int, int], dict[int, int]]:
    """The voucher covering the records `kept` of the open batch of `terms` and the new record
    `signed`: (batch, what it owes each asset, the pool's cumulative amounts after it)."""
    kept = tuple(kept)
    records = [*kept, signed]
    if len({r.digest for r in records}) != len(records):
        raise PaymentError("the open batch holds a record twice (same digest)")
    netting = _netting(terms.rules, kept).copy().add(signed.record)
    _NETTINGS[(terms.rules, tuple(r.digest for r in records))] = netting
    while len(_NETTINGS) > _KEPT:
        _NETTINGS.popitem(last=False)
    return batch_of(
        netting.netted(), root_of(records), len(records), terms.batch_nonce, terms.operator, terms.previous,
        terms.rules, deadline,
    )


#: The nettings of the last open batches this process signed vouchers for, by split and
#: records: the next voucher adds one record to one of them (netting the kept batch again
#: would make each answer cost more than the last).
_NETTINGS: OrderedDict[tuple, Netting] = OrderedDict()
_KEPT = 64


def _netting(rules: tuple[str, int, int], records: tuple[SignedRecord, ...]) -> Netting:
    known = _NETTINGS.get((rules, tuple(r.digest for r in records)))
    if known is not None:
        return known
    netting = Netting(rules[1], rules[2])
    for signed in records:
        netting.add(signed.record)
    return netting


@functools.lru_cache(maxsize=2 * settlement.MAX_BATCH_RECORDS)
def _signed(signed: SignedRecord, dom: Domain) -> bool:
    """`signed.verify(dom)`, cached (for two full batches: a few tens of MB at most): a payer
    recovering its open batch checks the node's records."""
    return signed.verify(dom)


# -- the payer's side ----------------------------------------------------------


def check_terms(node: Node, payer: str, terms: Terms) -> None:
    """Refuse terms that would let the node charge `payer` for anything it did not sign:
    checked against the chain (`node`: the payer's own connection) and its signatures."""
    expected = domain(node)
    if terms.domain != expected:
        raise PaymentError(
            f"the node signs for ledger {terms.domain.verifying_contract} on chain {terms.domain.chain_id}, "
            f"not this chain's ledger {expected.verifying_contract} on chain {expected.chain_id}"
        )
    if terms.payer != payer:
        raise PaymentError(f"the node's terms are for {terms.payer}, not for {payer}")
    if terms.rules != settlement.current_rules(node):
        raise PaymentError("the node's split or commons pool is not the ledger's current one")
    nonce = node.ledger.functions.batchNonces(payer, terms.operator).call()
    if terms.batch_nonce != nonce:
        raise PaymentError(f"the node's batch nonce is {terms.batch_nonce}, the ledger's {nonce}")
    pool = node.ledger.functions.assetPool(payer, terms.operator).call()
    root = node.router.functions.pools(pool).call()[0]
    previous = asset_tree(terms.previous).root if terms.previous else "0x" + "00" * 32
    if bytes.fromhex(previous[2:]) != bytes(root):
        raise PaymentError(
            "the node's cumulative asset amounts are not the ones this payer last paid (the router's root differs)"
        )
    if terms.records is None:
        return
    for signed in terms.records:
        _check_own(signed.record, terms, "the open batch holds a record")
        if not _signed(signed, terms.domain):
            raise PaymentError(f"the open batch holds a record 0x{signed.digest.hex()} this payer did not sign")
    if len(terms.records) != terms.count or root_of(terms.records) != terms.root:
        raise PaymentError(
            f"the node's open batch is not its {len(terms.records)} records: it claims {terms.count} records under "
            f"root 0x{terms.root.hex()}, they make {len(terms.records)} under 0x{root_of(terms.records).hex()}"
        )


def recover(terms: Terms, kept: Sequence[SignedRecord]) -> tuple[SignedRecord, ...]:
    """The payer's records of the open batch from the node's list of them (`terms` with its
    `records`, checked by `check_terms`): the node's list, if every record in it is one this
    payer kept (`kept`: it signed a voucher over it, so the node may hold it; the node may also
    have lost some, its loss). A payer that kept none (a new home, lost state) takes every record
    signed by it for this node and batch, as `check_terms` checked."""
    if terms.records is None:
        raise PaymentError("the node's terms hold no records to recover the open batch from")
    mine = {r.digest for r in kept}
    foreign = [r for r in terms.records if r.digest not in mine]
    if kept and foreign:
        raise PaymentError(
            f"the node's open batch holds {len(foreign)} record(s) this payer never accepted (0x{foreign[0].digest.hex()}"
            f"{', …' if len(foreign) > 1 else ''}): nothing signed. The node cannot charge them (no voucher of this "
            "payer covers them); if this account also paid this node from another home, pay from that home until "
            "the batch settles, else stop paying this node (`tantieme withdraw --request AMOUNT --operator "
            f"{terms.operator}`)"
        )
    return terms.records


def _check_own(record: InteractionRecord, terms: Terms, what: str) -> None:
    if record.payer != terms.payer or record.operator != terms.operator:
        raise PaymentError(f"{what} of payer {record.payer} with operator {record.operator}")
    if batch_nonce_of(record) != terms.batch_nonce:
        raise PaymentError(
            f"{what} for batch {batch_nonce_of(record)}, not the open batch {terms.batch_nonce} "
            "(a record is paid only in the batch it was signed for)"
        )


def pay(
    node: Node,
    payer: LocalAccount,
    terms: Terms,
    invoice: InteractionRecord,
    *,
    kept: Sequence[SignedRecord],
    question: str,
    answer: str,
    max_fee: int,
    book: Journal | None = None,
) -> Payment:
    """Sign `invoice` (the answer to `question`) and the voucher of the open batch with it.

    `kept` are the records this payer signed for the open batch so far. Checks
    everything first (`check_terms`; that the node's open batch is `kept`, by
    count and root, else `BatchDiffers`; that the invoice is this payer's record
    of this question and answer, for at most `max_fee` token wei); the voucher
    covers `kept` and the invoice, nothing else. Keeps the voucher in the payer's
    journal (`status` reads it).
    """
    check_terms(node, payer.address, terms)
    _check_own(invoice, terms, "the invoice is a record")
    if invoice.prompt_hash != sha256(question) or invoice.output_hash != sha256(answer):
        raise PaymentError("the invoice is not for this question and answer (their hashes differ)")
    if invoice.fee > max_fee:
        raise PaymentError(
            f"the invoice asks {format_amount(invoice.fee)} TAI, more than the {format_amount(max_fee)} TAI accepted"
        )
    if terms.count != len(kept) or terms.root != root_of(kept):
        raise BatchDiffers(
            f"the node's open batch ({terms.count} records, root 0x{terms.root.hex()}) is not the {len(kept)} "
            "records this payer kept: ask the node for them and check them (`recover`)"
        )
    signed = invoice.sign(payer, terms.domain)
    batch, owed, cumulative = voucher_of(terms, kept, signed, int(time.time()) + BATCH_DEADLINE_S)
    voucher = batch.sign(payer, terms.domain)
    if book is not None:
        book.put_voucher(_voucher_row(terms, voucher, owed, cumulative))
    return Payment(signed, voucher)


def pay_kept(
    node: Node,
    payer: LocalAccount,
    store: Journal,
    fetch: Callable[..., Terms],
    invoice: InteractionRecord,
    *,
    question: str,
    answer: str,
    max_fee: int,
    book: Journal | None = None,
) -> Payment:
    """`pay` over the records `payer` kept in `store` (its journal), with the node's terms
    (`fetch(records=False)`); when they differ from the records kept, once more with the
    node's records (`fetch(records=True)`), taken if `recover` allows. The new record is kept
    before the payment leaves (once a voucher covers it the node may hold it; if the node
    refuses it, the next terms differ and the node's list settles it)."""
    terms = fetch(records=False)
    key = (terms.payer, terms.operator, terms.domain.chain_id, terms.domain.verifying_contract)
    signing = {"question": question, "answer": answer, "max_fee": max_fee, "book": book}
    kept = _kept(store, key, terms.batch_nonce)
    try:
        payment = pay(node, payer, terms, invoice, kept=kept, **signing)
    except BatchDiffers:  # this payer's state lost, or the node's: check the node's records
        terms = fetch(records=True)
        check_terms(node, payer.address, terms)
        kept = list(recover(terms, _kept(store, key, terms.batch_nonce)))
        _remember(store, key, terms.batch_nonce, store.keep_records(*key, terms.batch_nonce, kept, replace=True), kept)
        payment = pay(node, payer, terms, invoice, kept=kept, **signing)
    mark = store.keep_records(*key, terms.batch_nonce, [payment.record])
    _remember(store, key, terms.batch_nonce, mark, [*kept, payment.record])
    return payment


#: The records payers kept, as this process last read or wrote them, by journal, payer,
#: operator, chain, ledger and batch: (their `kept_mark`, the records). A payer's next answer
#: reads its journal again only if the mark moved (another process kept or dropped records).
_KEPT_READ: OrderedDict[tuple, tuple[tuple[int, int], list[SignedRecord]]] = OrderedDict()


def _kept(store: Journal, key: tuple[str, str, int, str], batch_nonce: int) -> list[SignedRecord]:
    mark = store.kept_mark(*key, batch_nonce)
    known = _KEPT_READ.get((store.path, *key, batch_nonce))
    if known is not None and known[0] == mark:
        return list(known[1])
    records = store.kept_records(*key, batch_nonce)
    _remember(store, key, batch_nonce, mark, records)
    return records


def _remember(store: Journal, key: tuple, batch_nonce: int, mark: tuple[int, int], records: list[SignedRecord]) -> None:
    _KEPT_READ[(store.path, *key, batch_nonce)] = (mark, list(records))
    _KEPT_READ.move_to_end((store.path, *key, batch_nonce))
    while len(_KEPT_READ) > _KEPT:
        _KEPT_READ.popitem(last=False)


def _voucher_row(terms: Terms, voucher: SignedBatch, owed: dict[int, int], cumulative: dict[int, int]) -> VoucherRow:
    return VoucherRow(
        payer=terms.payer, operator=terms.operator, chain_id=terms.domain.chain_id,
        ledger=terms.domain.verifying_contract, signed=voucher, owed=owed, cumulative=cumulative,
        updated_at=int(time.time()),
    )


# -- the node's side -------------------------------------------------------------


@dataclass(frozen=True)
class Credit:
    """A payer's standing with an operator, in token wei.

    `withdrawing` is its pending withdrawal (payable from `ready_at`, unix
    seconds), `vouchered` the total of its latest unsettled voucher and
    `invoiced` the fees of answers it has not signed yet.
    """

    payer: str
    operator: str
    deposit: int
    withdrawing: int
    ready_at: int
    vouchered: int
    invoiced: int
    unpaid: int
    """How many answers wait for the payer's signature."""

    @property
    def available(self) -> int:
        """What the node may still serve on credit: the deposit it can count on, less what is owed."""
        return max(0, self.deposit - self.withdrawing - self.vouchered - self.invoiced)


def credit(node: Node, payer: str, book: Journal, operator: str) -> Credit:
    """`payer`'s deposit with `operator` and its latest voucher in `book`, unless settled:
    what the payer's own machine knows of its standing (the node's: `Desk.standing`)."""
    dom = domain(node)
    ledger = node.ledger.functions
    withdrawing, ready_at = ledger.withdrawals(payer, operator).call()
    voucher = book.voucher(payer, operator, dom.chain_id, dom.verifying_contract)
    if voucher is not None and ledger.batchNonces(payer, operator).call() > voucher.signed.batch.batch_nonce:
        voucher = None  # settled
    return Credit(
        payer=payer, operator=operator, deposit=ledger.deposits(payer, operator).call(), withdrawing=withdrawing,
        ready_at=ready_at, vouchered=voucher.signed.batch.total if voucher is not None else 0, invoiced=0, unpaid=0,
    )


@dataclass
class _Chain:
    """What the ledger says of a payer with this operator, as last read."""

    deposit: int
    withdrawing: int
    ready_at: int
    batch_nonce: int
    read_at: float


@dataclass
class _Open:
    """A payer's open batch: its records, their leaf hashes and running netting."""

    batch_nonce: int
    records: list[RecordRow]
    leaves: SortedLeaves
    netting: Netting
    previous: dict[int, int]
    vouchered: int


class Desk:
    """The node's side of deposit mode, over its journal: credit checks, invoices, the
    payer's signed records and vouchers, and their settlement.

    One per node process (the server keeps one; it is not thread-safe: call it from
    one thread). It caches what the chain says of each payer for `ttl_s` seconds,
    which is safe: only this operator's settlements lower a deposit earmarked for it,
    and a withdrawal waits two days. Its own settlements refresh the cache.
    """

    def __init__(self, node: Node, book: Journal, *, ttl_s: float = 10.0) -> None:
        self.node, self.book, self.ttl_s = node, book, ttl_s
        self.domain = domain(node)
        self._rules: tuple[tuple[str, int, int], float] | None = None
        self._chain: dict[str, _Chain] = {}
        self._open: dict[str, _Open] = {}

    # -- what the chain says, cached

    def rules(self) -> tuple[str, int, int]:
        """The ledger's split (commons pool, commons bps, operator bps)."""
        if self._rules is None or time.monotonic() - self._rules[1] > self.ttl_s:
            self._rules = (settlement.current_rules(self.node), time.monotonic())
        return self._rules[0]

    def _on_chain(self, payer: str) -> _Chain:
        known = self._chain.get(payer)
        if known is None or time.monotonic() - known.read_at > self.ttl_s:
            ledger = self.node.ledger.functions
            operator = self.node.address
            withdrawing, ready_at = ledger.withdrawals(payer, operator).call()
            known = self._chain[payer] = _Chain(
                ledger.deposits(payer, operator).call(), withdrawing, ready_at,
                ledger.batchNonces(payer, operator).call(), time.monotonic(),
            )
        return known

    def _open_batch(self, payer: str) -> _Open:
        nonce = self._on_chain(payer).batch_nonce
        state = self._open.get(payer)
        if state is None or state.batch_nonce != nonce:
            dom = self.domain
            rows = self.book.open_records(payer, dom.chain_id, dom.verifying_contract)
            rules = self.rules()
            netting = Netting(rules[1], rules[2])
            for row in rows:
                netting.add(row.signed.record)
            previous = self.book.previous_in_pool(payer, self.node.address, dom.chain_id, dom.verifying_contract)
            if nonce > settlement.known_batches(previous):
                settlement.next_batch_nonce(self.node, payer, previous)  # says why and what to do
            voucher = self.book.voucher(payer, self.node.address, dom.chain_id, dom.verifying_contract)
            state = self._open[payer] = _Open(
                batch_nonce=nonce,
                records=rows,
                leaves=SortedLeaves([record_leaf_hash(r.signed) for r in rows]),
                netting=netting,
                previous=dict(previous.cumulative) if previous is not None else {},
                vouchered=voucher.signed.batch.total if voucher is not None else 0,
            )
        return state

    # -- before an answer

    def standing(self, payer: str) -> Credit:
        """`payer`'s deposit with this node and what it owes it."""
        chain = self._on_chain(payer)
        invoices = self.waiting(payer)
        return Credit(
            payer=payer, operator=self.node.address, deposit=chain.deposit, withdrawing=chain.withdrawing,
            ready_at=chain.ready_at, vouchered=self._open_batch(payer).vouchered,
            invoiced=sum(i.record.fee for i in invoices.values()), unpaid=len(invoices),
        )

    def require_credit(self, payer: str, amount: int) -> Credit:
        """Refuse to answer `payer` (`amount`: the most the answer may cost) unless its deposit
        with this node covers it on top of what it owes, and it signed its earlier answers."""
        standing = self.standing(payer)
        if standing.unpaid >= MAX_UNPAID:
            raise PaymentError(
                f"the payer {payer} has {standing.unpaid} answer(s) to sign first: sign the invoice, then ask again"
            )
        if standing.available < amount:
            raise PaymentError(
                f"this answer may cost up to {format_amount(amount)} TAI, but the payer {payer} has "
                f"{format_amount(standing.available)} TAI of credit with this node (deposit "
                f"{format_amount(standing.deposit)}, withdrawing {format_amount(standing.withdrawing)}, unsettled "
                f"{format_amount(standing.vouchered)}): deposit more (`tantieme deposit AMOUNT --operator "
                f"{self.node.address}`), then ask again"
            )
        return standing

    # -- an answer: the invoice, then the payer's signatures

    def terms(self, payer: str, *, records: bool = False) -> Terms:
        """The terms this node offers `payer` now: its open batch (count and root; its signed
        records too with `records`) and waiting invoices."""
        state = self._open_batch(payer)
        dom = self.domain
        return Terms(
            domain=dom,
            payer=payer,
            operator=self.node.address,
            rules=self.rules(),
            batch_nonce=state.batch_nonce,
            count=len(state.records),
            root=bytes.fromhex(state.leaves.root[2:]) if state.records else NO_ROOT,
            previous=dict(state.previous),
            invoices=tuple(i.record for i in self.waiting(payer).values()),
            records=tuple(r.signed for r in state.records) if records else None,
        )

    def waiting(self, payer: str, *, now: int | None = None) -> dict[str, InvoiceRow]:
        """`payer`'s invoices waiting for its signature, by digest; those expired are forgotten."""
        dom = self.domain
        invoices = self.book.invoices(payer, dom.chain_id, dom.verifying_contract)
        cutoff = (int(time.time()) if now is None else now) - INVOICE_TTL_S
        expired = [digest for digest, row in invoices.items() if row.created_at < cutoff]
        if expired:
            self._expire(expired, [invoices[d] for d in expired])
        return {digest: row for digest, row in invoices.items() if digest not in expired}

    def expire(self, *, now: int | None = None) -> int:
        """Forget every payer's invoices not signed in time (`INVOICE_TTL_S`); how many."""
        dom = self.domain
        cutoff = (int(time.time()) if now is None else now) - INVOICE_TTL_S
        expired = self.book.expired_invoices(dom.chain_id, dom.verifying_contract, cutoff)
        if expired:
            self._expire(list(expired), list(expired.values()))
        return len(expired)

    def _expire(self, digests: list[str], rows: list[InvoiceRow]) -> None:
        self.book.drop_invoices(digests)
        for digest, row in zip(digests, rows, strict=True):
            log.warning("invoice %s of %s for %s TAI expired unsigned: the node no longer takes payment for it",
                        digest, row.record.payer, format_amount(row.record.fee))

    def invoice(self, payer: str, *, question: str, answer: str, details: dict[str, Any], **metered: Any) -> InteractionRecord:
        """Journal the record of an answer for `payer` to sign. `metered`: the model, sources,
        weights, token counts and fee this node metered (`settlement.unsigned_record`)."""
        dom = self.domain
        record = settlement.unsigned_record(
            self.node, payer, question=question, answer=answer, nonce=record_nonce(self._on_chain(payer).batch_nonce),
            **metered,
        )
        self.book.add_invoice(record, record.digest(dom), dom.chain_id, dom.verifying_contract, question, answer, details)
        return record

    def accept(
        self, payment: Payment, *, now: int | None = None, before: Callable[[RecordRow], object] = lambda _row: None,
    ) -> RecordRow:
        """Check a payer's signed record and voucher and journal them; the record is then
        paid for, whenever the node settles the voucher (`settle`). `before(row)` runs once
        both are checked, with the record not journaled yet (its id is 0), e.g. to write the
        answer's credential: if it fails, nothing is journaled and the invoice still waits."""
        now = int(time.time()) if now is None else now
        dom = self.domain
        signed, voucher = payment.record, payment.voucher
        record = signed.record
        payer = record.payer
        if record.operator != self.node.address:
            raise PaymentError(f"the record names operator {record.operator}, not this node {self.node.address}")
        if not signed.verify(dom):
            raise PaymentError(f"the record's signature is not its payer's ({payer}) in this ledger's domain")
        digest = "0x" + signed.digest.hex()
        invoice_row = self.book.invoice(digest)
        if invoice_row is None:
            try:
                self.book.record(digest)
            except LedgerError:
                if record.timestamp < now - INVOICE_TTL_S:
                    raise self._expired(record, now) from None
                raise PaymentError(
                    "this node invoiced no such record: sign the invoice exactly as sent "
                    "(fetch the terms again if the batch settled meanwhile)"
                ) from None
            raise PaymentError(f"record {digest} is paid already (its nonce is used)")
        if invoice_row.created_at < now - INVOICE_TTL_S:
            self._expire([digest], [invoice_row])
            raise self._expired(record, now)
        if not voucher.verify(dom, payer):
            raise PaymentError(f"the voucher is not signed by the record's payer {payer}")
        batch = voucher.batch
        if not now + MIN_VOUCHER_LIFE_S <= batch.deadline <= now + MAX_VOUCHER_LIFE_S:
            raise PaymentError(
                f"the voucher's deadline must be between {MIN_VOUCHER_LIFE_S // 3600} hour and "
                f"{BATCH_DEADLINE_S // 3600} hours away, so the node can settle it before any withdrawal"
            )
        state = self._open_batch(payer)
        netting = state.netting.copy().add(record)
        leaves = state.leaves.with_leaf(record_leaf_hash(signed))
        expected, owed, cumulative = batch_of(
            netting.netted(), leaves.root, netting.count, state.batch_nonce, self.node.address,
            state.previous, self.rules(), batch.deadline,
        )
        if batch != expected:
            wrong = [f for f in Batch.__dataclass_fields__ if getattr(batch, f) != getattr(expected, f)]
            raise PaymentError(
                f"the voucher is not the open batch with this record (its {', '.join(wrong)} differ): "
                "fetch the terms again and sign the voucher they give"
            )
        chain = self._on_chain(payer)
        covered = chain.deposit - chain.withdrawing
        if batch.total > covered:
            raise PaymentError(
                f"the voucher's total {format_amount(batch.total)} TAI exceeds the payer's deposit with this node "
                f"less its pending withdrawal ({format_amount(max(0, covered))} TAI): deposit more"
            )
        before(RecordRow(0, signed, dom.chain_id, dom.verifying_contract, invoice_row.question, invoice_row.answer,
                         invoice_row.details, record.timestamp, None))
        row = self.book.add_paid_record(
            signed,
            VoucherRow(
                payer=payer, operator=self.node.address, chain_id=dom.chain_id, ledger=dom.verifying_contract,
                signed=voucher, owed=owed, cumulative=cumulative, updated_at=now,
            ),
            invoice_row.question, invoice_row.answer, invoice_row.details, open_records=len(state.records),
        )
        state.records.append(row)
        state.leaves = leaves
        state.netting = netting
        state.vouchered = batch.total
        return row

    @staticmethod
    def _expired(record: InteractionRecord, now: int) -> InvoiceExpiredError:
        late = _duration(now - record.timestamp - INVOICE_TTL_S)
        return InvoiceExpiredError(
            f"this invoice expired {late} ago: the node takes payment for an answer only within "
            f"{_duration(INVOICE_TTL_S)} of it, and no longer for this one (nothing is charged); ask again"
        )

    # -- settling

    def due(self, *, batch_size: int, max_age_s: int, now: int | None = None) -> list[VoucherRow]:
        """Vouchers to settle now: full, old, near their deadline, or their payer asked to withdraw."""
        now = int(time.time()) if now is None else now
        dom = self.domain
        self.expire(now=now)
        return [
            voucher
            for voucher in self.book.vouchers(self.node.address, dom.chain_id, dom.verifying_contract)
            if voucher.signed.batch.count >= batch_size
            or now - voucher.updated_at >= max_age_s
            or voucher.signed.batch.deadline - now <= SETTLE_MARGIN_S
            or self._on_chain(voucher.payer).withdrawing
        ]

    def settle(self, vouchers: list[VoucherRow] | None = None) -> list[Settled]:
        """Settle the latest voucher of each payer (or `vouchers`): one transaction each, from
        the payer's deposit with this node; waiting invoices move to the next batch."""
        dom = self.domain
        if vouchers is None:
            vouchers = self.book.vouchers(self.node.address, dom.chain_id, dom.verifying_contract)
        self._rules = None
        rules = self.rules()
        done = []
        for voucher in vouchers:
            batch = voucher.signed.batch
            if (batch.commons, batch.commons_bps, batch.operator_bps) != rules:
                continue  # signed under an old split: the payer's next voucher carries the new one
            records = self.book.open_records(voucher.payer, dom.chain_id, dom.verifying_contract)
            tree = record_tree([r.signed for r in records])
            if bytes.fromhex(tree.root[2:]) != batch.root:
                raise LedgerError(f"the journal's open records of {voucher.payer} are not its voucher's")
            row = self.book.close_voucher(voucher, tree.dump(), [r.id for r in records])
            try:
                done.append(settlement.finish(self.node, row, {}, self.book))
            finally:
                self._chain.pop(voucher.payer, None)
                self._open.pop(voucher.payer, None)
            self.reissue_invoices(voucher.payer)
        return done

    def reissue_invoices(self, payer: str) -> None:
        """Give invoices of a settled batch a nonce of the next one (the payer had not signed them;
        another process's settlement, or this desk's cache of the chain, may have left some)."""
        dom = self.domain
        nonce = self._on_chain(payer).batch_nonce
        for digest, row in self.book.invoices(payer, dom.chain_id, dom.verifying_contract).items():
            if batch_nonce_of(row.record) < nonce:
                fresh = dataclasses.replace(row.record, nonce=record_nonce(nonce))
                self.book.reissue_invoice(digest, fresh, fresh.digest(dom))


# -- the payer's deposit on chain -------------------------------------------------


def deposit(node: Node, amount: int, operator: str | None = None) -> str:
    """Deposit `amount` token wei from this node's account for `operator` (default: this
    node) in one transaction (an EIP-2612 permit of the ledger); returns the transaction hash."""
    operator = operator or node.address
    if amount <= 0:
        raise PaymentError("a deposit must be more than 0 TAI")
    balance = node.balance()
    if balance < amount:
        raise PaymentError(
            f"{node.address} holds {format_amount(balance)} TAI, less than the {format_amount(amount)} TAI to deposit"
        )
    token = node.token.functions
    deadline = int(time.time()) + 3_600
    v, r, s = sign_permit(
        node.account, token.eip712Domain().call(), node.deployment.ledger, amount,
        token.nonces(node.address).call(), deadline,
    )
    receipt = node.conn.transact(
        node.ledger.functions.depositWithPermit(operator, amount, deadline, v, r, s), gas=_GAS
    )
    return receipt["transactionHash"].to_0x_hex()


@dataclass(frozen=True)
class DepositAuthorization:
    """A payer's EIP-3009 `ReceiveWithAuthorization` of a deposit for an operator, which
    anyone (the node, say) may submit: the payer needs no gas and no approval."""

    payer: str
    operator: str
    amount: int
    valid_before: int
    salt: bytes
    signature: tuple[int, bytes, bytes]

    def to_dict(self) -> dict[str, Any]:
        v, r, s = self.signature
        return {
            "payer": self.payer, "operator": self.operator, "amount": str(self.amount),
            "validBefore": str(self.valid_before), "salt": "0x" + self.salt.hex(),
            "signature": "0x" + (r + s + bytes([v])).hex(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DepositAuthorization:
        try:
            signature = bytes.fromhex(data["signature"][2:])
            return cls(
                payer=data["payer"], operator=data["operator"], amount=int(data["amount"]),
                valid_before=int(data["validBefore"]), salt=bytes.fromhex(data["salt"][2:]),
                signature=(signature[64], signature[:32], signature[32:64]),
            )
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise PaymentError(f"the deposit authorization is malformed ({exc!r})") from None


def authorize_deposit(node: Node, amount: int, operator: str, valid_s: int = 3_600) -> DepositAuthorization:
    """Sign, as this node's account, a deposit of `amount` token wei for `operator`."""
    salt = secrets.token_bytes(32)
    valid_before = int(time.time()) + valid_s
    signature = sign_receive_authorization(
        node.account, node.token.functions.eip712Domain().call(), node.deployment.ledger, amount, 0,
        valid_before, authorization_nonce(operator, salt),
    )
    return DepositAuthorization(node.address, operator, amount, valid_before, salt, signature)


def submit_deposit(node: Node, authorization: DepositAuthorization) -> str:
    """Submit a payer's signed deposit (any account may); returns the transaction hash."""
    a = authorization
    call = node.ledger.functions.depositWithAuthorization(
        a.payer, a.operator, a.amount, 0, a.valid_before, a.salt, *a.signature
    )
    return node.conn.transact(call, gas=_GAS)["transactionHash"].to_0x_hex()


def request_withdrawal(node: Node, amount: int, operator: str | None = None) -> int:
    """Ask to take back `amount` token wei of the deposit with `operator`; returns when
    (unix seconds) `withdraw` can take it."""
    operator = operator or node.address
    held = node.ledger.functions.deposits(node.address, operator).call()
    if not 0 < amount <= held:
        raise PaymentError(
            f"the deposit of {node.address} with {operator} is {format_amount(held)} TAI: "
            f"request between 0 and that, not {format_amount(amount)} TAI"
        )
    node.conn.transact(node.ledger.functions.requestWithdrawal(operator, amount), gas=_GAS)
    return node.ledger.functions.withdrawals(node.address, operator).call()[1]


def withdraw(node: Node, operator: str | None = None) -> int:
    """Take back the requested withdrawal once its delay has passed; returns the amount (token
    wei): what was requested, or what settlements left of the deposit."""
    operator = operator or node.address
    ledger = node.ledger.functions
    amount, ready_at = ledger.withdrawals(node.address, operator).call()
    if amount == 0:
        raise PaymentError(
            f"no withdrawal requested from the deposit with {operator}: run `tantieme withdraw --request AMOUNT` first"
        )
    now = node.conn.w3.eth.get_block("latest")["timestamp"]
    if now < ready_at:
        raise PaymentError(
            f"the withdrawal of {format_amount(amount)} TAI is ready in {_duration(ready_at - now)} "
            f"(at {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(ready_at))}): run `tantieme withdraw` then"
        )
    held = ledger.deposits(node.address, operator).call()
    node.conn.transact(ledger.withdraw(operator), gas=_GAS)
    return min(amount, held)


def _duration(seconds: int) -> str:
    hours, rest = divmod(seconds, 3_600)
    return f"{hours} h {rest // 60} min" if hours else f"{max(1, rest // 60)} min"
