"""The dashboard: server-rendered pages of who profits (Jinja2, charts as inline SVG, offline).

    GET /dashboard                      the operator's view: volume, batches, gas, the commons pool
                                        (balance, members, dividend per member, paid out), queue,
                                        latency, and where the fees went (`tantieme report`)
    GET /dashboard/creators/{address}   a creator's works: citations, attribution, earnings over
                                        periods, claimable and claimed, parents, consent
    GET /answers/{id}                   (asked for as HTML, as browsers do) the public page of an
                                        answer: sources, the fee split to the wei, record, proof,
                                        anchor and credentials, checked as `tantieme verify` does

Read-only. Every value a user wrote (questions, answers, titles) is HTML-escaped.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from tantieme.amounts import format_amount
from tantieme.api import routes
from tantieme.api.chat import ServiceDep
from tantieme.api.errors import ApiError
from tantieme.errors import TantiemeError

if TYPE_CHECKING:
    from tantieme.api.metrics import Metrics
    from tantieme.node import Node
    from tantieme.report.fairness import Snapshot

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
templates.env.filters["tai"] = lambda wei: format_amount(int(wei))
templates.env.filters["pct"] = lambda share: "–" if share is None else f"{float(share) * 100:.1f} %"
COLOURS = {
    "creators": "#2b8a3e", "upstream": "#74b816", "training_data": "#f59f00",
    "model_owner": "#1c7ed6", "operator": "#868e96", "commons": "#e8590c",
}
templates.env.globals["colours"] = COLOURS


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
    from tantieme.node import parse_address
    from tantieme.report import fairness

    try:
        who = parse_address(address)
    except TantiemeError:
        raise ApiError(404, f"{address!r} is not an address (0x and 40 hex digits)", code="creator_not_found") from None
    node = service.node
    with _snapshot(node) as snap:
        mine = [a for a in snap.assets if a.owner.lower() == who.lower()]
        periods = list(fairness.PERIODS)
        by_period = {p: fairness.flows(snap, snap.since(p)) for p in periods}
        stats = {w.asset: w for w in fairness.works(snap, by_period["all"])}
    forwarded = node.router.events.RoyaltyForwarded().get_logs(from_block=node.deployment.block)
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
            "disputed": snap.disputed.get(asset.id),
        })
    totals = {p: sum(w["earned"][p] for w in works) for p in periods}
    context = {"address": who, "works": works, "periods": periods, "totals": totals,
               "most": max(totals.values(), default=0)}
    return templates.TemplateResponse(request, "creator.html", context)


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


@router.get("/answers/{name}")
def answer_page(name: str, request: Request, service: ServiceDep) -> Response:
    """The public page of an answer when a browser asks for it; otherwise the answer's files
    (`routes.get_answer`)."""
    if not _wants_html(request) or not routes._RECORD_ID.match(name):
        return routes.get_answer(name)
    from tantieme.ledger.bundle import export
    from tantieme.ledger.verify import verify

    book, row = routes._record(name)
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
