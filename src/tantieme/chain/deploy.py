"""Idempotent deployment: the contracts are deployed once per chain.

Addresses are recorded per chain id in `TANTIEME_HOME/deployments/<chain id>.json`
and reused while code is found at them; a chain that was reset (an anvil
restarted without state) is deployed again. A deployment is recorded only when
complete, so a crash half-way deploys afresh on the next run. A damaged record
is an error, never a reason to deploy again: `from_ledger` recovers the
addresses from the chain (the ledger knows its token, registry and router).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from web3 import Web3
from web3.contract import Contract

from tantieme.addresses import ZERO_ADDRESS
from tantieme.chain import artifacts
from tantieme.chain.backend import Connection
from tantieme.chain.logs import raw_logs
from tantieme.config import home
from tantieme.errors import ConfigError
from tantieme.files import write_json

TOKEN_NAME = "tantieme AI Token"
TOKEN_SYMBOL = "TAI"
TOKEN_EIP712_VERSION = "1"
# Minted to the deployer on chains without a faucet (the token mints on local chains only).
INITIAL_SUPPLY = 10**9 * 10**18
# The machine tax and the operator's cut of every batch, until the DAO changes them.
COMMONS_BPS = 500
OPERATOR_BPS = 1000

DAO_NAME = "tantieme DAO"
# The agent identity registry's ERC-721 name, by which `find_agents` knows it.
_IDENTITY_NAME = "tantieme Agent Identity"
# snekmate's timelock roles: keccak256 of their names, and the admin's (zero).
_TIMELOCK_ROLES = tuple(Web3.keccak(text=role) for role in ("PROPOSER_ROLE", "CANCELLER_ROLE", "EXECUTOR_ROLE"))
_ADMIN_ROLE = bytes(32)

# Deployment gas, passed explicitly (no estimates); generous upper bounds.
_DEPLOY_GAS = 8_000_000
_CALL_GAS = 200_000


@dataclass(frozen=True)
class Deployment:
    """Where tantieme's contracts live on one chain."""

    chain_id: int
    token: str
    registry: str
    router: str
    ledger: str
    # The ledger's commons when recorded; a DAO proposal may change it: read the ledger's `commons()`.
    commons: str
    block: int
    # The DAO (none in records written before it was deployed with the rest).
    votes: str | None = None
    timelock: str | None = None
    governor: str | None = None
    # The ERC-8004 agent registries (none in records written before they were deployed).
    identity: str | None = None
    reputation: str | None = None
    # The commons pool (none in records written before it was deployed with the rest).
    commons_pool: str | None = None
    # The model-offer registry over the identity registry (none in records written before).
    offers: str | None = None
    # The dispute module (none in records written before it was deployed with the rest).
    disputes: str | None = None
    # Creators' reputation votes, read by the DAO's governor (none in records whose DAO predates them).
    reputation_votes: str | None = None


def deployment_path(chain_id: int) -> Path:
    return home() / "deployments" / f"{chain_id}.json"


def recorded_deployment(chain_id: int) -> Deployment | None:
    """The deployment this home recorded for `chain_id`, if any; `ConfigError` if damaged."""
    path = deployment_path(chain_id)
    if not path.is_file():
        return None
    try:
        return Deployment(**json.loads(path.read_text()))
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"the deployment record {path} is damaged ({type(exc).__name__}: {exc}); "
            "run `tantieme doctor --repair` to recover it from the chain"
        ) from None


def is_live(conn: Connection, deployment: Deployment) -> bool:
    """Whether the chain still has code at every address of `deployment`."""
    addresses = (deployment.token, deployment.registry, deployment.router, deployment.ledger,
                 deployment.votes, deployment.timelock, deployment.governor, deployment.commons_pool,
                 deployment.identity, deployment.reputation, deployment.offers, deployment.disputes,
                 deployment.reputation_votes)
    return all(conn.w3.eth.get_code(address) for address in addresses if address is not None)


def load_deployment(conn: Connection) -> Deployment | None:
    """The recorded deployment on this chain, if its code is still there."""
    recorded = recorded_deployment(conn.chain_id)
    return recorded if recorded is not None and is_live(conn, recorded) else None


