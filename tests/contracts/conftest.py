"""Personas, deployments and factories for the contract tests (titanoboa).

Every test runs inside `boa.env.anchor()`, so state never leaks between
tests; hypothesis examples open their own anchor (`fresh_state`).
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Iterator
from dataclasses import astuple, dataclass, replace
from pathlib import Path

import boa
import pytest
from boa.contracts.vyper.vyper_contract import FrameDetail, StorageModel
from eth_abi import encode as abi_encode
from eth_account import Account
from eth_utils import keccak
from hypothesis import HealthCheck, settings

from tantieme.addresses import ZERO_ADDRESS
from tantieme.amounts import MAX_UINT256

CONTRACTS = Path(__file__).resolve().parents[2] / "src" / "tantieme" / "contracts"

ONE_TOKEN = 10**18
BPS = 10_000

WORK, DATASET, MODEL, PROMPT, OUTPUT, AGENT = range(6)

TOKEN_NAME = "tantieme AI Token"
TOKEN_SYMBOL = "TAI"
TOKEN_VERSION = "1"

# The tests run on the embedded chain's id, where the faucet may mint.
LOCAL_CHAIN_ID = 82_684_363
# A public chain's id (Base), where nobody may mint.
PUBLIC_CHAIN_ID = 8_453

METADATA_URI = "ipfs://bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy5"  # 60 chars
TERMS_URI = "https://tantieme.org/licenses/pil-commercial-remix/v1"

# Hypothesis settings for contract fuzzing (`@FUZZ`): each example opens its
# own anchor (`fresh_state`), so sharing function-scoped fixtures is safe.
FUZZ = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


# ----------------------------------------------------------------- terms --


@dataclass(frozen=True)
class Terms:
    """`LicenseTerms` in the contract's field order (deny by default)."""

    commercial_use: bool = False
    attribution: bool = False
    derivatives_allowed: bool = False
    derivatives_approval: bool = False
    derivatives_reciprocal: bool = False
    royalty_bps: int = 0
    minting_fee: int = 0
    expiration: int = 0
    currency: str = ZERO_ADDRESS
    uri: str = ""
    ai_training: bool = False
    ai_fine_tuning: bool = False
    ai_retrieval: bool = False
    ai_output_commercial: bool = False

    def abi(self) -> tuple:
        return astuple(self)

    def but(self, **changes) -> Terms:
        return replace(self, **changes)


NOTHING = Terms()
OPEN = Terms(
    commercial_use=True,
    attribution=True,
    derivatives_allowed=True,
    royalty_bps=1_000,
    minting_fee=ONE_TOKEN,
    uri=TERMS_URI,
    ai_training=True,
    ai_fine_tuning=True,
    ai_retrieval=True,
    ai_output_commercial=True,
)
NON_COMMERCIAL = OPEN.but(commercial_use=False, minting_fee=0, ai_output_commercial=False)
NO_AI = OPEN.but(
    ai_training=False, ai_fine_tuning=False, ai_retrieval=False, ai_output_commercial=False
)


@pytest.fixture
def terms() -> dict[str, Terms]:
    """Presets: `open` (everything, 10 % royalty, 1 TAI licences),
    `non_commercial`, `no_ai`, `nothing` (deny by default)."""
    return {"open": OPEN, "non_commercial": NON_COMMERCIAL, "no_ai": NO_AI, "nothing": NOTHING}


def terms_as_returned(terms: Terms, token: str) -> tuple:
    """What `licenseTerms` returns for `terms`: the currency is the token."""
    return terms.but(currency=token).abi()


# ------------------------------------------------------------- isolation --


@pytest.fixture(scope="session", autouse=True)
def _local_chain() -> None:
    """Every test starts on a local chain id (anchors restore it)."""
    boa.env.evm.patch.chain_id = LOCAL_CHAIN_ID


