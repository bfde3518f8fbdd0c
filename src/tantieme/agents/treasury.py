"""The node's agent treasury: AI tokens an agent key spends only within limits its owner sets.

    address, deployed = fund(node, 5 * 10**18)            # deploys it on first use, owned by node's account
    set_limits(node, daily=10**18, per_payment=10**17, allow=["0x…"])
    payer = TreasuryPayer(agent_node, address)          # agent_node signs as the treasury's agent key
    report(node)                                        # limits, spent today, what is left, its payments

The treasury (`contracts/agent_treasury.vy`, rules in `contracts/SPEC.md` "AgentTreasury")
is an ERC-1271 wallet: the agent key pays over x402 by first approving the payment on chain
(`approvePayment`: payee allowed, within the per-payment cap and the day's limit, counted
against the day), then signing its EIP-3009 digest; the AI token asks the treasury whether
that signature is valid. `TreasuryPayer` is that signer for the official x402 client, and
`TreasuryPayer.check` refuses a quote outside the limits before anything is sent;
`TreasuryPayer.cancel` releases the approval of a payment a node did not answer for. A node
refunds quote − fee through the treasury's `refundPayment` (it answers ERC-165 for it), which
gives the refund back to the day's allowance.

One treasury per node and chain, recorded in `TANTIEME_HOME/agents/treasury-<chain id>.json`;
its owner is the account that deployed it (the node's), its agent key the owner's own
until `set_limits(agent=...)` names another. Payees may be given as addresses or as
ERC-8004 agent ids, resolved to the agent's wallet (`getAgentWallet`) when allowed.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eth_account import Account
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import ContractLogicError

from tantieme.amounts import format_amount
from tantieme.chain.logs import event_logs
from tantieme.chain.transact import revert_reason
from tantieme.config import home
from tantieme.files import read_record, write_json
from tantieme.errors import ChainError, ConfigError, InputError, TreasuryError

if TYPE_CHECKING:
    from x402.mechanisms.evm.types import TypedDataDomain, TypedDataField
    from x402.schemas import PaymentRequirements

    from tantieme.node import Node
    from tantieme.payments.client import Authorization

__all__ = [
    "DAY", "Quote", "TreasuryPayer", "fund", "load", "release_expired", "report", "resolve_payee", "set_limits",
    "treasury", "withdraw",
]

DAY = 86_400
_GAS = 200_000
_APPROVE_GAS = 150_000
_OWNER_ONLY = "ownable: caller is not the owner"
# What each refusal of the contract means for people, and what to do.
_REASONS = {
    _OWNER_ONLY: "only the treasury's owner can do this",
    "treasury: caller is not the agent": "this account is not the treasury's agent key: set it with `tantieme agent limits --agent ADDRESS`",
    "treasury: paused": "the treasury is paused: its owner resumes it with `tantieme agent limits --resume`",
    "treasury: payee not allowed": "the payee is not on the treasury's allow-list: its owner adds it with `tantieme agent limits --allow ADDRESS`",
    "treasury: above the per-payment cap": "the payment is above the treasury's per-payment cap (`tantieme agent limits --per-payment`)",
    "treasury: above the daily limit": "the payment is above what is left of the treasury's daily limit today (`tantieme agent spend --report`)",
    "treasury: zero agent": "the agent key cannot be the zero address",
    "treasury: zero payee": "the zero address cannot be a payee",
    "erc20: transfer amount exceeds balance": "not enough AI tokens",
}


# ------------------------------------------------------------------ record --


def record_path(chain_id: int) -> Path:
    return home() / "agents" / f"treasury-{chain_id}.json"


def load(node: Node) -> str | None:
    """This node's treasury on its chain, if it has one (and its code is there)."""
    address = read_record(record_path(node.conn.chain_id), lambda record: Web3.to_checksum_address(record["address"]),
                          "move it away (a new treasury is deployed)")
    return address if address is not None and node.conn.w3.eth.get_code(address) else None


def treasury(node: Node, address: str | None = None) -> Contract:
    """The treasury at `address` (default: this node's), bound; a clear error if there is none."""
    from tantieme.chain.deploy import contract

    address = address or load(node)
    if address is None:
        raise ConfigError(
            f"this node has no agent treasury on chain {node.conn.chain_id} yet: `tantieme agent fund AMOUNT` deploys one"
        )
    return contract(node.conn, "agent_treasury", address)


def _save(chain_id: int, address: str, block: int) -> None:
    write_json(record_path(chain_id), {"chain_id": chain_id, "address": address, "block": block})