def from_ledger(conn: Connection, ledger: str) -> Deployment:
    """The deployment an `InteractionLedger` at `ledger` belongs to, read from the chain.

    `block` is the block that created the ledger (found by bisection on its code).
    The ledger's commons is the deployment's commons pool if it is one for this
    registry. The DAO is not named by the ledger: `with_dao` finds it.
    """
    w3 = conn.w3
    if not w3.eth.get_code(ledger):
        raise ConfigError(f"there is no contract at {ledger} on chain {conn.chain_id}")
    bound = contract(conn, "interaction_ledger", ledger).functions
    try:
        token, registry, router = bound.token().call(), bound.registry().call(), bound.router().call()
        commons = bound.commons().call()
    except Exception:  # noqa: BLE001  (any other contract: web3 raises several kinds)
        raise ConfigError(f"{ledger} on chain {conn.chain_id} is not a tantieme InteractionLedger") from None
    low, high = 0, w3.eth.block_number
    while low < high:
        middle = (low + high) // 2
        if w3.eth.get_code(ledger, block_identifier=middle):
            high = middle
        else:
            low = middle + 1
    return Deployment(
        chain_id=conn.chain_id, token=token, registry=registry, router=router, ledger=ledger,
        commons=commons, block=low, commons_pool=commons if is_commons_pool(conn, commons, registry) else None,
    )


def with_dao(conn: Connection, deployment: Deployment) -> Deployment:
    """`deployment` with its DAO, found on chain (`find_dao`), if there is one."""
    dao = find_dao(conn, deployment.token, deployment.block)
    return replace(deployment, **asdict(dao)) if dao else deployment


def record(deployment: Deployment) -> None:
    """Write `deployment` as this home's record for its chain (atomically)."""
    write_json(deployment_path(deployment.chain_id), asdict(deployment))


def ensure_deployed(conn: Connection, *, local: bool) -> tuple[Deployment, bool]:
    """The deployment on this chain, deploying it first if needed.

    The commons pool receives the machine tax. On a `local` chain the token
    starts empty (its faucet mints); elsewhere the deployer receives
    `INITIAL_SUPPLY`, all there will ever be. A deployment recorded before the
    DAO or the commons pool existed gains them, once. Returns the deployment
    and whether this call deployed anything.
    """
    dao_parameters, commons_parameters = (LOCAL_DAO, LOCAL_COMMONS) if local else (PUBLIC_DAO, PUBLIC_COMMONS)
    disputes_parameters = LOCAL_DISPUTES if local else PUBLIC_DISPUTES
    existing = load_deployment(conn)
    if existing is not None:
        upgraded = existing
        if upgraded.commons_pool is None:  # recorded before the commons pool was
            upgraded = add_commons_pool(conn, upgraded, commons_parameters)
        if upgraded.governor is None:  # recorded before the DAO was part of the deployment
            upgraded = replace(upgraded, **asdict(deploy_dao(conn, upgraded, dao_parameters)))
        if upgraded.identity is None:  # recorded before the agent registries were
            upgraded = replace(upgraded, **asdict(deploy_agents(conn, upgraded.ledger)))
        if upgraded.offers is None:  # recorded before the offer registry was
            upgraded = replace(upgraded, offers=deploy_offers(conn, upgraded.identity, upgraded.registry))
        if upgraded.disputes is None:  # recorded before the dispute module was
            upgraded = add_disputes(conn, upgraded, disputes_parameters)
        if upgraded != existing:
            record(upgraded)
        return upgraded, upgraded != existing
    supply = 0 if local else INITIAL_SUPPLY
    token = _deploy(conn, "ai_token", TOKEN_NAME, TOKEN_SYMBOL, TOKEN_NAME, TOKEN_EIP712_VERSION, supply)
    vault = _deploy(conn, "royalty_vault")
    metadata = _deploy(conn, "asset_metadata")
    registry = _deploy(conn, "ip_asset_registry", token.address, vault.address, metadata.address)
    router = _deploy(conn, "royalty_router", token.address, registry.address)
    receipt = conn.transact(registry.functions.setRoyaltyRouter(router.address), gas=_CALL_GAS)
    pool = deploy_commons_pool(conn, token.address, registry.address, commons_parameters)
    dat_metadata = _deploy(conn, "dat_metadata")
    ledger = _deploy(
        conn, "interaction_ledger", token.address, registry.address, router.address,
        pool, COMMONS_BPS, OPERATOR_BPS, dat_metadata.address,
    )
    core = Deployment(
        chain_id=conn.chain_id,
        token=token.address,
        registry=registry.address,
        router=router.address,
        ledger=ledger.address,
        commons=pool,
        block=receipt["blockNumber"],
        commons_pool=pool,
    )
    dao = deploy_dao(conn, core, dao_parameters)
    agents = deploy_agents(conn, ledger.address)
    offers = deploy_offers(conn, agents.identity, registry.address)
    disputes = deploy_disputes(conn, token.address, registry.address, router.address, disputes_parameters)
    deployment = replace(core, **asdict(dao), **asdict(agents), offers=offers, disputes=disputes)
    record(deployment)
    return deployment, True


