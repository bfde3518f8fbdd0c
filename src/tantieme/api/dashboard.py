"""The dashboard: server-rendered pages of who profits (Jinja2, charts as inline SVG, offline).

    GET /dashboard                      the operator's view: volume, batches, gas, the commons pool
                                        (balance, members, dividend per member, paid out), queue,
                                        latency, and where the fees went (`tantieme report`)
    GET /dashboard/creators/{address}   a creator's works: citations, attribution, earnings over
                                        periods, claimable and claimed, parents, consent and the
                                        ways its owner may tighten it
    GET /dashboard/commons/{address}    a commons member's dividend: claimable now, today's amount,
                                        and the pool's claim for the member's own wallet to send
    GET /dashboard/wallet.js            the pages' one script (served here, nothing from a CDN)
    GET /dashboard/proposals/{n}        a DAO proposal: its actions decoded (those that send the
                                        machine tax elsewhere or move ownership in red), its state
                                        and votes, and its simulated effect against today's rules
                                        (`tantieme.simulation.effect`: run once, kept in the home)
    GET /answers/{id}                   (asked for as HTML, as browsers do) the public page of an
                                        answer: sources, the fee split to the wei, record, proof,
                                        anchor and credentials, checked as `tantieme verify` does

Read-only: the node signs nothing for anyone. A work's owner tightens its AI consent
with their own key: the creator page shows, for each way to tighten it, the exact
`tantieme consent` command and the registry transaction (`setAIConsent` calldata, built
here); a commons member claims its dividend the same way (`tantieme commons claim`, or the
pool's `claim()`). With a browser wallet (EIP-1193 `window.ethereum`), `wallet.js` checks
the wallet's account is the one that may send it and is on the node's chain, asks the wallet
to send that transaction and reloads the page once it is mined. Only tightening is offered:
the registry never lets a refused use be granted again. Without script the pages are complete.
Every value a user wrote (questions, answers, titles) is HTML-escaped.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from tantieme.amounts import format_amount
from tantieme.api import routes
from tantieme.api.chat import ServiceDep
from tantieme.chain.headcache import at_head
from tantieme.chain.logs import event_logs
from tantieme.errors import TantiemeError

if TYPE_CHECKING:
    from tantieme.api.metrics import Metrics
    from tantieme.assets.registry import Asset
    from tantieme.node import Node
    from tantieme.report.fairness import Snapshot
    from tantieme.simulation.rules import Rules

router = APIRouter(include_in_schema=False)
HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.filters["tai"] = lambda wei: format_amount(int(wei))
templates.env.filters["pct"] = lambda share: "–" if share is None else f"{float(share) * 100:.1f} %"
COLOURS = {
    "creators": "#2b8a3e", "upstream": "#74b816", "training_data": "#f59f00",
    "model_owner": "#1c7ed6", "operator": "#868e96", "commons": "#e8590c",
}
templates.env.globals["colours"] = COLOURS


def _simcell(value: object, kind: str, signed: bool = False) -> str:
    """A simulation summary's value as the table shows it (`tantieme.simulation.report.cell`)."""
    from tantieme.simulation.report import cell

    return cell(value, kind, signed)


templates.env.filters["simcell"] = _simcell


@contextlib.contextmanager
def _snapshot(node: Node) -> Iterator[Snapshot]:
    from tantieme.ledger.journal import journal
    from tantieme.report import snapshot

    book = journal()
    try:
        yield snapshot.read(node, book)
    finally:
        book.close()


def _latency(metrics: Metrics) -> dict:
    """Answers made by the model worker: how many, their mean time, and the histogram bucket
    that holds the 95th percentile (seconds)."""
    value = metrics.registry.get_sample_value
    count = int(value("tantieme_answer_seconds_count") or 0)
    mean = (value("tantieme_answer_seconds_sum") or 0.0) / count if count else None
    p95 = None
    if count:
        buckets = [(float(s.labels["le"]), s.value) for m in metrics.registry.collect()
                   if m.name == "tantieme_answer_seconds" for s in m.samples if s.name.endswith("_bucket")]
        p95 = next((le for le, seen in sorted(buckets) if seen >= 0.95 * count), None)
    return {"answers": count, "mean_s": mean, "p95_s": p95}


def _missing(request: Request, message: str) -> Response:
    """The 404 page: what was not found and where to look."""
    return templates.TemplateResponse(request, "missing.html", {"message": message}, status_code=404)


