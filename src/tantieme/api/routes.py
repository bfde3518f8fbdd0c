"""Read endpoints: models, assets, records (bundles), answers, health, metrics; and the one
management endpoint, `POST /admin/settle`, behind the admin token."""

from __future__ import annotations

import hmac
import re
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from tantieme.api.chat import ServiceDep
from tantieme.api.errors import ApiError
from tantieme.errors import AssetError, LedgerError, ProvenanceError

router = APIRouter()

# A record's digest, or its first 16 hex digits at least (as answer files are named).
_RECORD_ID = re.compile(r"^(0x)?[0-9a-fA-F]{16,64}$")
_ANSWER = re.compile(r"^(?P<id>(0x)?[0-9a-fA-F]{16,64})(?P<form>\.txt|\.json|\.txt\.c2pa|\.json\.c2pa)?$")


def _json(data: Any) -> Any:
    from tantieme.jsonsafe import to_json

    return to_json(data)


@router.get("/v1/models")
def list_models(service: ServiceDep) -> dict:
    """The node's model offers: asset, name, prices per million tokens, effective consent."""
    from tantieme.assets import registry
    from tantieme.interaction import Models

    models = Models.load()
    data = []
    for entry in models.models.values():
        asset = registry.get(service.node, entry.asset_id)
        data.append({
            "id": str(entry.asset_id),
            "object": "model",
            "created": 0,
            "owned_by": asset.owner,
            "tantieme": {
                "asset": entry.asset_id,
                "name": entry.name,
                "default": entry.asset_id == models.default,
                "price_prompt_per_million": entry.price_prompt_per_million,
                "price_completion_per_million": entry.price_completion_per_million,
                "consent": asset.consent,
                "parents": list(asset.parents),
            },
        })
    return _json({"object": "list", "data": data})


@router.get("/assets")
def list_assets(service: ServiceDep) -> list:
    """Every registered asset: owner, kind, parents, terms, effective AI consent."""
    from tantieme.assets import registry

    return _json([a.to_json() for a in registry.all_assets(service.node)])


@router.get("/assets/{asset_id}")
def show_asset(asset_id: int, service: ServiceDep) -> dict:
    """One asset, with its earnings in the royalty router (token wei)."""
    from tantieme.assets import registry

    node = service.node
    if not 0 < asset_id < 2**256:
        raise ApiError(404, f"asset {asset_id} does not exist", code="asset_not_found")
    try:
        asset = registry.get(node, asset_id)
    except AssetError as exc:
        raise ApiError(404, str(exc), code="asset_not_found") from None
    router_fns = node.router.functions
    earnings = {"pending": router_fns.pending(asset_id).call(), "claimable": router_fns.claimable(asset_id).call()}
    return _json({**asset.to_json(), "earnings": earnings})


def _record(key: str, service):
    from tantieme.ledger.settlement import journal

    if not _RECORD_ID.match(key):
        raise ApiError(404, f"{key!r} is not a record id: give its digest (0x and 64 hex digits)", code="record_not_found")
    book = journal()
    try:
        row = book.record(key)
        paid = book.payment(row.id)
    except LedgerError as exc:
        book.close()
        raise ApiError(404, str(exc), code="record_not_found") from None
    if paid is not None and paid["settlement_tx"] is None:  # its answer is withheld until it is
        book.close()
        raise ApiError(
            409, f"the x402 payment of record {row.digest} is not confirmed on chain yet: its answer is here once it "
            "is (the node's next settlement looks); if it never is, the record goes and nothing is charged",
            code="payment_unconfirmed", headers={"Retry-After": str(service.unconfirmed_retry_s())},
        )
    return book, row


@router.get("/records/{record_id}")
def get_record(record_id: str, service: ServiceDep) -> dict:
    """The record's verification bundle: the same JSON as `tantieme export`."""
    from tantieme.ledger.bundle import export

    book, row = _record(record_id, service)
    try:
        return export(service.node, book, row.digest)
    finally:
        book.close()


_FORMS = {None: "application/json", ".json": "application/json", ".txt": "text/plain; charset=utf-8",
          ".txt.c2pa": "application/c2pa", ".json.c2pa": "application/c2pa"}


@router.get("/answers/{name}")
def get_answer(name: str, service: ServiceDep) -> Response:
    """The answer as JSON (`ID`, `ID.json`) or text (`ID.txt`), or their C2PA credentials (`.c2pa`)."""
    from tantieme.interaction import answer_document, answer_file
    from tantieme.provenance.credentials import sidecar_path

    found = _ANSWER.match(name)
    if not found:
        raise ApiError(404, f"no answer {name!r}: ask for ID, ID.txt, ID.json, ID.txt.c2pa or ID.json.c2pa", code="answer_not_found")
    book, row = _record(found["id"], service)
    book.close()
    form = found["form"]
    path: Path = answer_file(row) if form in (".txt", ".txt.c2pa") else answer_document(row)
    if form and form.endswith(".c2pa"):
        path = sidecar_path(path)
    if not path.is_file():
        raise ApiError(404, f"the node no longer holds {name} (record {row.digest})", code="answer_not_found")
    return FileResponse(path, media_type=_FORMS[form])


@router.get("/healthz")
def health(service: ServiceDep) -> dict:
    """Whether the node answers: its chain, account, default model, queue and gate."""
    from tantieme.interaction import Models

    node = service.node
    return {
        "status": "ok",
        "chain_id": node.conn.chain_id,
        "block": node.conn.w3.eth.block_number,
        "operator": node.address,
        "default_model": Models.load().default,
        "queue": service.queued,
        "payments": service.gate.name,
    }


@router.get("/metrics")
def metrics(service: ServiceDep) -> Response:
    """Prometheus text format."""
    from prometheus_client import CONTENT_TYPE_LATEST

    return Response(service.metrics.render(), media_type=CONTENT_TYPE_LATEST)


def _admin(request: Request, authorization: Annotated[str | None, Header()] = None) -> None:
    token = request.app.state.service.admin_token
    if not token:
        raise ApiError(404, "management is not exposed by this node (set TANTIEME_ADMIN_TOKEN)", code="not_found")
    given = (authorization or "").removeprefix("Bearer ").encode()
    if not hmac.compare_digest(given, token.encode()):
        raise ApiError(401, "management needs the admin token: Authorization: Bearer TOKEN",
                       type="authentication_error", code="invalid_admin_token", headers={"WWW-Authenticate": "Bearer"})


@router.post("/admin/settle", dependencies=[Depends(_admin)])
async def admin_settle(service: ServiceDep) -> JSONResponse:
    """Settle the node's pending records now (as `tantieme settle`)."""
    try:
        done = await run_in_threadpool(service.settle)
    except (LedgerError, ProvenanceError) as exc:
        raise ApiError(409, str(exc), code="settlement_failed") from None
    return JSONResponse(_json({"batches": done}))
