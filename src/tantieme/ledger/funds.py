"""Can a payer pay? Checked before an answer is made and before a batch is sent.

The ledger takes a batch's total from the payer's deposit if the deposit covers
it, else from the payer's balance through its allowance to the ledger (or an
EIP-2612 permit, when this node holds the payer's key and can sign one). So a
payer can pay `amount` on top of what it already owes (records not yet settled,
batches signed but not sent) when either the deposit or the spendable balance
covers the sum. When neither does, `require` says how much is missing and how
to add it.
"""

from __future__ import annotations

from dataclasses import dataclass

from tantieme.assets.royalties import format_amount
from tantieme.errors import LedgerError
from tantieme.ledger.journal import Journal
from tantieme.node import Node

__all__ = ["Funds", "funds", "require"]


@dataclass(frozen=True)
class Funds:
    """What a payer holds for the ledger and already owes it, in token wei."""

    payer: str
    balance: int
    deposit: int
    allowance: int
    owed: int
    """Fees of this payer's records not yet settled (pending or in a signed batch)."""
    records: int
    """How many such records."""
    permit: bool
    """Whether this node can sign a permit for the payer (so the allowance does not limit it)."""

    @property
    def spendable(self) -> int:
        """What one batch can take: the deposit, or else the balance the ledger may pull."""
        pullable = self.balance if self.permit else min(self.balance, self.allowance)
        return max(self.deposit, pullable)

    def missing(self, amount: int) -> int:
        """How much more the payer needs to pay `amount` on top of what it owes."""
        return max(0, self.owed + amount - self.spendable)


def funds(node: Node, payer: str, book: Journal | None, *, permit: bool) -> Funds:
    """`payer`'s funds on this node's chain, and what it owes in `book` (nothing without one)."""
    ledger = node.deployment.ledger
    token = node.token.functions
    owed, records = book.owed(payer, node.conn.chain_id, ledger) if book is not None else (0, 0)
    return Funds(
        payer=payer,
        balance=token.balanceOf(payer).call(),
        deposit=node.ledger.functions.deposits(payer, node.address).call(),
        allowance=token.allowance(payer, ledger).call(),
        owed=owed,
        records=records,
        permit=permit,
    )


def require(node: Node, available: Funds, amount: int, what: str, retry: str) -> None:
    """Raise a `LedgerError` saying what is missing if `available` cannot pay `amount` more.

    `what` names the cost ("this answer may cost up to"), `retry` the command
    to run once the funds are there.
    """
    missing = available.missing(amount)
    if not missing:
        return
    owes = (
        f"owes {format_amount(available.owed)} TAI for {available.records} unsettled records and "
        if available.owed else ""
    )
    holds = f"holds {format_amount(available.balance)} TAI"
    if available.deposit:
        holds += f" and a ledger deposit of {format_amount(available.deposit)} TAI"
    if not available.permit and available.allowance < available.balance:
        holds += f", of which the ledger may take {format_amount(available.allowance)} TAI (its allowance)"
    if not available.permit and available.balance >= available.owed + amount:
        fix = f"The payer must approve the ledger {node.deployment.ledger} for it"
    elif node.is_local:
        fix = f"Add it (`tantieme faucet {format_amount(missing)} --to {available.payer}`)"
    else:
        fix = f"Send {format_amount(missing)} AI tokens to {available.payer}"
    raise LedgerError(
        f"{what} {format_amount(amount)} TAI, but the payer {available.payer} {owes}{holds}: "
        f"{format_amount(missing)} TAI missing. {fix}, then {retry}"
    )