@dataclass(frozen=True)
class DaoParameters:
    """The DAO's settings at deployment; its own proposals change them later."""

    voting_delay: int  # blocks from a proposal to its snapshot (at least 1)
    voting_period: int  # blocks of voting
    proposal_threshold: int  # staked token wei a proposer needs
    quorum_percent: int  # of the staked supply, For + Abstain
    timelock_delay: int  # seconds between queueing and execution
    withdrawal_delay: int  # seconds before unstaked tokens return
    reputation_half_life: int  # blocks in which a creator's reputation halves


# Public chains: voting opens the block after the next and lasts a week of
# 12-second blocks; the timelock waits 2 days; unstaked tokens return after
# 9 days (voting and the timelock), so whoever voted keeps its stake until
# the outcome runs; reputation halves in 90 days of 12-second blocks.
PUBLIC_DAO = DaoParameters(
    voting_delay=1, voting_period=50_400, proposal_threshold=1_000 * 10**18, quorum_percent=4,
    timelock_delay=2 * 86_400, withdrawal_delay=9 * 86_400, reputation_half_life=648_000,
)
# Local chains (one block per transaction, wall-clock time): a proposal can
# run its course in a demo; reputation halves in 10,000 transactions.
LOCAL_DAO = DaoParameters(
    voting_delay=1, voting_period=5, proposal_threshold=10**18, quorum_percent=4,
    timelock_delay=2, withdrawal_delay=60, reputation_half_life=10_000,
)


@dataclass(frozen=True)
class DaoDeployment:
    """Where the DAO's contracts live: staked votes, timelock, governor, and the
    creators' reputation votes it reads (none for a governor that predates them)."""

    votes: str
    timelock: str
    governor: str
    reputation_votes: str | None = None


def deploy_dao(conn: Connection, core: Deployment, parameters: DaoParameters = PUBLIC_DAO) -> DaoDeployment:
    """Deploy staked votes over `core`'s token, reputation votes over its ledger
    (`router_reputation`), a timelock and a governor whose quadratic voters are its
    commons pool's members, and wire them.

    The governor becomes the timelock's only proposer, canceller and executor;
    the deploying account, the timelock's admin while it grants those roles,
    renounces, so the timelock answers to proposals alone.
    """
    p = parameters
    votes = _deploy(conn, "staked_votes", core.token, p.withdrawal_delay)
    reputation = router_reputation(conn, core, p.reputation_half_life)
    timelock = _deploy(conn, "timelock", p.timelock_delay, [], [], conn.account.address)
    governor = _deploy(
        conn, "governor", DAO_NAME, votes.address, timelock.address, core.commons_pool, reputation or ZERO_ADDRESS,
        p.voting_delay, p.voting_period, p.proposal_threshold, p.quorum_percent,
    )
    for role in _TIMELOCK_ROLES:
        conn.transact(timelock.functions.grantRole(role, governor.address), gas=_CALL_GAS)
    conn.transact(timelock.functions.renounceRole(_ADMIN_ROLE, conn.account.address), gas=_CALL_GAS)
    return DaoDeployment(
        votes=votes.address, timelock=timelock.address, governor=governor.address,
        reputation_votes=reputation,
    )


