"""State that webhook workers share through Redis: throttling, the list of live workers and /reload everywhere.

aiogram's RedisStorage keeps FSM state and conversations (see app/wiring.py); this module holds the rest.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from storage.limits import Verdict

log = logging.getLogger(__name__)

PREFIX = "kolledzh"
HEARTBEAT_SECONDS = 5.0
# A worker silent for two heartbeats is taken for dead: a live one beats every heartbeat, so one missed beat is
# the margin for a busy event loop, and a dead one is noticed at most two heartbeats after its last beat.
BEATS_BEFORE_DEAD = 2
REPORT_KEPT_SECONDS = 3600


class RedisRateLimiter:
    """At most `limit` updates per `period` seconds per user, counted across every worker in one Redis."""

    def __init__(self, redis: Redis, limit: int, period: float):
        self.redis = redis
        self.limit = limit
        self.period = period

    async def hit(self, user_id: int) -> Verdict:
        """Count one update of the user, unless it is over the limit (a sliding window in a sorted set)."""
        key = f"{PREFIX}:throttle:{user_id}"
        now = time.time()
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zremrangebyscore(key, 0, now - self.period)
            pipe.zrange(key, 0, 0, withscores=True)
            pipe.zcard(key)
            _, oldest, count = await pipe.execute()
        if count < self.limit:
            # The member is unique per update; the key expires a period after the user's last update.
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.zadd(key, {f"{now}:{secrets.token_hex(4)}": now})
                pipe.expire(key, max(1, round(self.period)))
                await pipe.execute()
            return Verdict(True)
        wait = max(1, round(self.period - (now - oldest[0][1]))) if oldest else 1
        # Told once a period, by whichever worker gets there first.
        tell = bool(await self.redis.set(f"{PREFIX}:throttle-told:{user_id}", "1", nx=True,
                                         ex=max(1, round(self.period))))
        return Verdict(False, wait, tell)


@dataclass(frozen=True)
class WorkerReport:
    """What one worker says after a /reload: its knowledge generation, or why it kept the old one."""

    worker: str
    ok: bool
    generation: str
    detail: str = ""


Reload = Callable[[], Awaitable[WorkerReport]]


class Cluster:
    """The webhook workers sharing one Redis: who is alive, and a /reload that every one of them carries out."""

    def __init__(self, redis: Redis, name: str, reload_timeout: float = 120.0,
                 heartbeat_seconds: float = HEARTBEAT_SECONDS):
        self.redis = redis
        self.name = name
        self.reload_timeout = reload_timeout
        self.heartbeat_seconds = heartbeat_seconds
        self.generation = ""  # the knowledge generation this worker serves, sent with every heartbeat
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self, reload: Reload, generation: str) -> None:
        """Announce this worker, on the knowledge generation it serves, and listen for reloads until `stop`."""
        self.generation = generation
        await self._beat()
        subscribed = await self._subscribe()  # before returning: a /reload published from now on reaches us
        self._tasks = [asyncio.create_task(self._heartbeat()), asyncio.create_task(self._listen(reload, subscribed))]

    async def stop(self) -> None:
        """Stop listening and leave the list of live workers at once."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        await self.redis.hdel(f"{PREFIX}:workers", self.name)

    async def live_workers(self) -> dict[str, str]:
        """Live workers and the knowledge generation each last reported."""
        now = time.time()
        workers = await self.redis.hgetall(f"{PREFIX}:workers")
        live = {}
        for name, raw in workers.items():
            seen = json.loads(raw)
            if now - seen["at"] <= BEATS_BEFORE_DEAD * self.heartbeat_seconds:
                live[_text(name)] = seen["generation"]
        return live

    async def reload_everywhere(self, on_report: Callable[[list[WorkerReport], int], Awaitable[None]] | None = None
                                ) -> tuple[list[WorkerReport], int]:
        """Ask every live worker to reload; wait until all reported or the timeout; returns reports and the count."""
        request = secrets.token_hex(8)
        expected = len(await self.live_workers())
        await self.redis.publish(f"{PREFIX}:reload", request)
        deadline = time.monotonic() + self.reload_timeout
        reports: list[WorkerReport] = []
        while time.monotonic() < deadline:
            raw = await self.redis.hgetall(f"{PREFIX}:reload:{request}")
            fresh = sorted((WorkerReport(**json.loads(v)) for v in raw.values()), key=lambda r: r.worker)
            if len(fresh) != len(reports) and on_report is not None:
                await on_report(fresh, expected)
            reports = fresh
            expected = max(expected, len(await self.live_workers()))  # a worker that started meanwhile counts
            if len(reports) >= expected:
                break
            await asyncio.sleep(0.25)
        return reports, expected

    async def _beat(self) -> None:
        entry = json.dumps({"at": time.time(), "generation": self.generation})
        await self.redis.hset(f"{PREFIX}:workers", self.name, entry)

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_seconds)
            try:
                await self._beat()
            except Exception as exc:  # Redis away for a moment: the next beat tries again
                log.warning("heartbeat to Redis failed (%s); trying again in %.0f s", exc.__class__.__name__,
                            self.heartbeat_seconds)

    async def _subscribe(self) -> PubSub:
        pubsub = self.redis.pubsub()
        await pubsub.subscribe(f"{PREFIX}:reload")
        return pubsub

    async def _listen(self, reload: Reload, pubsub: PubSub | None) -> None:
        """Carry out every /reload published, subscribing again whenever Redis was away."""
        while True:
            try:
                pubsub = pubsub or await self._subscribe()
                async with pubsub:
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            await self._reload(_text(message["data"]), reload)
                pubsub = None  # closed on leaving the block
            except (RedisError, OSError) as exc:  # Redis away: a /reload published meanwhile reaches no one
                log.warning("lost the /reload channel (%s); subscribing again in %.0f s", exc.__class__.__name__,
                            self.heartbeat_seconds)
                pubsub = None
                await asyncio.sleep(self.heartbeat_seconds)

    async def _reload(self, request: str, reload: Reload) -> None:
        """Reload here and file this worker's report under the request."""
        report = await reload()
        key = f"{PREFIX}:reload:{request}"
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, self.name, json.dumps(asdict(report)))
            pipe.expire(key, REPORT_KEPT_SECONDS)
            await pipe.execute()
        self.generation = report.generation  # the knowledge this worker serves from now on
        await self._beat()


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
