"""Per-user rate limits: the verdict on one update, and the limiter one process keeps for itself."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Protocol

from cachetools import TTLCache


@dataclass(frozen=True)
class Verdict:
    """Whether one update is taken; if not, seconds until it would be, and whether to say so now."""

    allowed: bool
    wait: int = 0
    tell: bool = False


class RateLimiter(Protocol):
    """Counts each user's updates: this process's own, or shared by every worker through Redis."""

    async def hit(self, user_id: int) -> Verdict: ...


@dataclass
class _Recent:
    """One user's latest update times and when they were last told to slow down."""

    times: deque[float] = field(default_factory=deque)
    warned_at: float = float("-inf")


class LocalRateLimiter:
    """At most `limit` updates per `period` seconds per user, counted in this process.

    State expires a period after a user's last update, so it stays as small as the set of active users.
    """

    def __init__(self, limit: int, period: float, max_users: int = 100_000):
        self.limit = limit
        self.period = period
        self._users: TTLCache[int, _Recent] = TTLCache(maxsize=max_users, ttl=period, timer=time.monotonic)

    def __len__(self) -> int:
        """Users whose recent updates are remembered."""
        self._users.expire()
        return len(self._users)

    async def hit(self, user_id: int) -> Verdict:
        """Count one update of the user, unless it is over the limit."""
        now = time.monotonic()
        recent = self._users.get(user_id) or _Recent()
        while recent.times and now - recent.times[0] > self.period:
            recent.times.popleft()
        over = len(recent.times) >= self.limit
        if not over:
            recent.times.append(now)
        self._users[user_id] = recent  # re-set on every update: the entry lives a period after the last one
        if not over:
            return Verdict(True)
        tell = now - recent.warned_at > self.period
        if tell:
            recent.warned_at = now
        return Verdict(False, max(1, round(self.period - (now - recent.times[0]))), tell)
