"""Feedback from a paying client: ERC-8004 reputation that only paid, settled answers earn.

    done = give_feedback(client, bundle, "90", tag1="answer")

`bundle` is the answer's record bundle (`tantieme export` on the node, or its `GET
/records/ID`) once the node settled the record's batch. The client proves its payment
to the reputation registry (`provePayment`: the record, the batch, its Merkle proof
and, for an x402 payment, the authorization nonce the record binds), then gives its
feedback (`giveFeedback`, `feedbackHash` = the record's digest): one feedback per paid
answer, only by the account that paid it. Every call is simulated before it is sent,
so a refusal costs no gas and says why; a payment proved by a run that stopped before
its feedback is not proved again.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tantieme.chain.logs import event_logs
from tantieme.errors import ChainError, InputError, LedgerError, PaymentError

if TYPE_CHECKING:
    from web3.contract.contract import ContractFunction

    from tantieme.node import Node

__all__ = ["Feedback", "give_feedback", "parse_value"]

# `agent_reputation.vy`'s bounds: |value| (as the reference), decimals, tags, endpoint and URI (bytes).
MAX_ABS_VALUE = 10**38
MAX_DECIMALS = 18
MAX_TAG = 64
MAX_URI = 512
_VALUE = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")
_PROVE_GAS = 400_000
_FEEDBACK_GAS = 500_000
# What a treasury's `rate` adds to a rating call: the forwarding, at most (`bench/gas.py`).
_RATE_GAS = 30_000


@dataclass(frozen=True)
class Feedback:
    """A feedback given on chain, and the paid answer it rates."""

    agent_id: int
    client: str
    record: str
    """The rated record's digest (the feedback's `feedbackHash`)."""
    batch_id: int
    value: int
    decimals: int
    tag1: str
    tag2: str
    index: int
    """The client's feedback index for this agent (from 1)."""
    prove_tx: str | None
    """The `provePayment` transaction; None when an earlier run proved the payment."""
    feedback_tx: str
    gas: int


def parse_value(text: str) -> tuple[int, int]:
    """A feedback value as ERC-8004 stores it: (value, decimals), `4.5` → (45, 1)."""
    text = text.strip()
    if not _VALUE.match(text):
        raise InputError(f"{text!r} is not a feedback value: give a plain decimal number, e.g. 90 or 4.5")
    whole, _, fraction = text.lstrip("-").partition(".")
    if len(fraction) > MAX_DECIMALS:
        raise InputError(f"{text} has {len(fraction)} decimals: at most {MAX_DECIMALS}")
    value = int(whole + fraction) * (-1 if text.startswith("-") else 1)
    if abs(value) > MAX_ABS_VALUE:
        raise InputError(f"{text} is too large for a feedback value (at most 1e38 in its last decimal)")
    return value, len(fraction)


