"""A market on one machine: three nodes on one anvil, an agent that asks, pays and rates.

    result = run(root, questions=6)
    result.nodes      # each node's traffic, what it earned, what its creators earned (from the chain)
    result.asked      # each question: who answered, with how many sources, the rating

Three `tantieme serve` processes, each with its own home, operator key, corpus and
prices, offer the same registered model on one anvil (the embedded chain is one
process's: a second `serve` cannot open it). Two are honest: their answers cite the
works they read. The third, the cheapest, answers from the model alone: its records
cite no source, so no creator is paid. The creators are the quickstart's dev accounts
(`quickstart.creator_account`: 1 to 4), the operators the next three (5 to 7). The agent
(dev account 8, its own home) pays
from an agent treasury (`agents.treasury`: owned by its home's account, the three
nodes allowed, 1 TAI a payment) and routes every question with `best`
(`market.asking.ask_market`): the Wilson lower bound of each agent's paid feedback,
an offer nobody has rated tried first while nobody is rated positively, or within the
exploration budget (`market.routing`'s module doc). After each answer settles, the
agent reads the anchored record's sources from the node's bundle and rates it as the
treasury (`agents.reputation.give_feedback`, which the registry takes only for a
paid, settled record): 90 with sources, 10 without. The
sourceless node loses the traffic by its ratings alone.

The figures are read from the chain once the nodes stop: each node's answers and
operator fee from the ledger's `BatchSettled` events, what the creators behind it
earned from the royalty router once their works are credited from its pools.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tantieme.chain import anvil
from tantieme.chain.accounts import DEV_PRIVATE_KEYS, dev_account
from tantieme.config import ENV_HOME
from tantieme.errors import ConfigError, TantiemeError
from tantieme.processes import stop
from tantieme.quickstart import SAMPLES_DIR, Catalog, creator_account

__all__ = ["AGENT", "NODES", "SOURCELESS", "Asked", "MarketRun", "NodeResult", "NodeSpec", "run"]

M = 10**18  # one TAI
AGENT = dev_account(8)
MAX_TOKENS = 24
RATING = {True: "90", False: "10"}  # with sources, without
SETTLE_S = 120  # the most a rating waits for its answer's batch


@dataclass(frozen=True)
class NodeSpec:
    name: str
    key: int
    """The operator's dev key."""
    works: tuple[str, ...]
    """Sample files, registered by their creators in this node's store (terms: open)."""
    prompt_price: int
    completion_price: int
    """Per 1M tokens, token wei."""


NODES = (
    NodeSpec("bees-and-bikes", 5, ("ada-rooftop-bees.md", "chen-bicycle-mending.md"), 100 * M, 400 * M),
    NodeSpec("bakery", 6, ("bruno-night-bakery.md",), 150 * M, 600 * M),
    NodeSpec(SOURCELESS := "sourceless", 7, (), 50 * M, 200 * M),
)


@dataclass(frozen=True)
class Asked:
    n: int
    question: str
    why: str
    """Why `best` picked the node (`routing.Choice.why`)."""
    agent_id: int
    node: str
    sources: int
    """The sources the anchored record cites."""
    rating: str
    fee: int


@dataclass
class NodeResult:
    spec: NodeSpec
    url: str
    operator: str
    agent_id: int
    assets: dict[int, str] = field(default_factory=dict)
    """Its works: asset id → creator."""
    answers: int = 0
    """Records settled for it on chain."""
    earned: int = 0
    """Its operator fee, settled on chain."""
    creators: dict[str, int] = field(default_factory=dict)
    """What each creator behind it was credited from its pools."""


@dataclass
class MarketRun:
    nodes: list[NodeResult]
    asked: list[Asked]
    chain_id: int

    def share(self, name: str) -> list[float]:
        """`name`'s share of the answers after each question."""
        shares, count = [], 0
        for a in self.asked:
            count += a.node == name
            shares.append(count / a.n)
        return shares