def router_reputation(conn: Connection, core: Deployment, half_life: int) -> str | None:
    """The reputation votes `core`'s router tells its ledger pools' credits: the ones it is
    wired to, else new ones over `core`'s ledger, wired now (by the router's deployer); None
    for a router from before the wiring (its credits earn no reputation)."""
    router = contract(conn, "royalty_router", core.router).functions
    try:
        wired = router.reputation().call()
    except Exception:  # noqa: BLE001  (a router from before reputation: web3 raises several kinds)
        return None
    if wired != ZERO_ADDRESS:
        return wired
    reputation = _deploy(conn, "reputation_votes", core.ledger, core.router, core.registry, half_life)
    conn.transact(router.setReputation(reputation.address), gas=_CALL_GAS)
    return reputation.address


def find_dao(conn: Connection, token: str, from_block: int) -> DaoDeployment | None:
    """The first DAO deployed since `from_block` whose votes stake `token`.

    Governors announce their timelock at deployment (`TimelockChange`, as
    OpenZeppelin's do); tantieme's follows its ledger, so the first match is ours.
    """
    topic = Web3.to_hex(Web3.keccak(text="TimelockChange(address,address)"))
    for log in raw_logs(conn.w3, {"topics": [topic]}, from_block):
        governor = contract(conn, "governor", log["address"]).functions
        try:
            votes, timelock = governor.token().call(), governor.timelock().call()
            asset = contract(conn, "staked_votes", votes).functions.asset().call()
        except Exception:  # noqa: BLE001  (another project's governor: web3 raises several kinds)
            continue
        if asset == token:
            return DaoDeployment(
                votes=votes, timelock=timelock, governor=log["address"], reputation_votes=_reputation_of(governor)
            )
    return None


def _reputation_of(governor) -> str | None:
    """The reputation votes a governor reads; None for one that predates them or reads none."""
    try:
        reputation = governor.reputation().call()
    except Exception:  # noqa: BLE001  (an older governor: web3 raises several kinds)
        return None
    return None if reputation == ZERO_ADDRESS else reputation


@dataclass(frozen=True)
class AgentDeployment:
    """Where the ERC-8004 agent registries live: identity and (paid) reputation."""

    identity: str
    reputation: str


def deploy_agents(conn: Connection, ledger: str) -> AgentDeployment:
    """Deploy the agent identity registry, then the reputation registry over it and `ledger`
    (whose settled records prove the payments feedback needs). Neither has an owner."""
    identity = _deploy(conn, "agent_identity")
    reputation = _deploy(conn, "agent_reputation", identity.address, ledger)
    return AgentDeployment(identity=identity.address, reputation=reputation.address)


def find_agents(conn: Connection, ledger: str, from_block: int) -> AgentDeployment | None:
    """The first agent registries deployed since `from_block` whose reputation reads `ledger`.

    The identity registry announces its creation (snekmate's `ownable` logs
    `OwnershipTransferred` from the zero address); `deploy_agents` deploys the
    reputation registry as the same account's next transaction, so its address
    follows from the creator's nonce.
    """
    from web3.utils.address import get_create_address

    topic = Web3.to_hex(Web3.keccak(text="OwnershipTransferred(address,address)"))
    logs = raw_logs(conn.w3, {"topics": [topic, "0x" + "00" * 32]}, from_block)
    for log in logs:
        try:
            if contract(conn, "agent_identity", log["address"]).functions.name().call() != _IDENTITY_NAME:
                continue
            tx = conn.w3.eth.get_transaction(log["transactionHash"])
        except Exception:  # noqa: BLE001  (another contract: web3 raises several kinds)
            continue
        address = get_create_address(tx["from"], tx["nonce"] + 1)
        if not conn.w3.eth.get_code(address):
            continue
        reputation = contract(conn, "agent_reputation", address).functions
        try:
            wired = reputation.getIdentityRegistry().call() == log["address"] and reputation.ledger().call() == ledger
        except Exception:  # noqa: BLE001  (not a reputation registry)
            continue
        if wired:
            return AgentDeployment(identity=log["address"], reputation=address)
    return None


def with_agents(conn: Connection, deployment: Deployment) -> Deployment:
    """`deployment` with its agent registries, found on chain (`find_agents`), if there are any."""
    agents = find_agents(conn, deployment.ledger, deployment.block)
    return replace(deployment, **asdict(agents)) if agents else deployment