def give_feedback(
    node: Node, bundle: Mapping[str, Any], value: str, *, agent_id: int | None = None, tag1: str = "",
    tag2: str = "", endpoint: str = "", feedback_uri: str = "",
) -> Feedback:
    """Rate the agent that answered `bundle`'s record, as `node`'s account (its payer), or,
    when this home's agent treasury paid it over x402, as that treasury (its `rate`, sent by
    `node`'s account, the treasury's agent key).

    The agent is `agent_id`, else the one paid at the record's operator. Refused, before
    any transaction, when the record is not settled yet, this account (or its treasury) did
    not pay it, it was rated already, or the agent is unknown or this account's own.
    """
    from web3.logs import DISCARD

    from tantieme.agents.identity import agents_paid_at, identity_registry
    from tantieme.chain.deploy import contract

    number, decimals = parse_value(value)
    for text, what, limit in ((tag1, "--tag1", MAX_TAG), (tag2, "--tag2", MAX_TAG),
                              (endpoint, "--endpoint", MAX_URI), (feedback_uri, "--feedback-uri", MAX_URI)):
        if len(text.encode()) > limit:
            raise InputError(f"{what} is {len(text.encode())} bytes long: at most {limit}")
    record, digest, batch_id, proof, authorization, paid_from = _paid_record(node, bundle)
    identity_registry(node)  # the registries are deployed here
    if agent_id is None:
        paid_at = agents_paid_at(node, record.operator)
        if len(paid_at) != 1:
            raise InputError(
                f"the node that answered ({record.operator}) is not a registered agent: it registers with "
                "`tantieme agent register`; or give --agent ID" if not paid_at else
                f"several agents are paid at {record.operator} (#{', #'.join(map(str, paid_at))}): choose one with --agent ID"
            )
        (agent_id,) = paid_at
    reputation = contract(node.conn, "agent_reputation", node.deployment.reputation)
    fns, rater = reputation.functions, _Rater(node, _paying_treasury(node, paid_from), agent_id, record.operator)
    client = rater.client
    struct = (
        record.payer, record.operator, record.model, record.prompt_hash, record.output_hash, list(record.sources),
        list(record.weights), record.prompt_tokens, record.completion_tokens, record.fee, record.nonce,
        record.timestamp,
    )
    if fns.isRated(digest).call():
        raise rater.refusal("reputation: interaction already rated")
    prove_tx = None
    if not _proved(node, reputation, agent_id, client, digest):
        prove = fns.provePayment(agent_id, batch_id, struct, proof, authorization)
        prove_tx = rater.send(prove, _PROVE_GAS)["transactionHash"].to_0x_hex()
    give = fns.giveFeedback(agent_id, number, decimals, tag1, tag2, endpoint, feedback_uri, digest)
    receipt = rater.send(give, _FEEDBACK_GAS)
    (event,) = reputation.events.NewFeedback().process_receipt(receipt, errors=DISCARD)
    return Feedback(
        agent_id=agent_id, client=client, record="0x" + digest.hex(), batch_id=batch_id, value=number,
        decimals=decimals, tag1=tag1, tag2=tag2, index=event["args"]["feedbackIndex"], prove_tx=prove_tx,
        feedback_tx=receipt["transactionHash"].to_0x_hex(), gas=receipt["gasUsed"],
    )


def _paid_record(node: Node, bundle: Mapping[str, Any]) -> tuple[Any, bytes, int, list[bytes], bytes, str | None]:
    """(record, digest, batch id, proof, x402 authorization nonce or zero, x402 payer or None) of
    a settled bundle."""
    from tantieme.ledger.records import Domain, InteractionRecord

    try:
        typed = bundle["record"]["typed_data"]
        domain, record = Domain.from_dict(typed["domain"]), InteractionRecord.from_dict(typed["message"])
        digest = bytes.fromhex(str(bundle["record"]["digest"]).removeprefix("0x"))
        anchor = bundle.get("anchor") or {}
        payment = bundle.get("payment") or {}
        nonce, paid_from = ((payment.get("authorization") or {}).get(k) for k in ("nonce", "from"))
        authorization = bytes.fromhex(str(nonce).removeprefix("0x")) if nonce else bytes(32)
        proof = bundle.get("proof")  # None while the record is pending
        proof = None if proof is None else [bytes.fromhex(str(p).removeprefix("0x")) for p in proof]
    except (KeyError, TypeError, ValueError, AttributeError, LedgerError) as exc:
        raise LedgerError(f"this is not a readable record bundle ({type(exc).__name__}: {exc})") from None
    if len(digest) != 32 or digest != record.digest(domain):
        raise LedgerError("the bundle's digest is not its record's: export the bundle again")
    if domain.chain_id != node.conn.chain_id:
        raise LedgerError(
            f"the record is anchored on chain {domain.chain_id}, this home is on chain {node.conn.chain_id}: "
            "rate from a home set up on the node's chain"
        )
    if domain.verifying_contract != node.deployment.ledger:
        raise LedgerError(
            f"the record belongs to the ledger {domain.verifying_contract}, not to this chain's tantieme ledger "
            f"{node.deployment.ledger}: its agent cannot be rated here"
        )
    batch_id = anchor.get("batch_id")
    settled = batch_id is not None and node.ledger.functions.batches(int(batch_id)).call()[0] != bytes(32)
    if bundle.get("status") != "settled" or proof is None or not settled:
        raise LedgerError(
            f"record 0x{digest.hex()[:16]}… is not settled yet: wait for the operator's batch (or, on your "
            "own node, `tantieme settle` first), then fetch its bundle again"
        )
    if record.payer == record.operator and authorization == bytes(32):
        raise PaymentError(
            f"record 0x{digest.hex()[:16]}… was paid by its own node, not by a client: only a paying client can rate it"
        )
    return record, digest, int(batch_id), proof, authorization, None if paid_from is None else str(paid_from)


