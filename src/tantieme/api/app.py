"""The FastAPI application of a `Service`."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from fastapi import FastAPI

from tantieme import __version__
from tantieme.api import agent, chat, deposit, errors, routes
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
    app.include_router(deposit.router)
    app.include_router(agent.router)
    # Outermost last: metrics see everything, pricing runs before any payment gate.
    service.gate.install(app)
    app.add_middleware(chat.Pricing, service=service)
    app.add_middleware(MetricsMiddleware, metrics=service.metrics)
    return app


@contextlib.contextmanager
def running(app: FastAPI, host: str = "127.0.0.1") -> Iterator[str]:
    """`app` served by uvicorn in a thread of this process, on a free port of `host`, for as
    long as the block runs (its lifespan included); the URL. For the quickstart and tests."""
    import uvicorn

    listening = socket.socket()
    listening.bind((host, 0))
    port = listening.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listening]}, daemon=True)
    thread.start()
    while not server.started and thread.is_alive():
        time.sleep(0.01)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join()
        listening.close()