@pytest.fixture(scope="session", autouse=True)
def _no_storage_dumps() -> Iterator[None]:
    """Show a reverting contract without its storage.

    titanoboa (0.2.8) writes the contract's storage into every revert's
    message, expected reverts included, by decoding each slot the session
    has ever written at that address (its trace of SSTOREs is never
    cleared, anchors or not): on the session's shared deployment a revert
    grows slower with every test, up to 0.2 s each in the state machines
    (most of their time). The message keeps the contract, the function,
    the source line and the reason.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(StorageModel, "dump", lambda self: FrameDetail("storage"))
        yield


@pytest.fixture(autouse=True)
def _isolated() -> Iterator[None]:
    with boa.env.anchor():
        yield


@contextlib.contextmanager
def fresh_state() -> Iterator[None]:
    """Anchor for one hypothesis example."""
    with boa.env.anchor():
        yield


# ---------------------------------------------------------------- personas --
# Session-scoped: the same addresses in every test (state is anchored).


def _persona(name: str) -> str:
    return boa.env.generate_address(name)


@pytest.fixture(scope="session")
def deployer() -> str:
    return _persona("deployer")


@pytest.fixture(scope="session")
def creator() -> str:
    return _persona("creator")


@pytest.fixture(scope="session")
def operator() -> str:
    return _persona("operator")


@pytest.fixture(scope="session")
def asker() -> str:
    return _persona("asker")


@pytest.fixture(scope="session")
def stranger() -> str:
    return _persona("stranger")


@dataclass(frozen=True)
class Signer:
    """An account with a private key, for EIP-712 signatures."""

    address: str
    key: bytes


@pytest.fixture(scope="session")
def payer() -> Signer:
    """A key-holding persona (EIP-2612 / EIP-3009 signer)."""
    account = Account.from_key(keccak(b"tantieme payer"))
    return Signer(account.address, account.key)


# ------------------------------------------------------------- contracts --
# Compiled once; the wired system is deployed once per session, outside
# every test's anchor, so each test starts from the same fresh deployment.


@pytest.fixture(scope="session")
def token_deployer():
    return boa.load_partial(str(CONTRACTS / "ai_token.vy"))


@pytest.fixture(scope="session")
def registry_deployer():
    return boa.load_partial(str(CONTRACTS / "ip_asset_registry.vy"))


@pytest.fixture(scope="session")
def router_deployer():
    return boa.load_partial(str(CONTRACTS / "royalty_router.vy"))


_VAULT = boa.load_partial(str(CONTRACTS / "royalty_vault.vy"))
_METADATA = boa.load_partial(str(CONTRACTS / "asset_metadata.vy"))


@dataclass(frozen=True)
class System:
    token: object
    registry: object
    router: object
    vault_implementation: object
    asset_metadata: object


def deploy_system(
    token_deployer, registry_deployer, router_deployer, deployer: str, wire: bool = True
) -> System:
    """Token, vault implementation, metadata renderer, registry and router,
    in deployment order, and the registry wired to the router."""
    with boa.env.prank(deployer):
        token = token_deployer.deploy(TOKEN_NAME, TOKEN_SYMBOL, TOKEN_NAME, TOKEN_VERSION, 0)
        vault = _VAULT.deploy()
        metadata = _METADATA.deploy()
        registry = registry_deployer.deploy(token.address, vault.address, metadata.address)
        router = router_deployer.deploy(token.address, registry.address)
        if wire:
            registry.setRoyaltyRouter(router.address)
    return System(token, registry, router, vault, metadata)


@pytest.fixture(scope="session")
def system(token_deployer, registry_deployer, router_deployer, deployer) -> System:
    return deploy_system(token_deployer, registry_deployer, router_deployer, deployer)


@pytest.fixture
def token(system):
    return system.token


@pytest.fixture
def registry(system):
    return system.registry


@pytest.fixture
def router(system):
    return system.router


@pytest.fixture
def unwired(token_deployer, registry_deployer, router_deployer, deployer) -> System:
    """A fresh system whose registry does not know its router yet."""
    return deploy_system(token_deployer, registry_deployer, router_deployer, deployer, wire=False)


# ------------------------------------------------------------- factories --


@pytest.fixture
def fund(token, router, deployer) -> Callable[..., None]:
    """Mint tokens (the dev faucet) and approve the router for everything."""

    def _fund(account: str, amount: int = 1_000 * ONE_TOKEN, approve: bool = True) -> None:
        token.mint(account, amount, sender=deployer)
        if approve:
            token.approve(router.address, MAX_UINT256, sender=account)

    return _fund


_content_counter = itertools.count(1)


def new_content_hash() -> bytes:
    return keccak(b"tantieme content %d" % next(_content_counter))


SALT = keccak(b"tantieme test salt")


def commitment(registrant: str, content_hash: bytes, salt: bytes = SALT) -> bytes:
    """keccak256(abi.encode(registrant, content_hash, salt))."""
    return keccak(abi_encode(["address", "bytes32", "bytes32"], [registrant, content_hash, salt]))


def next_block() -> None:
    """Mine on: a commitment is usable from the next block (time stands still)."""
    boa.env.evm.patch.block_number += 1


def funded_people(token, minter: str, label: str, count: int, wealth: int, *spenders: str) -> list[str]:
    """`count` new accounts (`{label} person {i}`), each minted `wealth` tokens by `minter`, each
    having approved every one of `spenders` for all its tokens."""
    people = [boa.env.generate_address(f"{label} person {i}") for i in range(count)]
    for person in people:
        token.mint(person, wealth, sender=minter)
        for spender in spenders:
            token.approve(spender, MAX_UINT256, sender=person)
    return people


def register_asset(registry, sender: str, kind: int, content_hash: bytes, uri: str,
                   parents, terms: Terms, salt: bytes = SALT) -> int:
    """Commit, then register in the next block: the two steps of registration."""
    registry.commitRegistration(commitment(sender, content_hash, salt), sender=sender)
    next_block()
    return registry.register(kind, content_hash, uri, list(parents), terms.abi(), salt, sender=sender)


def new_work(registry, owner: str, terms: Terms = OPEN, parents: tuple[int, ...] = ()) -> int:
    """A WORK of new content registered by `owner` (`make_asset` without fixtures)."""
    return register_asset(registry, owner, WORK, new_content_hash(), METADATA_URI, parents, terms)


@pytest.fixture
def make_asset(registry, creator) -> Callable[..., int]:
    """Register an asset and return its id; defaults: a WORK by `creator`
    under `open` terms, no parents."""

    def _make(
        owner: str | None = None,
        kind: int = WORK,
        terms: Terms = OPEN,
        parents: list[int] | tuple[int, ...] = (),
        uri: str = METADATA_URI,
        content_hash: bytes | None = None,
    ) -> int:
        return register_asset(
            registry, owner or creator, kind, content_hash or new_content_hash(), uri, parents, terms
        )

    return _make


@pytest.fixture
def license_for(registry, fund) -> Callable[..., None]:
    """Buy `amount` licence tokens of each parent for `holder`."""

    def _license(holder: str, *parents: int, amount: int = 1) -> None:
        fund(holder)
        for parent in parents:
            registry.mintLicense(parent, amount, holder, sender=holder)

    return _license


def events(contract, name: str) -> list:
    """Decoded logs named `name` from the contract's last call (read them
    before any other call on that contract, views included)."""
    return [log for log in contract.get_logs() if type(log).__name__ == name]
