"""Prometheus metrics of one service (its own registry, so several apps never mix).

    tantieme_requests_total{route, status}        requests answered, by route template and status
    tantieme_request_seconds{route}               latency histogram, by route template
    tantieme_payments_total{method, outcome}      payments admitted, delivered, cancelled
    tantieme_answer_seconds                       time in the model worker per answer
    tantieme_queue_length                         questions waiting for the model worker
"""

from __future__ import annotations

import time
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["Metrics", "MetricsMiddleware"]

_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 1.5, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    def __init__(self, queue_length: Callable[[], int]) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "tantieme_requests", "HTTP requests answered", ["route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "tantieme_request_seconds", "HTTP request latency", ["route"], buckets=_BUCKETS, registry=self.registry
        )
        self.payments = Counter(
            "tantieme_payments", "Payments by method and outcome (admitted, delivered, cancelled)",
            ["method", "outcome"], registry=self.registry,
        )
        self.answer = Histogram(
            "tantieme_answer_seconds", "Time in the model worker per answer", buckets=_BUCKETS, registry=self.registry
        )
        queue = Gauge("tantieme_queue_length", "Questions waiting for the model worker", registry=self.registry)
        queue.set_function(queue_length)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Counts and times every HTTP request, errors from other middleware included."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = scope.get("route")
            label = getattr(route, "path", None) or scope.get("tantieme_route") or "unmatched"
            self.metrics.requests.labels(label, str(status)).inc()
            self.metrics.latency.labels(label).observe(time.perf_counter() - start)