def _paying_treasury(node: Node, paid_from: str | None) -> Any:
    """This home's agent treasury, bound, if it is the x402 payer `paid_from`; else None."""
    from tantieme.agents import treasury

    address = treasury.load(node) if paid_from and paid_from.lower() != node.address.lower() else None
    return treasury.treasury(node, address) if address and address.lower() == paid_from.lower() else None


def _proved(node: Node, reputation: Any, agent_id: int, client: str, digest: bytes) -> bool:
    """Whether `client` proved the payment of `digest` for the agent already: a run that
    stopped before its feedback."""
    logs = event_logs(reputation.events.PaymentProved(), node.deployment.block, digest=digest)
    return any(e["args"]["clientAddress"] == client and e["args"]["agentId"] == agent_id for e in logs)


@dataclass(frozen=True)
class _Rater:
    """Who calls the reputation registry: `node`'s account, or, through `treasury`'s `rate`,
    the treasury (`node`'s account its agent key)."""

    node: Node
    treasury: Any
    agent_id: int
    operator: str

    @property
    def client(self) -> str:
        return self.node.address if self.treasury is None else self.treasury.address

    def send(self, fn: ContractFunction, gas: int) -> Any:
        """Simulate the registry's `fn` as the client, then send it; a refusal said for people,
        before any gas is spent."""
        from web3.exceptions import ContractLogicError

        from tantieme.chain.transact import revert_reason

        if self.treasury is not None:
            fn, gas = self.treasury.functions.rate(fn._encode_transaction_data()), gas + _RATE_GAS
        try:
            fn.call({"from": self.node.address})
        except ContractLogicError as exc:
            raise self.refusal(revert_reason(exc)) from None
        try:
            return self.node.conn.transact(fn, gas=gas)
        except ChainError as exc:
            raise self.refusal(str(exc)) from None

    def refusal(self, reason: str) -> Exception:
        return _refusal(reason, self.agent_id, self.client, self.operator, self.node.address)


def _refusal(reason: str, agent_id: int, client: str, operator: str, key: str) -> Exception:
    """The reputation registry's (or the rating treasury's) revert `reason`, said for people."""
    said = {
        "treasury: caller is not the agent": (
            PaymentError, f"{key} is not the agent key of the treasury {client} that paid: rate with its agent key "
            "(TANTIEME_PRIVATE_KEY), or let the owner set it (`tantieme agent limits --agent ADDRESS`)"),
        "treasury: paused": (PaymentError, f"the treasury {client} is paused: its owner resumes it (`tantieme agent limits --resume`)"),
        "treasury: no reputation registry": (
            PaymentError, f"the treasury {client} was deployed without a reputation registry: its payments cannot be rated"),
        "reputation: unknown agent": (InputError, f"there is no agent #{agent_id} on this chain"),
        "reputation: self-feedback not allowed": (
            PaymentError, f"{client} manages agent #{agent_id}: an agent's owner and operators cannot rate it"),
        "reputation: unknown batch": (LedgerError, "the record's batch is not settled on chain yet: wait for the operator's batch"),
        "reputation: record of another agent": (
            InputError, f"the record was served by {operator}, not by agent #{agent_id}'s wallet: rate the agent that answered"),
        "reputation: record of another model": (InputError, f"agent #{agent_id} names another model than the record's"),
        "reputation: unpaid record": (PaymentError, "the record's fee is zero: nothing was paid, so there is nothing to rate"),
        "reputation: caller is not the payer": (
            PaymentError, f"{client} did not pay for this answer: only the account that paid can rate it "
            "(TANTIEME_PRIVATE_KEY, or the payer's home)"),
        "reputation: payment not made": (
            PaymentError, "the x402 payment this record binds was never made on chain: there is nothing to rate"),
        "reputation: invalid proof": (
            LedgerError, "the bundle's Merkle proof does not reach its batch's root: fetch the bundle again from the node"),
        "reputation: payment already proved": (PaymentError, "this answer's payment was proved by another account already"),
        "reputation: interaction already rated": (PaymentError, "this answer was rated already: one feedback per paid answer"),
    }
    kind, message = said.get(reason, (ChainError, f"the reputation registry refused the feedback: {reason}"))
    return kind(message)