@router.get("/dashboard", response_class=HTMLResponse)
def operator_view(request: Request, service: ServiceDep) -> Response:
    """The operator's view."""
    from tantieme.report import fairness

    node = service.node
    with _snapshot(node) as snap:
        data = fairness.summary(snap)
    batches = data["batches"]
    settled = [b for b in batches if b["settled"]]
    settled_records = sum(b["records"] for b in settled)
    gas = sum(int(b["gas"]) for b in settled)
    commons = node.ledger.functions.commons().call()
    answers = list(reversed(snap.answers))  # the journal's order, newest first
    context = {
        "node": {"operator": node.address, "chain_id": node.conn.chain_id, "ledger": node.deployment.ledger},
        "report": data,
        "volume": {
            "fees": data["periods"][0]["total"], "records": len(snap.answers),
            "settled_records": settled_records, "batches": len(settled), "open_batches": len(batches) - len(settled),
            "gas": gas, "gas_per_record": gas // settled_records if settled_records else None,
        },
        "commons": {"address": commons, "balance": node.balance(commons)},
        "pool": data["commons_pool"],
        "service": {"queue": service.queued, "queue_limit": service.limits.queue, **_latency(service.metrics)},
        "proposals": _proposals(node),
        "recent": [
            {"digest": a.digest, "question": a.question, "fee": a.record.fee, "at": a.record.timestamp,
             "batch": a.batch, "settled": snap.batches[a.batch].settled}
            for a in answers[:20]
        ],
    }
    return templates.TemplateResponse(request, "dashboard.html", context)


@router.get("/dashboard/creators/{address}", response_class=HTMLResponse)
def creator_view(address: str, request: Request, service: ServiceDep) -> Response:
    """A creator's works, read-only."""
    from tantieme.disputes import retrieval_status
    from tantieme.node import parse_address
    from tantieme.report import fairness

    try:
        who = parse_address(address)
    except TantiemeError:
        return _missing(request, f"{address!r} is not an address (0x and 40 hex digits)")
    node = service.node
    with _snapshot(node) as snap:
        mine = [a for a in snap.assets if a.owner.lower() == who.lower()]
        periods = list(fairness.PERIODS)
        by_period = {p: fairness.flows(snap, snap.since(p)) for p in periods}
        stats = {w.asset: w for w in fairness.works(snap, by_period["all"])}
        left_out = fairness.exclusions(snap)
    forwarded = at_head(
        node, "dashboard: forwarded", lambda: event_logs(node.router.events.RoyaltyForwarded(), node.deployment.block)
    )
    by_id = {a.id: a for a in snap.assets}
    works = []
    for asset in mine:
        works.append({
            "asset": asset, "stats": stats[asset.id],
            "earned": {p: sum(by_period[p].assets.get(asset.id, {}).values()) for p in periods},
            "to_parents": sum(e["args"]["amount"] for e in forwarded if e["args"]["from_asset"] == asset.id),
            "from_derivatives": sum(e["args"]["amount"] for e in forwarded if e["args"]["to_asset"] == asset.id),
            "parents": [{"id": p, "title": by_id[p].title, "owner": by_id[p].owner} for p in asset.parents],
            "royalty_bps": asset.terms.royalty_bps,
            "tighten": _tightenings(node, asset),
            "disputed": tag.reason if (tag := snap.disputed.get(asset.id)) else None,
            "retrieval": retrieval_status(asset.kind, left_out(asset.id)),
        })
    totals = {p: sum(w["earned"][p] for w in works) for p in periods}
    context = {"address": who, "works": works, "periods": periods, "totals": totals,
               "most": max(totals.values(), default=0), "registry": node.deployment.registry,
               "chain_id": node.conn.chain_id}
    return templates.TemplateResponse(request, "creator.html", context)


def _proposals(node: Node) -> list[dict]:
    """The DAO's proposals, newest first: number, state, title, and whether any action is risky."""
    if node.deployment.governor is None:
        return []
    from tantieme.dao.decode import calls, contracts
    from tantieme.dao.governance import Dao

    def read() -> list[dict]:
        dao, known = Dao(node), contracts(node)
        return [
            {"number": p.number, "state": dao.status(p).state, "title": _title(p.description),
             "risky": any(c.risky for c in calls(known, p))}
            for p in reversed(dao.proposals())
        ]

    return at_head(node, "dashboard: proposals", read)


def _title(description: str) -> str:
    return (description.strip().splitlines() or [""])[0]


@router.get("/dashboard/proposals/{ref}", response_class=HTMLResponse)
def proposal_view(ref: str, request: Request, service: ServiceDep) -> Response:
    """A DAO proposal and its simulated effect."""
    from tantieme.dao.decode import calls, contracts
    from tantieme.dao.governance import Dao
    from tantieme.simulation import effect
    from tantieme.simulation.report import SUMMARY_ROWS

    node = service.node
    if not ref.isdigit() or len(ref) > 80:
        return _missing(request, f"{ref!r} is not a proposal: give its number (as the dashboard lists them) or its id")
    try:
        dao = Dao(node)
        proposal = dao.find(int(ref))
    except TantiemeError as exc:
        return _missing(request, str(exc))
    status = dao.status(proposal)
    decoded = calls(contracts(node), proposal)
    simulated = effect.effect(node, proposal.id, status.block)
    context = {
        "proposal": proposal, "title": _title(proposal.description), "status": status, "calls": decoded,
        "risky": [c for c in decoded if c.risky], "effect": simulated, "rows": SUMMARY_ROWS,
    }
    document = simulated.document
    if document is not None:
        today, judged = document["scenarios"][1], document["proposal"]
        context |= {
            "today": today, "judged": judged, "difference": document["difference"],
            "changes": _rules(today).changes(_rules(judged)),
            "charts": [
                _chart("bottom 50 % purchasing power (TAI/week)", document, "bottom_half_power", 10**18),
                _chart("Gini of purchasing power", document, "gini", 1),
            ],
        }
    return templates.TemplateResponse(request, "proposal.html", context)


