"""/healthz says whether the bot can answer; /metrics exposes what an operator graphs and alerts on."""

from __future__ import annotations

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.monitoring import Health, Metrics, add_monitoring_routes


async def test_healthz_is_ready_only_once_the_index_is_loaded_and_metrics_are_exposed() -> None:
    health, metrics = Health(), Metrics()
    app = web.Application()
    add_monitoring_routes(app, health, metrics)
    async with TestClient(TestServer(app)) as client:
        starting = await client.get("/healthz")
        assert starting.status == 503 and (await starting.json())["status"] == "starting"
        health.set("ready", records=293)
        ready = await client.get("/healthz")
        assert ready.status == 200 and (await ready.json()) | {"since": 0} == {"status": "ready", "since": 0,
                                                                               "records": 293}
        metrics.updates.labels("message").inc(3)
        metrics.questions.labels("no").inc()
        metrics.flood_waits.inc()
        metrics.latency.observe(0.2)
        metrics.generation.set(2)
        text = await (await client.get("/metrics")).text()
    for line in ('bot_updates_total{type="message"} 3.0', 'bot_questions_total{answered="no"} 1.0',
                 "bot_telegram_429_total 1.0", "bot_update_seconds_count 1.0", "bot_knowledge_generation 2.0",
                 "bot_errors_total 0.0"):
        assert line in text, line
