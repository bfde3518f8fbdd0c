"""The agent treasury for the contract tests: a treasury over the session's token, its
owner, its agent key, two allowed payees, and how an agent pays (approve, sign, submit)."""

from __future__ import annotations

from dataclasses import dataclass

import boa
import pytest
from eth_account import Account
from eth_utils import keccak

from .conftest import CONTRACTS, ONE_TOKEN, TOKEN_NAME, TOKEN_VERSION, ZERO_ADDRESS, Signer

TREASURY = boa.load_partial(str(CONTRACTS / "agent_treasury.vy"))
DAY = 86_400
MAGIC = bytes.fromhex("1626ba7e")
INVALID = bytes.fromhex("ffffffff")
OWNER_ONLY = "ownable: caller is not the owner"


def key_of(seed: bytes) -> Signer:
    account = Account.from_key(keccak(seed))
    return Signer(account.address, account.key)


def signed(agent: Signer, digest: bytes) -> bytes:
    """The agent's 65-byte signature `r ‖ s ‖ v` of `digest`."""
    return bytes(Account.unsafe_sign_hash(digest, agent.key).signature)


@dataclass(frozen=True)
class Payment:
    """An EIP-3009 transfer from the treasury, as the agent approves it and the token takes it."""

    to: str
    amount: int
    valid_after: int
    valid_before: int
    nonce: bytes

    @property
    def args(self) -> tuple:
        return (self.to, self.amount, self.valid_after, self.valid_before, self.nonce)


_nonces = iter(range(10**9))


def payment(to: str, amount: int, *, seconds: int = 300, nonce: bytes | None = None) -> Payment:
    """A payment valid from now for `seconds`, with a fresh nonce by default."""
    now = boa.env.timestamp
    return Payment(to, amount, 0, now + seconds, nonce or keccak(b"treasury nonce %d" % next(_nonces)))


# Payees with keys (they sign refunds), by name: the two allowed and the one not.
PAYEE_KEYS = {name: key_of(b"treasury " + name.encode()) for name in ("payee one", "payee two", "not a payee")}

_RECEIVE_FIELDS = [
    {"name": n, "type": t} for n, t in (("from", "address"), ("to", "address"), ("value", "uint256"),
                                        ("validAfter", "uint256"), ("validBefore", "uint256"), ("nonce", "bytes32"))
]


@dataclass(frozen=True)
class Treasury:
    contract: object
    token: object
    owner: str
    agent: Signer
    payees: tuple[str, str]
    outsider: str
    """A payee not allowed."""

    def approve(self, p: Payment, sender: str | None = None) -> bytes:
        return self.contract.approvePayment(*p.args, sender=sender or self.agent.address)

    def collect(self, p: Payment, signature: bytes, relayer: str) -> None:
        """Submit the authorization to the token, as an x402 facilitator does."""
        self.token.transferWithAuthorization(
            self.contract.address, *p.args, signature[64], signature[:32], signature[32:64], sender=relayer
        )

    def pay(self, p: Payment, relayer: str) -> None:
        """Approve, sign and submit."""
        digest = self.approve(p)
        self.collect(p, signed(self.agent, digest), relayer)

    def refund_args(self, p: Payment, refund: int, payee: Signer | None = None, nonce: bytes | None = None) -> tuple:
        """`refundPayment`'s arguments: `refund` of `p`, its EIP-3009 `ReceiveWithAuthorization`
        to the treasury signed by `payee` (default: `p`'s payee), valid for an hour."""
        payee = payee or next(k for k in PAYEE_KEYS.values() if k.address == p.to)
        nonce = nonce or keccak(b"refund nonce %d" % next(_nonces))
        before = boa.env.timestamp + 3_600
        message = {"from": payee.address, "to": self.contract.address, "value": refund, "validAfter": 0,
                   "validBefore": before, "nonce": nonce}
        domain = {"name": TOKEN_NAME, "version": TOKEN_VERSION, "chainId": boa.env.evm.patch.chain_id,
                  "verifyingContract": self.token.address}
        sig = Account.sign_typed_data(payee.key, domain, {"ReceiveWithAuthorization": _RECEIVE_FIELDS}, message)
        return (*p.args, refund, before, nonce, sig.v, sig.r.to_bytes(32, "big"), sig.s.to_bytes(32, "big"))


def deploy_treasury(
    token, deployer: str, owner: str, agent: Signer, funds: int = 100 * ONE_TOKEN, *, reputation: str = ZERO_ADDRESS,
    payees: tuple[str, str] | None = None,
) -> Treasury:
    """A treasury owned by `owner`, funded with `funds`, 10 TAI a day, 1 TAI a payment, two payees
    (default: "payee one" and "payee two"), rating at `reputation` (default: none)."""
    payees = payees or (PAYEE_KEYS["payee one"].address, PAYEE_KEYS["payee two"].address)
    with boa.env.prank(owner):
        contract = TREASURY.deploy(token.address, agent.address, reputation)
        contract.setLimits(10 * ONE_TOKEN, ONE_TOKEN)
        for payee in payees:
            contract.setPayee(payee, True)
    token.mint(contract.address, funds, sender=deployer)
    return Treasury(contract, token, owner, agent, payees, PAYEE_KEYS["not a payee"].address)


@pytest.fixture(scope="session")
def agent_key() -> Signer:
    return key_of(b"tantieme treasury agent")


@pytest.fixture(scope="session")
def treasury_owner() -> str:
    return boa.env.generate_address("treasury owner")


@pytest.fixture
def treasury(token, deployer, treasury_owner, agent_key) -> Treasury:
    return deploy_treasury(token, deployer, treasury_owner, agent_key)