def run(
    root: Path, questions: int = 6, progress: Callable[[Asked], None] = lambda _a: None,
    say: Callable[[str], None] = lambda _m: None,
) -> MarketRun:
    """Start anvil and the three nodes under `root` (a home each), route `questions`
    questions with `best`, and read the figures back."""
    catalog = Catalog.load()
    with anvil.running() as url:
        say(f"anvil at {url}")
        model, chain_id = _deploy(root / "agent", url, catalog)
        nodes = [_node_home(root, spec, model) for spec in NODES]
        _fund_treasury(root / "agent", nodes)
        say(f"model #{model.asset_id} offered by {len(nodes)} nodes")
        with contextlib.ExitStack() as stack:
            started = [stack.enter_context(_serving(root / result.spec.name, result)) for result in nodes]
            for result, process in zip(nodes, started, strict=True):  # the three load the model side by side
                _wait_healthy(root / result.spec.name, result, process)
            asked = _ask(root / "agent", nodes, catalog, questions, progress)
        for result in nodes:
            _read_earnings(root / result.spec.name, result)
    return MarketRun(nodes, asked, chain_id)


# ------------------------------------------------------------------ set-up --


@contextlib.contextmanager
def _home(path: Path) -> Iterator[Path]:
    """`path` as TANTIEME_HOME while the block runs."""
    previous = os.environ.get(ENV_HOME)
    os.environ[ENV_HOME] = str(path)
    try:
        yield path
    finally:
        if previous is None:
            del os.environ[ENV_HOME]
        else:
            os.environ[ENV_HOME] = previous


def _deploy(agent_home: Path, url: str, catalog: Catalog):
    """The agent's home: the contracts deployed by dev key 0, the model registered (dev key 0
    owns it), tokens for every operator, creator and the agent."""
    from tantieme import interaction
    from tantieme import node as node_mod
    from tantieme.node import Node

    agent_home.mkdir(parents=True, exist_ok=True)
    with _home(agent_home):
        node_mod.init("rpc", url)
        with Node.open() as node:
            model = interaction.register_model(node)
            creators = [creator_account(catalog, name) for name in catalog.creators()]
            for account in (*(dev_account(s.key) for s in NODES), *creators, AGENT):
                node.faucet(account.address)
            return model, node.conn.chain_id


def _node_home(root: Path, spec: NodeSpec, model) -> NodeResult:
    """A node's home on the agent's deployment, its operator dev key `spec.key`: its works
    registered by their creators, the model at its prices, registered as an agent at its URL."""
    from dataclasses import replace

    from tantieme import interaction
    from tantieme.agents import identity
    from tantieme.assets import registry
    from tantieme.assets.terms import preset
    from tantieme.market import offers
    from tantieme.node import Node

    path = root / spec.name
    (path / "deployments").mkdir(parents=True, exist_ok=True)
    shutil.copytree(root / "agent" / "deployments", path / "deployments", dirs_exist_ok=True)
    settings = json.loads((root / "agent" / "node.json").read_text())
    operator = dev_account(spec.key)
    settings |= {"signer": "keystore", "keystore": None, "address": operator.address}
    (path / "node.json").write_text(json.dumps(settings))
    url = f"http://127.0.0.1:{anvil.free_port()}"
    catalog = Catalog.load()
    works = {w["file"]: w for w in catalog.works}
    with _home(path), Node.open(account=operator) as node:
        entry = replace(model, price_prompt_per_million=spec.prompt_price, price_completion_per_million=spec.completion_price)
        interaction.Models(default=model.asset_id, models={str(model.asset_id): entry}).save()
        assets = {}
        for file in spec.works:
            work = works[file]
            creator = node.as_account(creator_account(catalog, work["creator"]))
            asset = registry.register(creator, SAMPLES_DIR / file, terms=preset("open"), title=work["title"])
            assets[asset.id] = work["creator"]
        profile, _ = identity.register(node, name=f"{spec.name} node", url=url)
        offers.offer_node_model(node, latency_ms=5_000)
    return NodeResult(spec, url, operator.address, profile.agent_id, assets)


def _fund_treasury(agent_home: Path, nodes: list[NodeResult]) -> None:
    """The agent's treasury, owned by its home's account (dev key 0): 5 TAI, AGENT its key,
    the nodes' wallets allowed, 1 TAI a payment and 5 a day."""
    from tantieme.agents import treasury
    from tantieme.node import Node

    with _home(agent_home), Node.open() as owner:
        owner.faucet(owner.address, 5 * M)
        treasury.fund(owner, 5 * M)
        treasury.set_limits(owner, daily=5 * M, per_payment=M, allow=[n.operator for n in nodes], agent=AGENT.address)


