"""A tantieme node: its settings, its chain connection and its contracts.

    with Node.open() as node:          # the node set up by `tantieme init`
        node.registry.functions.totalAssets().call()

Settings live in `TANTIEME_HOME/node.json`; `init` writes them once.
"""

from __future__ import annotations

import dataclasses

import json
import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from eth_account.signers.local import LocalAccount
from web3.contract import Contract

from tantieme.amounts import MAX_UINT256, TOKEN_DECIMALS
from tantieme.assets.store import ContentStore
from tantieme.chain import EMBEDDED_CHAIN_ID, Connection, connect, create_keystore
from tantieme.chain.accounts import ENV_PASSPHRASE, ENV_PRIVATE_KEY, dev_account, keystore_path
from tantieme.chain.deploy import (
    Deployment,
    contract,
    deployment_path,
    ensure_deployed,
    is_live,
    recorded_deployment,
)
from tantieme.config import home
from tantieme.errors import ConfigError
from tantieme.files import write_json
from tantieme.locking import DirectoryLock, locked

if TYPE_CHECKING:
    from tantieme import maintenance

ANVIL_CHAIN_ID = 31337
LOCAL_CHAIN_IDS = frozenset({EMBEDDED_CHAIN_ID, ANVIL_CHAIN_ID})
FAUCET_AMOUNT = 10_000 * 10**TOKEN_DECIMALS
_CALL_GAS = 300_000


def parse_address(text: str) -> str:
    """A checksummed address; a clear error for anything else."""
    from web3 import Web3

    try:
        return Web3.to_checksum_address(text)
    except ValueError:
        raise ConfigError(f"{text!r} is not an Ethereum address (0x followed by 40 hex digits)") from None


@dataclass
class Settings:
    """How this node reaches its chain and who signs for it."""

    chain: str = "embedded"
    rpc_url: str | None = None
    # "dev" (a public dev key: local chains only) or "keystore".
    signer: str = "dev"
    keystore: str | None = None
    address: str | None = None
    # A payer's records settle by themselves once this many are pending...
    batch_size: int = 100
    # ...or once the oldest has waited this long (seconds).
    batch_max_age_s: int = 3600

    @staticmethod
    def path() -> Path:
        return home() / "node.json"

    @classmethod
    def load(cls) -> Settings:
        from tantieme.maintenance import interrupted_restore

        if interrupted_restore():
            raise ConfigError(
                f"a restore into {home()} was interrupted: run `tantieme restore --resume` to finish it"
            )
        path = cls.path()
        if not path.is_file():
            raise ConfigError("this node is not set up yet: run `tantieme init` first")
        try:
            return cls(**json.loads(path.read_text()))
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"{path} is damaged ({exc}); fix it or run `tantieme init` again") from None

    def save(self) -> None:
        write_json(self.path(), asdict(self))


HOME = "this node's home"