def _block(node: Node) -> int:
    path = record_path(node.conn.chain_id)
    try:
        return int(json.loads(path.read_text())["block"])
    except (OSError, KeyError, TypeError, ValueError):
        return node.deployment.block


# ------------------------------------------------------------------- owner --


def fund(node: Node, amount: int) -> tuple[str, bool]:
    """Send `amount` token wei from the node's account to its treasury, deploying the treasury
    first if it has none (owned by the node's account, which is also its agent key until
    another is set; no limits and no payee yet). The treasury's address, and whether it was
    deployed now."""
    from tantieme.chain.deploy import deploy_treasury

    if amount <= 0:
        raise InputError("fund the treasury with more than 0 TAI")
    held = node.balance(node.address)
    if held < amount:
        raise TreasuryError(
            f"{node.address} holds {format_amount(held)} TAI, less than the {format_amount(amount)} TAI to fund the "
            "treasury with: nothing was sent"
        )
    address, deployed = load(node), False
    if address is None:
        address = deploy_treasury(node.conn, node.deployment.token, node.address, node.deployment.reputation)
        _save(node.conn.chain_id, address, node.conn.w3.eth.block_number)
        deployed = True
    node.conn.transact(node.token.functions.transfer(address, amount), gas=_GAS)
    return address, deployed


def resolve_payee(node: Node, payee: str) -> str:
    """An address, or an ERC-8004 agent id resolved to the wallet it is paid at."""
    payee = payee.strip()
    if payee.isdigit():
        from tantieme.agents.identity import identity_registry

        registry = identity_registry(node).functions
        agent_id = int(payee)
        if not 0 < agent_id <= registry.totalSupply().call():
            raise InputError(f"there is no agent #{agent_id} on chain {node.conn.chain_id}")
        wallet = registry.getAgentWallet(agent_id).call()
        if int(wallet, 16) == 0:
            raise InputError(f"agent #{agent_id} has no wallet to be paid at (ERC-8004 `agentWallet`)")
        return wallet
    if not Web3.is_address(payee):
        raise InputError(f"{payee!r} is neither an address (0x…) nor an agent id")
    return Web3.to_checksum_address(payee)


def set_limits(
    node: Node,
    *,
    daily: int | None = None,
    per_payment: int | None = None,
    allow: list[str] = (),
    disallow: list[str] = (),
    paused: bool | None = None,
    agent: str | None = None,
) -> list[str]:
    """Change what the treasury's agent may spend (the owner only): the daily limit and the
    per-payment cap (token wei), payees allowed or removed (addresses or agent ids), pause or
    resume, the agent key. Only what differs from the chain is sent; every call is tried first,
    so a refused one sends nothing. The transactions sent."""
    bound = treasury(node)
    fns = bound.functions
    if fns.owner().call() != node.address:
        raise TreasuryError(f"only the treasury's owner {fns.owner().call()} can change its limits, not {node.address}")
    calls = []
    if daily is not None or per_payment is not None:
        now = (fns.dailyLimit().call(), fns.perPaymentCap().call())
        wanted = (now[0] if daily is None else daily, now[1] if per_payment is None else per_payment)
        if wanted != now:
            calls.append(fns.setLimits(*wanted))
    for payees, allowed in ((allow, True), (disallow, False)):
        for payee in dict.fromkeys(resolve_payee(node, p) for p in payees):
            if fns.payees(payee).call() != allowed:
                calls.append(fns.setPayee(payee, allowed))
    if agent is not None:
        if not Web3.is_address(agent):
            raise InputError(f"the agent key {agent!r} is not an address (0x…)")
        agent = Web3.to_checksum_address(agent)
        if fns.agent().call() != agent:
            calls.append(fns.setAgent(agent))
    if paused is not None and fns.paused().call() != paused:
        calls.append(fns.pause() if paused else fns.unpause())
    for call in calls:
        _try(node, call)
    return [_send(node, call) for call in calls]


def withdraw(node: Node, amount: int, to: str | None = None) -> str:
    """Send `amount` token wei from the treasury to `to` (default: the owner), paused or not."""
    fns = treasury(node).functions
    call = fns.withdraw(Web3.to_checksum_address(to or node.address), amount)
    _try(node, call)
    return _send(node, call)


# ----------------------------------------------------------------- reading --


