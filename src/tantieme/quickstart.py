"""The quickstart: the whole of tantieme on one machine, with the sample corpus.

Several creators register the project's sample works under different terms
(one refuses AI use, one is a derivative of another, one is a dataset), the
earnings flow upstream on chain, and every figure printed is read back from
the chain. It runs in a home of its own, `quickstart/` inside the user's
`TANTIEME_HOME`, so its demo assets never mix with the user's.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from eth_account.signers.local import LocalAccount

from tantieme.amounts import format_amount
from tantieme.assets import registry
from tantieme.assets.royalties import claim, mint_license
from tantieme.assets.store import sha256_file
from tantieme.assets.terms import preset
from tantieme.chain.accounts import dev_account
from tantieme.config import ENV_HOME, home
from tantieme.errors import ConfigError
from tantieme.node import Node

SAMPLES_DIR = Path(__file__).resolve().parents[2] / "samples"
# Creators are dev accounts 1.. (account 0 is the node operator and faucet).
_FIRST_CREATOR_ACCOUNT = 1


@dataclass
class Catalog:
    """The sample corpus: works with their creators and terms, and questions about them."""

    works: list[dict]
    questions: list[dict]
    refused_question: dict
    root: Path = SAMPLES_DIR

    @classmethod
    def load(cls, root: Path = SAMPLES_DIR) -> Catalog:
        data = json.loads((root / "catalog.json").read_text())
        return cls(works=data["works"], questions=data["questions"], refused_question=data["refused_question"], root=root)

    def creators(self) -> list[str]:
        return list(dict.fromkeys(w["creator"] for w in self.works))


@dataclass
class Registered:
    """What the quickstart registered: asset ids by file, accounts by creator."""

    assets: dict[str, int] = field(default_factory=dict)
    creators: dict[str, str] = field(default_factory=dict)


def register_catalog(node: Node, catalog: Catalog, say: Callable[[str], None] = print) -> Registered:
    """Register every sample work as its creator (idempotent: known files are reused)."""
    out = Registered()
    accounts = {name: creator_account(catalog, name) for name in catalog.creators()}
    for name, account in accounts.items():
        out.creators[name] = account.address
        if node.balance(account.address) == 0:
            node.faucet(account.address)
    for work in catalog.works:
        creator = node.as_account(accounts[work["creator"]])
        path = catalog.root / work["file"]
        existing = registry.owned_asset(creator, sha256_file(path))
        if existing is not None:
            out.assets[work["file"]] = existing.id
            continue
        parents = (out.assets[work["parent"]],) if work.get("parent") else ()
        terms = preset(work["terms"])
        for parent in parents:
            parent_terms = registry.get(node, parent).terms
            if terms.commercial_use and parent_terms.commercial_use:
                mint_license(creator, parent)
        asset = registry.register(creator, path, kind=work["kind"], terms=terms, parents=parents, title=work["title"])
        out.assets[work["file"]] = asset.id
        say(f"#{asset.id} {work['title']} by {work['creator']} ({work['terms']})")
    return out


def creator_account(catalog: Catalog, name: str) -> LocalAccount:
    """The dev account of the catalog's creator `name`: 1, 2, … in the catalog's order (the
    quickstart's and `tantieme demo market`'s creators alike)."""
    return dev_account(_FIRST_CREATOR_ACCOUNT + catalog.creators().index(name))


def asker_account(catalog: Catalog) -> LocalAccount:
    """The persona who asks and pays: the first dev account after the creators."""
    return dev_account(_FIRST_CREATOR_ACCOUNT + len(catalog.creators()))


def collect_all(node: Node, catalog: Catalog) -> dict[str, int]:
    """Every creator collects and claims what their assets earned; returns wei per creator."""
    return {name: claim(node.as_account(creator_account(catalog, name)))["claimed"] for name in catalog.creators()}


@dataclass
class Earning:
    """Who earned what, in token wei."""

    party: str
    role: str
    account: str
    amount: int


@dataclass
class Result:
    registered: Registered
    model: int
    answers: list  # interaction.Interaction
    refused_read: bool
    settled: list  # settlement.Settled
    earnings: list[Earning]
    verification: object  # verify.Report


@contextlib.contextmanager
def own_home() -> Iterator[Path]:
    """Make `quickstart/` inside the user's home the node's home while the quickstart runs."""
    where = home() / "quickstart"
    previous = os.environ.get(ENV_HOME)
    os.environ[ENV_HOME] = str(where)
    try:
        yield home()
    finally:
        if previous is None:
            del os.environ[ENV_HOME]
        else:
            os.environ[ENV_HOME] = previous


def run(say: Callable[[str], None] = print, show_answer: Callable[[object], None] | None = None) -> Result:
    """Set up the node on the embedded chain and run the whole flow on the sample corpus.

    Every figure is read back from the chain. Call it inside `own_home()`.
    """
    from tantieme.node import init

    setup = init("embedded")
    say(f"[bold]node[/] {setup.address} on the embedded chain {setup.chain_id} (public dev key)")
    with Node.open() as node:
        return _flow(node, say, show_answer)


def _flow(node: Node, say: Callable[[str], None], show_answer: Callable[[object], None] | None) -> Result:
    from tantieme import ai, interaction
    from tantieme.ledger import settlement
    from tantieme.ledger.bundle import export
    from tantieme.ledger.verify import verify

    catalog = Catalog.load()
    say("[bold]1. creators register the sample corpus[/]")
    registered = register_catalog(node, catalog, say)
    dataset = next(registered.assets[w["file"]] for w in catalog.works if w.get("training_data_of_model"))
    say("[bold]2. the operator registers its local model, trained on dataset #%d[/]" % dataset)
    entry = interaction.register_model(node, datasets=(dataset,))
    say(f"model #{entry.asset_id} {entry.name}")

    asker = asker_account(catalog)
    if node.balance(asker.address) == 0:
        node.faucet(asker.address)
    index = ai.Index(interaction.index_path())
    book = settlement.journal()
    say(f"[bold]3. an asker ({asker.address[:10]}…) asks {len(catalog.questions)} questions[/]")
    answers = []
    for item in catalog.questions:
        say(f"\n[bold]Q:[/] {item['question']}")
        result = interaction.ask(node, item["question"], payer=asker, model_id=entry.asset_id, index=index, book=book)
        answers.append(result)
        if show_answer:
            show_answer(result)
    refused = registered.assets[catalog.refused_question["refusing_file"]]
    refused_read = refused in index or any(
        s.asset_id == refused for a in answers for s in a.answer.sources
    )
    say(f"\nasset #{refused} refuses AI use: {'READ (bug!)' if refused_read else 'never indexed, never read'}")

    say("\n[bold]4. the asker's records settle as one batch[/]")
    tax_to = node.ledger.functions.commons().call()  # a DAO may have changed it since the deployment
    balances_before = {a: node.balance(a) for a in (node.address, tax_to)}
    settled = settlement.settle(node, {asker.address: asker}, book=book)
    for s in settled:
        say(f"batch #{s.chain_batch_id}: {s.records} records, Merkle root {s.root[:18]}…, one transaction ({s.gas:,} gas)")

    say("\n[bold]5. everyone collects what flowed to them[/]")
    earnings = [
        Earning("commons pool", "machine tax", tax_to, node.balance(tax_to) - balances_before[tax_to]),
        Earning("operator", "ran the model", node.address, node.balance(node.address) - balances_before[node.address]),
    ]
    model_claim = claim(node, [entry.asset_id])["claimed"]
    earnings.append(Earning("model owner", f"model #{entry.asset_id}", node.address, model_claim))
    roles = _roles(catalog, registered)
    for name, amount in collect_all(node, catalog).items():
        earnings.append(Earning(name, roles[name], registered.creators[name], amount))

    report = verify(node.conn, export(node, book, answers[0].record.digest))
    return Result(registered, entry.asset_id, answers, refused_read, settled, earnings, report)


def ask_over_http(say: Callable[[str], None] = print):
    """A second account on this machine asks the node over HTTP (`tantieme serve`'s app, in a
    thread) and pays per request over x402 with the official client; the node refunds all
    above the metered fee once the answer is delivered. Returns the answer and what the
    second account paid (token wei). Call it inside `own_home()`, after `run`."""
    from tantieme.api import Limits, Service, X402, create_app
    from tantieme.api.app import running
    from tantieme.ledger import settlement
    from tantieme.payments.client import ask_node

    catalog = Catalog.load()
    second = dev_account(_FIRST_CREATOR_ACCOUNT + len(catalog.creators()) + 1)
    with Node.open() as writer:
        if writer.balance(second.address) == 0:
            writer.faucet(second.address)
    question = catalog.questions[0]["question"]
    with Node.open(readonly=True) as node:
        before = node.balance(second.address)
        with running(create_app(Service(node, X402(node, node.account), limits=Limits()))) as url:
            say(f"\n[bold]7. a second account ({second.address[:10]}…) asks the node over HTTP ({url}) and pays per request with x402[/]")
            answer = ask_node(url, question, second, max_fee=10**18)
            book = settlement.journal()
            try:
                record = book.record(answer.record).id
                deadline = time.monotonic() + 60  # the payment settles once the answer is delivered
                while (book.payment(record) or {}).get("settlement_tx") is None or (
                    int(book.payment(record)["refund"]) > 0 and book.payment(record)["refund_tx"] is None
                ):
                    if time.monotonic() > deadline:
                        raise ConfigError("the node did not settle the x402 payment within 60 s")
                    time.sleep(0.05)
            finally:
                book.close()
        paid = before - node.balance(second.address)
    say(f"[bold]Q:[/] {question}\n\n{answer.text}\n")
    say(
        f"quote {format_amount(answer.quote)} TAI (the most it may cost), fee {format_amount(answer.fee)} TAI; "
        f"the second account paid {format_amount(paid)} TAI: the metered fee, to the wei · record {answer.record[:18]}…"
    )
    return answer, paid


# Step 8: the machine tax the DAO votes for (basis points), and who stakes how many AI tokens.
RAISED_TAX_BPS = 800
_STAKES = {"ada": 100, "bruno": 100, "chen": 50}  # chen delegates his votes to ada


@dataclass
class TaxRaised:
    """Step 8: the proposal that raised the machine tax, and the next batch settled under it."""

    proposal: object | None  # dao.Status, None when an earlier run raised the tax already
    commons_bps_before: int
    commons_bps: int  # read from the ledger after the proposal ran
    batch: object | None  # settlement.Settled: the answer paid over x402, under the new split


def dao_raises_the_tax(say: Callable[[str], None] = print) -> TaxRaised:
    """The operator hands the parameters to the DAO; three creators stake (one delegates to
    another); a proposal raises the commons share to `RAISED_TAX_BPS`, passes, waits out the
    timelock and runs; the answer paid over x402 (step 7) settles as the next batch, whose
    split is read from the chain. Call it inside `own_home()`, after `ask_over_http`."""
    from tantieme.dao import Dao, handover, set_split
    from tantieme.ledger import settlement

    catalog = Catalog.load()
    say("\n[bold]8. the DAO raises the machine tax: the operator hands it the parameters, members stake and vote[/]")
    with Node.open() as node:
        handover(node)
        members = {name: Dao(node.as_account(creator_account(catalog, name))) for name in _STAKES}
        for name, amount in _STAKES.items():
            if members[name].member().staked == 0:
                members[name].stake(amount * 10**18)
        members["chen"].delegate(members["ada"].node.address)
        say(f"ada, bruno and chen stake {', '.join(map(str, _STAKES.values()))} TAI; chen delegates his votes to ada")
        ledger = node.ledger.functions
        before, operator_bps = ledger.commons_bps().call(), ledger.operator_bps().call()
        status = None
        if before < RAISED_TAX_BPS:
            ada = members["ada"]
            proposal = ada.propose(
                [set_split(node, RAISED_TAX_BPS, operator_bps)], f"Raise the machine tax to {RAISED_TAX_BPS // 100} %"
            )
            ada.vote(proposal, "for", wait=True)
            members["bruno"].vote(proposal, "against")
            ada.queue(proposal, wait=True)
            status = ada.execute(proposal, wait=True)
            say(
                f"proposal #{proposal.number} \"{proposal.description}\": For {format_amount(status.for_)} · Against "
                f"{format_amount(status.against)} TAI: passed, queued, run by the timelock "
                f"{ada.timelock.functions.get_minimum_delay().call()} s later"
            )
        else:
            say(f"the machine tax is {before / 100:g} % already: the DAO raised it in an earlier run")
        after = ledger.commons_bps().call()
        settled = settlement.settle(node, {node.address: node.account})  # x402 answers: the node pays the ledger
    batch = settled[-1] if settled else None
    if batch is not None:
        say(
            f"batch #{batch.chain_batch_id} (the answer paid over x402) settles under the new split: commons "
            f"{after / 100:g} % = {format_amount(batch.commons)} of {format_amount(batch.total)} TAI"
        )
    return TaxRaised(status, before, after, batch)


@dataclass
class Dividend:
    """The last step: the commons pool's balance (the machine tax collected) and ada's dividend claim."""

    pool: str
    balance: int  # the pool's tokens before the claim, token wei
    member: str  # ada
    work: int  # the work she joined by
    claimed: int  # what her balance grew by (0 when an earlier run claimed today)
    days: int
    next_claim_at: int | None  # when an earlier run claimed today: her next claim


def commons_dividend(say: Callable[[str], None] = print) -> Dividend:
    """Ada, a creator, joins the commons pool by her first work and claims her dividend; the
    pool's balance and hers are read back from the chain. Call it inside `own_home()`,
    as the last step."""
    from tantieme import commons

    catalog = Catalog.load()
    with Node.open() as node:
        ada = node.as_account(creator_account(catalog, "ada"))
        before = commons.status(ada)
        if not before.member:
            commons.join(ada)
        balance = ada.balance()
        paid = commons.claim(ada) if commons.status(ada).claimable else None
        after = commons.status(ada)
        claimed = ada.balance() - balance
    say("\n[bold]9. the commons pool pays the machine tax out as a dividend to its members[/]")
    pool = f"the commons pool holds {format_amount(before.balance)} TAI of machine tax"
    if paid is None:
        say(f"{pool}; ada claimed her dividend today already: next claim at "
            f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(after.next_claim_at))}")
    else:
        say(f"{pool}; ada joins by her work #{after.work} and claims her dividend: {format_amount(claimed)} TAI "
            f"({paid.days} day, {after.members} member{'s' if after.members != 1 else ''}: "
            f"1/{after.cycle_days} of the funds less a {after.reserve_bps / 100:g} % reserve)")
    return Dividend(after.pool, before.balance, ada.address, after.work, claimed, paid.days if paid else 0,
                    after.next_claim_at if paid is None else None)


def _roles(catalog: Catalog, registered: Registered) -> dict[str, str]:
    roles: dict[str, list[str]] = {}
    for work in catalog.works:
        label = f"#{registered.assets[work['file']]} {work['kind']}, {work['terms']}"
        if work.get("parent"):
            label += f", derived from #{registered.assets[work['parent']]}"
        if work.get("training_data_of_model"):
            label += ", training data"
        roles.setdefault(work["creator"], []).append(label)
    return {name: "; ".join(labels) for name, labels in roles.items()}
