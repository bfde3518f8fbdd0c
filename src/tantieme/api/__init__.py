"""The node as a web service (`tantieme serve`): OpenAI-compatible chat, paid per answer.

    POST /v1/chat/completions   an answer, with a `tantieme` object (sources, fee, record, links)
    GET  /v1/models             the node's model offers
    GET  /assets, /assets/{id}  registered works, their terms, consent and earnings
    GET  /records/{id}          a record's verification bundle (as `tantieme export`)
    GET  /answers/{id}[.txt|.json][.c2pa]   the answer and its content credentials
    GET  /healthz, /metrics     health and Prometheus metrics
    GET  /.well-known/agent-registration.json   the node's ERC-8004 registration file
    GET  /v1/deposit/terms, POST /v1/deposit/payments, /v1/deposit/authorizations   deposit mode
    POST /admin/settle          settle now (only with TANTIEME_ADMIN_TOKEN)

`service.Service` holds the node, index and model; `payments` is where a request is
paid for; `app.create_app` makes the FastAPI app. docs/api.md documents the API.
"""

from tantieme.api.app import create_app
from tantieme.api.payments import X402, DepositGate, Gate, Payment, SelfPay, Unpaid
from tantieme.api.service import Limits, Service

__all__ = ["X402", "DepositGate", "Gate", "Limits", "Payment", "SelfPay", "Service", "Unpaid", "create_app"]
