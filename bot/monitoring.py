"""Health and Prometheus metrics of the bot: /healthz and /metrics on a small aiohttp server."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class Metrics:
    """The bot's Prometheus metrics, in a registry of their own (one per bot, never global)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.updates = Counter("bot_updates", "Updates received, by type", ["type"], registry=self.registry)
        self.latency = Histogram("bot_update_seconds", "Time from receiving an update to finishing its handler",
                                 buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30), registry=self.registry)
        self.errors = Counter("bot_errors", "Updates whose handler failed (the user got an apology)",
                              registry=self.registry)
        self.questions = Counter("bot_questions", "Questions answered from the knowledge base or not",
                                 ["answered"], registry=self.registry)
        self.generation = Gauge("bot_knowledge_generation",
                                "Knowledge generation served: 1 at start, +1 per successful /reload",
                                registry=self.registry)
        self.flood_waits = Counter("bot_telegram_429", "Calls Telegram answered with 429 (flood control)",
                                   registry=self.registry)

    def render(self) -> bytes:
        """The text exposition format Prometheus scrapes."""
        return generate_latest(self.registry)


@dataclass
class Health:
    """Readiness of the process: ready once the index is loaded and updates are taken."""

    state: str = "starting"  # starting, ready, stopping
    since: float = field(default_factory=time.time)
    details: dict[str, Any] = field(default_factory=dict)

    def set(self, state: str, **details: Any) -> None:
        """Move to a new state, keeping what it was for."""
        self.state, self.since = state, time.time()
        self.details.update(details)

    @property
    def ready(self) -> bool:
        return self.state == "ready"


class UpdateMetricsMiddleware(BaseMiddleware):
    """Counts every update by type and times its handling (outer middleware on the update observer)."""

    def __init__(self, metrics: Metrics):
        self.metrics = metrics

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        kind = event.event_type if isinstance(event, Update) else type(event).__name__
        self.metrics.updates.labels(kind).inc()
        started = time.perf_counter()
        try:
            return await handler(event, data)
        finally:
            self.metrics.latency.observe(time.perf_counter() - started)


def add_monitoring_routes(app: web.Application, health: Health, metrics: Metrics) -> None:
    """GET /healthz (200 when ready, 503 otherwise, JSON either way) and GET /metrics."""

    async def healthz(_: web.Request) -> web.Response:
        body = {"status": health.state, "since": round(health.since, 3), **health.details}
        return web.json_response(body, status=200 if health.ready else 503)

    async def metrics_page(_: web.Request) -> web.Response:
        return web.Response(body=metrics.render(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_page)