@dataclass(frozen=True)
class CommonsParameters:
    """The commons pool's settings at deployment; its owner (the DAO) changes them later."""

    bond: int  # token wei an inviter deposits for its invitee
    cycle_days: int  # days the funds are spread over
    reserve_bps: int  # share of the funds kept back from the daily amount
    back_claim_cap: int  # most days a member claims at once


# Each day pays 1/30 of 90 % of the funds, shared equally; a member who misses
# days claims up to two weeks of them at once (as Circles); an invitation
# bonds 10 TAI (1 TAI on local chains, whose faucet hands out little).
PUBLIC_COMMONS = CommonsParameters(bond=10 * 10**18, cycle_days=30, reserve_bps=1_000, back_claim_cap=14)
LOCAL_COMMONS = replace(PUBLIC_COMMONS, bond=10**18)


def deploy_commons_pool(conn: Connection, token: str, registry: str, parameters: CommonsParameters) -> str:
    """Deploy the commons pool over `token` and `registry`; its address."""
    p = parameters
    pool = _deploy(conn, "commons_pool", token, registry, p.bond, p.cycle_days, p.reserve_bps, p.back_claim_cap)
    return pool.address


def add_commons_pool(conn: Connection, deployment: Deployment, parameters: CommonsParameters) -> Deployment:
    """`deployment` with a commons pool, deployed now; the ledger's commons too if this account still owns it.

    A ledger the DAO owns already keeps its commons until a proposal calls
    `setCommons(pool)`. Batches signed for the previous commons are signed
    again at settlement (`tantieme.ledger.settlement`).
    """
    pool = deploy_commons_pool(conn, deployment.token, deployment.registry, parameters)
    ledger = contract(conn, "interaction_ledger", deployment.ledger)
    if ledger.functions.owner().call() != conn.account.address:
        return replace(deployment, commons_pool=pool)
    conn.transact(ledger.functions.setCommons(pool), gas=_CALL_GAS)
    return replace(deployment, commons_pool=pool, commons=pool)


def is_commons_pool(conn: Connection, address: str, registry: str) -> bool:
    """Whether `address` is a commons pool over `registry`."""
    if not conn.w3.eth.get_code(address):
        return False
    try:
        return contract(conn, "commons_pool", address).functions.registry().call() == registry
    except Exception:  # noqa: BLE001  (any other contract: web3 raises several kinds)
        return False


def deploy_offers(conn: Connection, identity: str, registry: str) -> str:
    """Deploy the model-offer registry over the agents' `identity` registry and the asset
    `registry`; it has no owner. Its address."""
    return _deploy(conn, "offer_registry", identity, registry).address


def find_offers(conn: Connection, identity: str, registry: str, from_block: int) -> str | None:
    """The first offer registry deployed since `from_block` over `identity` and `registry`:
    each logs `OfferRegistryDeployed` with both at its deployment."""
    event = Web3.to_hex(Web3.keccak(text="OfferRegistryDeployed(address,address)"))
    topics = [event, *("0x" + address[2:].lower().rjust(64, "0") for address in (identity, registry))]
    for log in raw_logs(conn.w3, {"topics": topics}, from_block):
        offers = contract(conn, "offer_registry", log["address"]).functions
        if (offers.identityRegistry().call(), offers.assetRegistry().call()) == (identity, registry):
            return log["address"]
    return None


def with_offers(conn: Connection, deployment: Deployment) -> Deployment:
    """`deployment` with its offer registry, found on chain (`find_offers`), if it has one."""
    if deployment.identity is None:
        return deployment
    offers = find_offers(conn, deployment.identity, deployment.registry, deployment.block)
    return replace(deployment, offers=offers) if offers else deployment


def deploy_treasury(conn: Connection, token: str, agent: str, reputation: str | None) -> str:
    """Deploy an agent treasury over the AI `token`, owned by the sender, `agent` its
    spending key (limits zero, no payee: it spends nothing yet), rating at the `reputation`
    registry (None: the agent cannot rate). Its address."""
    return _deploy(conn, "agent_treasury", token, agent, reputation or ZERO_ADDRESS).address


@dataclass(frozen=True)
class DisputesParameters:
    """The dispute module's settings at deployment; its owner (the DAO) changes them later."""

    bond: int  # token wei a raiser deposits
    cancel_fee_bps: int  # share of a cancelled dispute's bond paid to the asset's owner
    tags: tuple[str, ...]  # the reasons a dispute may name