def report(node: Node) -> dict[str, Any]:
    """The treasury as the chain has it: owner, agent, balance, limits, payees, spent today
    and what is left, and every payment approved, with what became of it (collected by the
    payee, pending, expired, released, or dead: approved before a pause or an agent change)
    and what its payee refunded (`refundPayment`: given back to the day's allowance if that
    day is today)."""
    bound = treasury(node)
    fns = bound.functions
    start = _block(node)
    daily, cap, spent = fns.dailyLimit().call(), fns.perPaymentCap().call(), fns.spentToday().call()
    generation, now = fns.generation().call(), node.conn.w3.eth.get_block("latest")["timestamp"]
    payees: dict[str, bool] = {}
    for event in event_logs(bound.events.PayeeSet(), start):
        payees[event.args.payee] = event.args.allowed
    released = {e.args.digest for e in event_logs(bound.events.PaymentReleased(), start)}
    refunded = {e.args.digest: e.args.refund for e in event_logs(bound.events.PaymentRefunded(), start)}
    payments = []
    for event in event_logs(bound.events.PaymentApproved(), start):
        args = event.args
        collected = node.token.functions.authorizationState(bound.address, args.nonce).call()
        stored = fns.approval(args.digest).call()
        status = (
            "collected" if collected
            else "released" if args.digest in released
            else "dead" if stored[3] != generation
            else "expired" if args.validBefore <= now
            else "pending"
        )
        payments.append({
            "payee": args.payee, "amount": str(args.amount), "refunded": str(refunded.get(args.digest, 0)),
            "nonce": "0x" + args.nonce.hex(),
            "valid_before": args.validBefore, "day": args.day, "status": status,
            "tx": event.transactionHash.to_0x_hex(), "block": event.blockNumber,
        })
    return {
        "treasury": bound.address,
        "chain_id": node.conn.chain_id,
        "owner": fns.owner().call(),
        "agent": fns.agent().call(),
        "paused": fns.paused().call(),
        "balance": str(node.balance(bound.address)),
        "daily_limit": str(daily),
        "per_payment_cap": str(cap),
        "spent_today": str(spent),
        "left_today": str(max(0, daily - spent)),
        "day_ends_at": (now // DAY + 1) * DAY,
        "payees": sorted(payee for payee, allowed in payees.items() if allowed),
        "payments": payments,
    }


def release_expired(node: Node) -> list[dict[str, Any]]:
    """Release every approval never collected that can no longer be (expired or dead): the
    allowance of those approved today comes back. The payments released."""
    bound = treasury(node)
    done = []
    for payment in report(node)["payments"]:
        if payment["status"] not in ("expired", "dead"):
            continue
        event = next(
            e for e in event_logs(bound.events.PaymentApproved(), payment["block"], payment["block"])
            if "0x" + e.args.nonce.hex() == payment["nonce"]
        )
        a = event.args
        call = bound.functions.releasePayment(a.payee, a.amount, a.validAfter, a.validBefore, a.nonce)
        _try(node, call)
        done.append({**payment, "status": "released", "release_tx": _send(node, call)})
    return done


# ------------------------------------------------------------------ paying --


@dataclass(frozen=True)
class Quote:
    """What a payee asks: `amount` token wei of the AI token `asset` on chain `chain_id`."""

    chain_id: int
    asset: str
    pay_to: str
    amount: int


class TreasuryPayer:
    """The x402 client's signer for payments from a treasury (the SDK's `ClientEvmSigner`).

    `address` is the treasury's: the authorization is from it. `sign_typed_data` approves
    the payment on chain with the agent's key (`agent`: a node open with that account on
    the treasury's chain), then returns the agent's signature of the token's digest, which
    the treasury's `isValidSignature` accepts. `check` refuses a payment outside the
    treasury's limits before anything is sent.
    """

    def __init__(
        self, agent: Node, address: str | None = None, writer: Callable[[], AbstractContextManager[Node]] | None = None,
    ) -> None:
        """`writer()` opens the chain for writing as the agent while it approves (default: `agent`
        itself): a CLI holds no writer's lock while the node it pays settles."""
        self.agent = agent
        self.treasury = treasury(agent, address)
        self._writer = writer or (lambda: contextlib.nullcontext(agent))
        self.approved: list[str] = []
        """The approval transactions sent."""

    @property
    def address(self) -> str:
        return self.treasury.address

    def check(self, quote: Quote) -> None:
        """`TreasuryError` saying why, if the treasury would refuse to pay `quote`."""
        node, fns = self.agent, self.treasury.functions
        what = f"{format_amount(quote.amount)} TAI to {quote.pay_to}"
        if quote.chain_id != node.conn.chain_id:
            raise TreasuryError(
                f"the payee asks to be paid on chain {quote.chain_id}; the treasury {self.address} is on chain "
                f"{node.conn.chain_id}: not paid"
            )
        if quote.asset.lower() != fns.token().call().lower():
            raise TreasuryError(f"the payee asks to be paid in {quote.asset}, not in the treasury's AI token: not paid")
        if fns.agent().call() != node.address:
            raise TreasuryError(
                f"{node.address} is not the treasury's agent key ({fns.agent().call()}): pay with the agent's key "
                "(TANTIEME_PRIVATE_KEY), or let the owner set it (`tantieme agent limits --agent ADDRESS`): not paid"
            )
        if fns.paused().call():
            raise TreasuryError(f"the treasury is paused: {what} not paid (its owner resumes it: `tantieme agent limits --resume`)")
        if not fns.payees(Web3.to_checksum_address(quote.pay_to)).call():
            raise TreasuryError(
                f"{quote.pay_to} is not on the treasury's allow-list: {what} not paid (its owner allows it: "
                f"`tantieme agent limits --allow {quote.pay_to}`)"
            )
        cap = fns.perPaymentCap().call()
        if quote.amount > cap:
            raise TreasuryError(
                f"the payee asks {format_amount(quote.amount)} TAI, above the treasury's per-payment cap of "
                f"{format_amount(cap)} TAI: not paid (raise it: `tantieme agent limits --per-payment`, or lower --max-tokens)"
            )
        left = fns.dailyLimit().call() - fns.spentToday().call()
        if quote.amount > left:
            raise TreasuryError(
                f"the payee asks {format_amount(quote.amount)} TAI; {format_amount(max(0, left))} TAI of the treasury's "
                "daily limit is left today: not paid (wait for tomorrow UTC, or raise it: `tantieme agent limits --daily`)"
            )
        held = node.balance(self.address)
        if quote.amount > held:
            raise TreasuryError(
                f"the treasury holds {format_amount(held)} TAI, less than the {format_amount(quote.amount)} TAI asked: "
                "not paid (`tantieme agent fund AMOUNT`)"
            )

    def check_requirements(self, required: PaymentRequirements) -> None:
        """`check` of an x402 402's exact-EVM requirements."""
        self.check(Quote(int(required.network.removeprefix("eip155:")), required.asset, required.pay_to, int(required.amount)))

    def sign_typed_data(
        self,
        domain: TypedDataDomain,
        types: dict[str, list[TypedDataField]],
        primary_type: str,
        message: dict[str, Any],
    ) -> bytes:
        """Approve the EIP-3009 transfer `message` from the treasury, then sign its digest."""
        if primary_type != "TransferWithAuthorization" or message["from"].lower() != self.address.lower():
            raise TreasuryError(f"a treasury signs only transfers from itself, not {primary_type}")
        if domain.verifying_contract.lower() != self.treasury.functions.token().call().lower():
            raise TreasuryError("a treasury signs only transfers of its own AI token")
        nonce = message["nonce"]
        args = (
            Web3.to_checksum_address(message["to"]), int(message["value"]), int(message["validAfter"]),
            int(message["validBefore"]), bytes.fromhex(nonce[2:]) if isinstance(nonce, str) else bytes(nonce),
        )
        call = self.treasury.functions.approvePayment(*args)
        digest = _try(self.agent, call)
        with self._writer() as writer:
            self.approved.append(_send(writer, call, gas=_APPROVE_GAS))
        return bytes(Account.unsafe_sign_hash(digest, self.agent.account.key).signature)


    def cancel(self, signed: Authorization) -> str | None:
        """Release the approval of `signed`, a payment a node did not answer for, so the token
        can never collect it (the day's allowance comes back): the transaction, or None if the
        token shows it collected already."""
        collected = self.agent.token.functions.authorizationState(self.address, signed.nonce)
        if collected.call():
            return None
        call = self.treasury.functions.releasePayment(
            Web3.to_checksum_address(signed.payee), signed.amount, signed.valid_after, signed.valid_before, signed.nonce,
        )
        try:
            with self._writer() as writer:
                return _send(writer, call)
        except TreasuryError:
            if collected.call():  # the node collected it meanwhile
                return None
            raise


# ---------------------------------------------------------------- internal --


def _try(node: Node, call) -> Any:
    """`call` as an eth_call from the node's account; a refusal is a `TreasuryError` saying why."""
    try:
        return call.call({"from": node.address})
    except ContractLogicError as exc:
        raise _refused(revert_reason(exc)) from None


def _send(node: Node, call, gas: int = _GAS) -> str:
    try:
        receipt = node.conn.transact(call, gas=gas)
    except ChainError as exc:
        raise _refused(str(exc)) from None
    return receipt["transactionHash"].to_0x_hex()


def _refused(reason: str) -> TreasuryError:
    return TreasuryError(f"{_REASONS.get(reason, 'the treasury refused: ' + reason)}: nothing was sent")