@contextlib.contextmanager
def _serving(home: Path, result: NodeResult) -> Iterator[subprocess.Popen]:
    """`tantieme serve` for the node, settling every second, started, until the block ends."""
    port = result.url.rsplit(":", 1)[1]
    env = {**os.environ, ENV_HOME: str(home), "TANTIEME_PRIVATE_KEY": DEV_PRIVATE_KEYS[result.spec.key]}
    log = (home / "serve.log").open("a")
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "tantieme"), "serve", "--port", port, "--settle-every", "1"],
        env=env, stdout=subprocess.DEVNULL, stderr=log,
    )
    try:
        yield process
    finally:
        stop(process)
        log.close()


def _wait_healthy(home: Path, result: NodeResult, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 300
    while not _answers(f"{result.url}/healthz"):
        if process.poll() is not None or time.monotonic() > deadline:
            raise ConfigError(f"the {result.spec.name} node did not start: see {home / 'serve.log'}")
        time.sleep(0.2)


# ------------------------------------------------------------------ asking --


def _ask(agent_home: Path, nodes: list[NodeResult], catalog: Catalog, questions: int, progress) -> list[Asked]:
    """`questions` questions routed with `best`, each answer rated once it is settled."""
    from tantieme.agents.treasury import TreasuryPayer
    from tantieme.market.asking import ask_market, prompt_bound
    from tantieme.market.routing import Need
    from tantieme.node import Node

    by_agent = {n.agent_id: n for n in nodes}
    texts = [q["question"] for q in catalog.questions]
    need = Need(prompt_bound(MAX_TOKENS), MAX_TOKENS, cap=M)
    asked: list[Asked] = []
    with _home(agent_home), Node.open(account=AGENT) as agent:
        payer = TreasuryPayer(agent)
        for n in range(1, questions + 1):
            question = texts[(n - 1) % len(texts)]
            routed = ask_market(agent, question, payer, "best", need, timeout=300)
            node = by_agent[routed.choice.offer.agent_id]
            sources = _rate(agent, node, routed.answer.record)
            asked.append(Asked(n, question, routed.choice.why, node.agent_id, node.spec.name, sources,
                               RATING[sources > 0], routed.answer.fee))
            progress(asked[-1])
    return asked


def _rate(agent, node: NodeResult, record: str) -> int:
    """Rate `record` once its batch is settled, by the sources its anchored record cites
    (the node's bundle, checked by `give_feedback` against the chain): how many."""
    from tantieme.agents.reputation import give_feedback
    from tantieme.ledger.bundle import fetch

    deadline = time.monotonic() + SETTLE_S
    while True:
        bundle = fetch(node.url, record)
        if bundle["status"] == "settled" or time.monotonic() > deadline:
            break
        time.sleep(0.25)
    sources = len(bundle["record"]["typed_data"]["message"]["sources"])
    try:
        give_feedback(agent, bundle, RATING[sources > 0], agent_id=node.agent_id)
    except TantiemeError as exc:
        raise ConfigError(f"the agent could not rate {node.spec.name}'s answer {record[:18]}…: {exc}") from None
    return sources


# ----------------------------------------------------------------- figures --


def _read_earnings(home: Path, result: NodeResult) -> None:
    """The node's settled answers and operator fee (`BatchSettled`), and what the router
    credited each of its works from its pools (credited now, by proof from its journal)."""
    from tantieme.assets.royalties import credit
    from tantieme.chain.logs import event_logs
    from tantieme.node import Node

    with _home(home), Node.open(account=dev_account(result.spec.key)) as node:
        settled = [
            e.args for e in event_logs(node.ledger.events.BatchSettled(), node.deployment.block)
            if e.args.operator == result.operator
        ]
        result.answers = sum(a.count for a in settled)
        result.earned = sum(a.operator_fee for a in settled)
        if result.assets:
            credit(node, sorted(result.assets))
        pool = node.ledger.functions.assetPool(result.operator, result.operator).call()
        for asset, creator in result.assets.items():
            amount = node.router.functions.credited(pool, asset).call()
            result.creators[creator] = result.creators.get(creator, 0) + amount


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except OSError:
        return False