# The three grounds; a bond of 10 TAI (1 TAI on local chains, whose
# faucet hands out little); a cancelled dispute pays the owner 10 % of it.
DISPUTE_TAGS = ("COPIED_CONTENT", "MISSING_TRAINING_DATA", "CONTRADICTING_TERMS")
PUBLIC_DISPUTES = DisputesParameters(bond=10 * 10**18, cancel_fee_bps=1_000, tags=DISPUTE_TAGS)
LOCAL_DISPUTES = replace(PUBLIC_DISPUTES, bond=10**18)


def tag_bytes(tag: str) -> bytes:
    """A reason tag as the contract stores it: ASCII, right-padded to 32 bytes."""
    return tag.encode().ljust(32, b"\0")


def deploy_disputes(conn: Connection, token: str, registry: str, router: str, parameters: DisputesParameters) -> str:
    """Deploy the dispute module over `token`, `registry` and `router`, and wire the router to it
    (the zero `router`: a router without the redirect hook, whose judgements only tag). Its address."""
    p = parameters
    module = _deploy(conn, "dispute_module", token, registry, router, p.bond, p.cancel_fee_bps,
                     [tag_bytes(tag) for tag in p.tags])
    if router != ZERO_ADDRESS:
        conn.transact(contract(conn, "royalty_router", router).functions.setDisputeModule(module.address),
                      gas=_CALL_GAS)
    return module.address


def add_disputes(conn: Connection, deployment: Deployment, parameters: DisputesParameters) -> Deployment:
    """`deployment` with its dispute module: the one its router names (a record recovered from the
    chain), else one deployed now. A router from before disputes has no hook, and one from before
    `untag` could never lift a tag the module set (an appeal would revert for good): for either the
    module is built with the zero router, so its judgements tag and clear without moving royalties
    (`disputes.limitation` says so, and `tantieme init` warns)."""
    wired = router_disputes(conn, deployment.router)
    if wired not in (None, ZERO_ADDRESS):
        return replace(deployment, disputes=wired)
    router = deployment.router if wired is not None and router_marks(conn, deployment.router) else ZERO_ADDRESS
    return replace(deployment, disputes=deploy_disputes(conn, deployment.token, deployment.registry, router, parameters))


def router_marks(conn: Connection, router: str) -> bool:
    """Whether `router` marks the assets a dispute tags (`isTagged`, and `untag`, which the module
    calls when a tag is cleared): a router from after the dispute claim gap closed."""
    try:
        contract(conn, "royalty_router", router).functions.isTagged(0).call()
    except Exception:  # noqa: BLE001  (a router without it: web3 raises several kinds)
        return False
    return True


def router_disputes(conn: Connection, router: str) -> str | None:
    """The dispute module `router` is wired to (the zero address: none yet); None for a router without the hook."""
    try:
        return contract(conn, "royalty_router", router).functions.disputeModule().call()
    except Exception:  # noqa: BLE001  (a router from before disputes: web3 raises several kinds)
        return None


def with_disputes(conn: Connection, deployment: Deployment) -> Deployment:
    """`deployment` with the dispute module its router is wired to, if any."""
    wired = router_disputes(conn, deployment.router)
    return replace(deployment, disputes=wired) if wired not in (None, ZERO_ADDRESS) else deployment


def deployed_contract(conn: Connection, deployment: Deployment, field: str, artifact: str, what: str) -> Contract:
    """`deployment.<field>` bound as `contracts/<artifact>.vy`; a clear error where this deployment has none yet."""
    address = getattr(deployment, field)
    if address is None:
        raise ConfigError(
            f"the {what} is not deployed on chain {conn.chain_id} yet: run `tantieme init` "
            "(it adds it to this home's deployment)"
        )
    return contract(conn, artifact, address)


def contract(conn: Connection, name: str, address: str) -> Contract:
    """A web3 binding of `contracts/<name>.vy` at `address`."""
    return conn.w3.eth.contract(address=address, abi=artifacts.load(name).abi)


def _deploy(conn: Connection, name: str, *args: object) -> Contract:
    artifact = artifacts.load(name)
    factory = conn.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    receipt = conn.transact(factory.constructor(*args), gas=_DEPLOY_GAS)
    return contract(conn, name, receipt["contractAddress"])
