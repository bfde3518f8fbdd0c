"""The FastAPI application of a `Service`."""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from fastapi import FastAPI

from tantieme import __version__
from tantieme.api import chat, errors, routes
from tantieme.api.metrics import MetricsMiddleware

if TYPE_CHECKING:
    from tantieme.api.service import Service


def create_app(service: Service, *, manage: bool = True) -> FastAPI:
    """The app serving `service`. With `manage` (the default) the app starts the service
    when it starts and stops it (finishing the answer in progress) when it stops."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        if manage:
            service.start()
        try:
            yield
        finally:
            if manage:
                service.stop()

    app = FastAPI(
        title="tantieme node", version=__version__, lifespan=lifespan,
        description="Answers from consenting works, attributed, paid and anchored on chain (see docs/api.md).",
    )
    app.state.service = service
    errors.install(app)
    app.include_router(chat.router)
    app.include_router(routes.router)
    # Outermost last: metrics see everything, pricing runs before any payment gate.
    service.gate.install(app)
    app.add_middleware(chat.Pricing, service=service)
    app.add_middleware(MetricsMiddleware, metrics=service.metrics)
    return app