@contextmanager
def no_writers(on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold every lock a writer of this home takes (backup, restore, index repair): the
    embedded chain's, and the home's own (writers on a JSON-RPC chain take it)."""
    from tantieme.chain.embedded import CHAIN

    with ExitStack() as stack:
        if (home() / "chain").is_dir():
            stack.enter_context(locked(home() / "chain", CHAIN, on_wait=on_wait))
        stack.enter_context(locked(home(), HOME, on_wait=on_wait))
        yield


@dataclass
class Node:
    """A connection to the chain with tantieme's contracts bound, and the content store."""

    settings: Settings
    conn: Connection
    deployment: Deployment
    store: ContentStore = field(default_factory=lambda: ContentStore(home() / "store"))
    lock: DirectoryLock | None = field(default=None, repr=False)
    """A writer's lock of the home, on a JSON-RPC chain (the embedded chain locks itself)."""

    @classmethod
    def open(
        cls,
        passphrase: Callable[[], str] | None = None,
        *,
        readonly: bool = False,
        on_wait: Callable[[str], None] | None = None,
        account: LocalAccount | None = None,
    ) -> Node:
        """Open the node that `tantieme init` set up.

        `readonly` reads beside a running writer: no lock, no transactions, no key
        (a keystore node asks no passphrase). A writer waits for another writer of
        this home (the embedded chain's lock, or the home's on a JSON-RPC chain),
        telling `on_wait` whom it waits for. `account` is the node's key, unlocked
        already (`signer`): a long-running process opens the node many times.
        """
        settings = Settings.load()
        lock = None if readonly or settings.chain == "embedded" else DirectoryLock(home(), HOME, on_wait=on_wait)
        try:
            conn = _connect(settings, passphrase, readonly=readonly, on_wait=on_wait, account=account)
        except BaseException:
            if lock is not None:
                lock.release()
            raise
        try:
            deployment = recorded_deployment(conn.chain_id)
            if deployment is None:
                raise ConfigError(
                    f"tantieme's contracts are not deployed on chain {conn.chain_id}: "
                    "run `tantieme init`"
                )
            if not is_live(conn, deployment):
                raise ConfigError(
                    f"the contracts this node recorded on chain {conn.chain_id} (ledger "
                    f"{deployment.ledger}) are not on it any more: was the chain reset? "
                    "`tantieme init --force` deploys new ones (after a backup); the assets and "
                    "records made with the old ones stay with the old chain"
                )
        except BaseException:
            conn.close()
            if lock is not None:
                lock.release()
            raise
        return cls(settings=settings, conn=conn, deployment=deployment, lock=lock)

    @property
    def account(self) -> LocalAccount:
        return self.conn.account

    @property
    def address(self) -> str:
        """The account this node acts as (a read-only node: the one it signs for when it writes)."""
        if self.conn.readonly and self.settings.address:
            return self.settings.address
        return self.conn.account.address

    @property
    def is_local(self) -> bool:
        """True on the embedded chain or a local dev node (public dev keys, faucet)."""
        return self.conn.chain_id in LOCAL_CHAIN_IDS

    # Bound once per node: building a binding validates its ABI (~14 ms).
    @cached_property
    def token(self) -> Contract:
        return contract(self.conn, "ai_token", self.deployment.token)

    @cached_property
    def registry(self) -> Contract:
        return contract(self.conn, "ip_asset_registry", self.deployment.registry)

    @cached_property
    def router(self) -> Contract:
        return contract(self.conn, "royalty_router", self.deployment.router)

    @cached_property
    def ledger(self) -> Contract:
        return contract(self.conn, "interaction_ledger", self.deployment.ledger)

    def as_account(self, account: LocalAccount) -> Node:
        """The same node, acting and signing as `account` (for scripts acting for several people,
        or a payer's view of a node's chain, read-only)."""
        conn = Connection(
            w3=self.conn.w3,
            account=account,
            chain_id=self.conn.chain_id,
            backend=self.conn.backend,
            embedded=None,
            readonly=self.conn.readonly,
        )
        settings = dataclasses.replace(self.settings, address=account.address)
        return Node(settings=settings, conn=conn, deployment=self.deployment, store=self.store)

    def balance(self, address: str | None = None) -> int:
        """AI token balance in token wei."""
        return self.token.functions.balanceOf(address or self.address).call()

    def ensure_allowance(self, amount: int) -> None:
        """Let the royalty router pull `amount` from this account (approve once, unlimited)."""
        allowance = self.token.functions.allowance(self.address, self.deployment.router).call()
        if allowance < amount:
            self.conn.transact(
                self.token.functions.approve(self.deployment.router, MAX_UINT256), gas=_CALL_GAS
            )

    def faucet(self, to: str, amount: int = FAUCET_AMOUNT) -> None:
        """Mint test tokens to `to` (local chains only: the node's dev key is the minter)."""
        if not self.is_local:
            raise ConfigError("the faucet exists only on local chains; buy AI tokens on this chain")
        if not self.faucet_open:
            raise ConfigError(
                "the faucet is closed: the AI token's minter role went to the DAO with `tantieme dao handover`; "
                "get AI tokens from an account that holds some (`tantieme transfer`)"
            )
        minter = self.as_account(dev_account(0))
        minter.conn.transact(minter.token.functions.mint(to, amount), gas=_CALL_GAS)

    @property
    def faucet_open(self) -> bool:
        """Whether the faucet's key (dev key 0) may mint: not once the DAO owns the AI token."""
        return self.is_local and self.token.functions.is_minter(dev_account(0).address).call()

    def close(self) -> None:
        self.conn.close()
        if self.lock is not None:
            self.lock.release()

    def __enter__(self) -> Node:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class InitResult:
    chain: str
    chain_id: int
    address: str
    signer: str
    deployment: Deployment
    deployed: bool
    funded: int
    balance: int
    backup: str | None = None
    """Where `--force` saved the home before deploying anew or switching chains."""
    disputes: str | None = None
    """What this home's dispute module cannot do, by its router's age, and the way out (`disputes.limitation`)."""


def init(
    chain: str = "embedded",
    rpc_url: str | None = None,
    passphrase: Callable[[], str] | None = None,
    *,
    force: bool = False,
) -> InitResult:
    """Set up this node: account, contracts (deployed if needed), and test funds on local chains.

    On the embedded chain or a local dev node (anvil) the account is dev key 0,
    public and marked as such; on any other chain it is `TANTIEME_PRIVATE_KEY`
    or a passphrase-encrypted keystore, created if missing. Running it again is
    harmless: nothing is deployed or funded twice.

    It never silently orphans what the home holds: switching a used home to
    another chain, or deploying anew where this home's deployment record is
    damaged, missing or gone from the chain while the home holds records, works
    or models, is refused with what to do instead. `force` does it anyway,
    after a backup of the home (`InitResult.backup`).
    """
    from tantieme import maintenance
    from tantieme.maintenance import backup as backups

    settings = Settings(chain=chain, rpc_url=rpc_url)
    held = maintenance.holdings()
    switching = _switching(settings, held)
    if switching and not force:
        raise ConfigError(
            f"this home ({home()}) is set up for {switching} and holds {held.describe()}; "
            f"`tantieme init --chain {chain}` would leave them behind. Use another home "
            "(TANTIEME_HOME=DIR tantieme init ...), or add --force to switch anyway (a backup is written first)"
        )
    saved: str | None = None
    probe = connect(chain, rpc_url=rpc_url, account=dev_account(0))
    try:
        local = probe.chain_id in LOCAL_CHAIN_IDS
        problem = _deployment_problem(probe)
        reason = problem if held.on(probe.chain_id) else None
        if reason and not force:
            raise ConfigError(
                f"{reason}; deploying new contracts would orphan the {held.describe()} this home "
                "holds. Run `tantieme doctor --repair` to recover the deployment from the chain, "
                "or add --force to deploy anew (a backup is written first)"
            )
        if force and (switching or reason) and not held.empty:
            probe.close()  # the backup waits for the chain's writers: this one included
            saved = str(backups.backup(backups.automatic_path("init")).path)
            probe = connect(chain, rpc_url=rpc_url, account=dev_account(0))
        if problem:  # a damaged or stale record: deploy afresh
            deployment_path(probe.chain_id).unlink(missing_ok=True)
        if local:
            settings.signer = "dev"
        else:
            probe.close()
            settings.signer = "keystore"
            if not os.environ.get(ENV_PRIVATE_KEY) and not keystore_path().exists():
                secret = os.environ.get(ENV_PASSPHRASE) or (passphrase() if passphrase else None)
                if not secret:
                    raise ConfigError(
                        f"a real chain needs a keystore passphrase: set {ENV_PASSPHRASE} or answer the prompt"
                    )
                create_keystore(secret)
            settings.keystore = str(keystore_path())
            probe = _connect(settings, passphrase)
        settings.address = probe.account.address
        deployment, deployed = ensure_deployed(probe, local=local)
        settings.save()
    finally:
        probe.close()
    from tantieme.disputes import limitation

    with Node.open(passphrase) as node:
        funded = 0
        if node.faucet_open and node.balance() < FAUCET_AMOUNT:
            funded = FAUCET_AMOUNT - node.balance()
            node.faucet(node.address, funded)
        node.ensure_allowance(FAUCET_AMOUNT)
        return InitResult(
            chain=chain,
            chain_id=node.conn.chain_id,
            address=node.address,
            signer=settings.signer,
            deployment=deployment,
            deployed=deployed,
            funded=funded,
            balance=node.balance(),
            backup=saved,
            disputes=limitation(node),
        )


def _switching(new: Settings, held: maintenance.Holdings) -> str | None:
    """The chain a used home is set up for, if `new` names another one."""
    if held.empty or not Settings.path().is_file():
        return None
    try:
        old = Settings.load()
    except ConfigError:
        return None  # damaged settings: the deployment check below still guards the assets
    if (old.chain, old.rpc_url) == (new.chain, new.rpc_url):
        return None
    return "the embedded chain" if old.chain == "embedded" else f"the chain at {old.rpc_url}"


def _deployment_problem(conn: Connection) -> str | None:
    """What is wrong with this home's deployment record for `conn`'s chain, if anything."""
    try:
        recorded = recorded_deployment(conn.chain_id)
    except ConfigError:
        return f"this home's deployment record for chain {conn.chain_id} is damaged"
    if recorded is None:
        return f"this home has no deployment record for chain {conn.chain_id}"
    if not is_live(conn, recorded):
        return (
            f"the contracts recorded for chain {conn.chain_id} (ledger {recorded.ledger}) are not "
            "on it any more (was the chain reset?)"
        )
    return None


def signer(settings: Settings, passphrase: Callable[[], str] | None = None) -> LocalAccount:
    """The node's signing key: dev key 0, or its keystore unlocked (`TANTIEME_PRIVATE_KEY`,
    `TANTIEME_PASSPHRASE` or `passphrase()`)."""
    from tantieme.chain.accounts import load_account

    return dev_account(0) if settings.signer == "dev" else load_account(settings.keystore, passphrase)


def _connect(
    settings: Settings,
    passphrase: Callable[[], str] | None,
    *,
    readonly: bool = False,
    on_wait: Callable[[str], None] | None = None,
    account: LocalAccount | None = None,
) -> Connection:
    access = {"readonly": readonly, "on_wait": on_wait}
    if account is not None:
        return connect(settings.chain, rpc_url=settings.rpc_url, account=account, **access)
    if settings.signer == "dev" or readonly:  # reading needs no key: dev key 0 stands in, never signs
        return connect(settings.chain, rpc_url=settings.rpc_url, account=dev_account(0), **access)
    return connect(
        settings.chain, rpc_url=settings.rpc_url, keystore=settings.keystore,
        passphrase=passphrase, **access,
    )
