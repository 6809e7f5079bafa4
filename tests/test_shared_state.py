"""Throttling and /reload shared by webhook workers, against a real Redis server."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from storage.shared import PREFIX, Cluster, RedisRateLimiter, WorkerReport


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    """A Redis database of its own, emptied before and after the test."""
    client = Redis.from_url(redis_url.rsplit("/", 1)[0] + "/7")
    await client.flushdb()
    yield client
    await client.flushdb()
    await client.aclose()


async def test_two_workers_share_one_users_limit(redis: Redis) -> None:
    first, second = RedisRateLimiter(redis, limit=3, period=60), RedisRateLimiter(redis, limit=3, period=60)
    verdicts = [await limiter.hit(7) for limiter in (first, second, first, second, first)]
    assert [v.allowed for v in verdicts] == [True, True, True, False, False]
    assert verdicts[3].tell and not verdicts[4].tell  # told once, whichever worker got the update
    assert 1 <= verdicts[3].wait <= 60
    assert (await second.hit(8)).allowed  # another user is not held up


async def test_the_limit_frees_up_after_its_period_and_the_keys_expire(redis: Redis) -> None:
    limiter = RedisRateLimiter(redis, limit=1, period=1)
    assert (await limiter.hit(9)).allowed and not (await limiter.hit(9)).allowed
    await asyncio.sleep(1.2)
    assert (await limiter.hit(9)).allowed
    assert 0 < await redis.ttl(f"{PREFIX}:throttle:9") <= 1  # nothing about the user outlives the period


def _reporting(name: str, generation: str, ok: bool = True):
    async def reload() -> WorkerReport:
        return WorkerReport(name, ok, generation, "" if ok else "faq.yaml: line 3: not valid YAML")
    return reload


async def test_a_reload_from_one_worker_reaches_every_live_worker(redis: Redis) -> None:
    a, b = Cluster(redis, "a", reload_timeout=10), Cluster(redis, "b", reload_timeout=10)
    await a.start(_reporting("a", "new"), "old")
    await b.start(_reporting("b", "new"), "old")
    seen: list[int] = []

    async def on_report(reports: list[WorkerReport], expected: int) -> None:
        seen.append(len(reports))

    try:
        assert await a.live_workers() == {"a": "old", "b": "old"}
        reports, expected = await b.reload_everywhere(on_report)
        assert expected == 2 and [(r.worker, r.ok, r.generation) for r in reports] == [("a", True, "new"),
                                                                                       ("b", True, "new")]
        assert seen and seen[-1] == 2
        assert await a.live_workers() == {"a": "new", "b": "new"}  # each beat carries its new generation
    finally:
        await a.stop()
        await b.stop()
    assert await Cluster(redis, "c").live_workers() == {}  # a stopped worker leaves the list at once


async def test_a_worker_that_keeps_the_old_knowledge_says_why(redis: Redis) -> None:
    a, b = Cluster(redis, "a", reload_timeout=10), Cluster(redis, "b", reload_timeout=10)
    await a.start(_reporting("a", "new"), "old")
    await b.start(_reporting("b", "old", ok=False), "old")
    try:
        reports, expected = await a.reload_everywhere()
    finally:
        await a.stop()
        await b.stop()
    failed = [r for r in reports if not r.ok]
    assert expected == 2 and [r.worker for r in failed] == ["b"] and "not valid YAML" in failed[0].detail


async def test_a_silent_worker_is_waited_for_until_the_timeout_and_a_dead_one_not_at_all(redis: Redis) -> None:
    a = Cluster(redis, "a", reload_timeout=1.5)
    await a.start(_reporting("a", "new"), "old")
    # "hung" beat a moment ago but does not listen; "dead" beat long ago.
    await redis.hset(f"{PREFIX}:workers", mapping={
        "hung": json.dumps({"at": time.time(), "generation": "old"}),
        "dead": json.dumps({"at": time.time() - 3600, "generation": "old"})})
    try:
        started = time.monotonic()
        reports, expected = await a.reload_everywhere()
        waited = time.monotonic() - started
    finally:
        await a.stop()
    assert expected == 2 and [r.worker for r in reports] == ["a"]
    assert waited >= 1.5  # it waited for the live one that never answered, then gave up


async def test_reload_requests_do_not_mix(redis: Redis) -> None:
    """Two admins' reloads each get their own reports, not the other's."""
    a = Cluster(redis, "a", reload_timeout=10)
    calls: list[str] = []

    async def reload() -> WorkerReport:
        calls.append(secrets.token_hex(2))
        return WorkerReport("a", True, f"g{len(calls)}")

    await a.start(reload, "g0")
    try:
        first, _ = await a.reload_everywhere()
        second, _ = await a.reload_everywhere()
    finally:
        await a.stop()
    assert [r.generation for r in first] == ["g1"] and [r.generation for r in second] == ["g2"]
