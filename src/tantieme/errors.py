"""Domain errors: each says what went wrong and how to fix it.

The CLI turns any `TantiemeError` into a clean message and a non-zero exit;
anything else is a bug and is re-raised.
"""


class TantiemeError(Exception):
    """Base of every error a user can cause and fix."""


class InputError(TantiemeError):
    """A value typed by the user is malformed: an amount, a percentage, an id."""


class ConfigError(TantiemeError):
    """The node is not set up, or its settings are wrong."""


class UnknownModelError(ConfigError):
    """The node serves no model of that id (or none at all)."""


class ChainError(TantiemeError):
    """The chain refused an operation (revert) or cannot be reached."""


class ChainLockedError(ChainError):
    """Another process is writing the embedded chain."""


class RevertedError(ChainError):
    """A transaction reverted: refused by its estimate, or mined and failed (out of gas
    included). Unlike a transaction that may not have been mined, it changed nothing."""


class AssetError(TantiemeError):
    """An asset file or its registration is invalid."""


class AIError(TantiemeError):
    """The model, the index or a question is unusable."""


class PromptTooLongError(AIError):
    """A question (with `max_tokens` reserved for the answer) does not fit the model's context."""


class IndexDamagedError(AIError):
    """The knowledge index's files are damaged; it can be rebuilt from the chain and the store."""


class ProvenanceError(TantiemeError):
    """A content credential cannot be made or read (CA, answer file, sidecar)."""


class LedgerError(TantiemeError):
    """An interaction record, batch, signature or Merkle proof is invalid."""


class PaymentError(TantiemeError):
    """A payment is refused or cannot be made: a signature, an amount, the funds or the terms
    are wrong, a quote is above the cap, or the node or its facilitator refused it."""


class TreasuryError(PaymentError):
    """An agent treasury refused: a payment outside its limits (payee, cap, daily limit,
    paused), or an owner's call by someone else."""


class ChargedError(PaymentError):
    """A node collected the payment of a question it did not answer (it timed out or failed
    after settling): the payer was charged, so no other node is asked and paid again."""


class InvoiceExpiredError(PaymentError):
    """A deposit-mode invoice was not signed in time (`payments.deposit.INVOICE_TTL_S`): the node
    no longer takes payment for it."""


class CommonsError(TantiemeError):
    """The commons pool refused a membership or a dividend claim (not a member, claimed today...)."""


class RemoteNodeError(TantiemeError):
    """A remote node cannot be reached, or answered something tantieme cannot read."""


class NodeBusyError(RemoteNodeError):
    """A remote node is busy (503: its model's queue is full) or the payer asks too often
    (429): ask again after `retry_after` seconds (its `Retry-After`)."""

    def __init__(self, message: str, status: int, retry_after: float) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class DisputeError(TantiemeError):
    """The dispute module refused a dispute or a judgement (no bond, unknown asset, not the arbiter...)."""