def _rules(outcome: dict) -> Rules:
    """A run's rules from its JSON (amounts above 2^53 are strings there)."""
    from tantieme.simulation.rules import Rules

    return Rules(**{name: int(value) for name, value in outcome["rules"].items()})


# A chart's lines: (scenario, colour); the proposal last.
_LINES = (("no tax", "#868e96"), ("machine tax + dividend", "#1c7ed6"), ("proposal", "#e8590c"))


def _chart(title: str, document: dict, key: str, unit: int, width: int = 480, height: int = 180) -> dict:
    """A line chart of series `key` over the weeks, today against the proposal, as SVG points."""
    runs = {s["name"]: s for s in document["scenarios"]} | {"proposal": document["proposal"]}
    values = {name: [float(v) / unit for v in runs[name]["series"][key]] for name, _ in _LINES}
    low = min(min(v) for v in values.values())
    high = max(max(v) for v in values.values())
    span = (high - low) or 1.0
    weeks = max(len(v) for v in values.values())

    def point(week: int, value: float) -> str:
        x = week * width / max(1, weeks - 1)
        y = height - (value - low) / span * height
        return f"{x:.1f},{y:.1f}"

    lines = [
        {"name": name, "colour": colour, "points": " ".join(point(i, v) for i, v in enumerate(values[name]))}
        for name, colour in _LINES
    ]
    shock = document["shock_step"] * width / max(1, weeks - 1)
    return {"title": title, "lines": lines, "low": low, "high": high, "width": width, "height": height,
            "shock": shock, "weeks": weeks}


def _tightenings(node: Node, asset: Asset) -> list[dict]:
    """The ways `asset`'s owner may tighten its own AI consent: refuse every use its terms still
    grant, or one of them. Each as the `tantieme consent` command and the registry call that do it."""
    own = asset.terms.ai_consent()  # in `setAIConsent`'s argument order
    granted = [use for use, allowed in own.items() if allowed]
    choices = ([("refuse all AI use", granted)] if len(granted) > 1 else []) + [
        (f"refuse {use.replace('_', ' ')}", [use]) for use in granted
    ]
    return [
        {
            "label": label,
            "command": f"tantieme consent {asset.id} " + " ".join(f"--revoke {use.replace('_', '-')}" for use in refused),
            "calldata": node.registry.functions.setAIConsent(
                asset.id, *{**own, **dict.fromkeys(refused, False)}.values()
            )._encode_transaction_data(),
        }
        for label, refused in choices
    ]


@router.get("/dashboard/commons/{address}", response_class=HTMLResponse)
def member_view(address: str, request: Request, service: ServiceDep) -> Response:
    """A commons member's dividend, and the pool's claim for its own wallet to send."""
    from tantieme import commons
    from tantieme.node import parse_address

    node = service.node
    try:
        status = commons.status(node, parse_address(address))
    except TantiemeError as exc:  # not an address, or no pool
        return _missing(request, str(exc))
    claim = commons.pool(node).functions.claim()._encode_transaction_data()
    context = {"status": status, "chain_id": node.conn.chain_id, "calldata": claim}
    return templates.TemplateResponse(request, "member.html", context)


@router.get("/dashboard/wallet.js")
def wallet_script() -> Response:
    """The pages' script: sends a transaction the node built through the browser's wallet."""
    return FileResponse(HERE / "static" / "wallet.js", media_type="text/javascript")


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


@router.get("/answers/{name}")
def answer_page(name: str, request: Request, service: ServiceDep) -> Response:
    """The public page of an answer when a browser asks for it; otherwise the answer's files
    (`routes.get_answer`)."""
    if not _wants_html(request) or not routes._RECORD_ID.match(name):
        return routes.get_answer(name, service)
    from tantieme.ledger.bundle import export
    from tantieme.ledger.verify import verify

    book, row = routes._record(name, service)
    try:
        bundle = export(service.node, book, row.digest)
    finally:
        book.close()
    checked = verify(service.node.conn, bundle)
    record = row.signed.record
    links = {link.asset: link for link in checked.provenance}
    sources = [
        {"asset": s, "title": links[s].title if s in links else None, "weight_bps": w}
        for s, w in zip(record.sources, record.weights, strict=True)
    ]
    paid = sum(link.paid for link in checked.provenance)
    context = {
        "row": row, "record": record, "bundle": bundle, "report": checked, "sources": sources,
        "own_bps": record.own_share_bps, "paid_total": paid + checked.commons + checked.operator,
        "credentials": [c for c in checked.checks if c.name.startswith("content credential")],
    }
    return templates.TemplateResponse(request, "answer.html", context)
