"""Answering through a storage outage: the stores a worker shares, wrapped so that Redis or PostgreSQL being away
costs memory and statistics for a while, never an answer.

- Reads of a store that is down give what a new user has (no profile, no conversation).
- Writes wait in a bounded queue and are written, in order, once the store answers again.
- What a user asked to have done and cannot wait (feedback, /forget, admin reports) raises StoreUnavailable, so
  the bot can say honestly that it was not done.

After a failure the store is left alone: only the background flush (`flush`, called every second or so by the
wiring) tries it again, so a server that is down costs one failed call, not one per message.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import psycopg
from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, StateType, StorageKey
from psycopg_pool import PoolTimeout
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from storage.base import Profile, StoreError, UserStore
from storage.limits import RateLimiter, Verdict

log = logging.getLogger(__name__)

# Failures of a server that is away or restarting, as opposed to a bug or bad data: these are waited out.
OUTAGE_ERRORS: tuple[type[BaseException], ...] = (psycopg.OperationalError, PoolTimeout, RedisConnectionError,
                                                  RedisTimeoutError, ConnectionError, TimeoutError, OSError)
MAX_PENDING = 10_000  # writes kept during an outage; past this the oldest are dropped (and counted in the log)


class StoreUnavailable(StoreError):
    """A store is down, and what was asked cannot wait for it."""

    def __init__(self, what: str):
        super().__init__(f"{what} is unavailable right now; the bot answers without it and retries in the "
                         "background. Check that the server runs.")


@dataclass
class Outage:
    """Whether a store is down, since when, and how many writes were dropped for want of room."""

    name: str
    down_since: float | None = None
    dropped: int = 0

    @property
    def down(self) -> bool:
        return self.down_since is not None

    def failed(self, exc: BaseException) -> None:
        """Note a failure; logged once per outage, not once per message."""
        if self.down_since is None:
            self.down_since = time.monotonic()
            log.warning("%s is unavailable (%s): answering without it, keeping its writes until it is back",
                        self.name, exc.__class__.__name__)

    def recovered(self, written: int) -> None:
        """Note that the store answers again, and say what the outage cost."""
        if self.down_since is not None:
            log.warning("%s is back after %.0f s: %d waiting write(s) done, %d dropped", self.name,
                        time.monotonic() - self.down_since, written, self.dropped)
            self.down_since, self.dropped = None, 0


@dataclass
class ResilientStore:
    """A UserStore that answers reads with a new user's defaults and queues writes while the store is down."""

    inner: UserStore
    outage: Outage = field(default_factory=lambda: Outage("the user database"))
    pending: deque[tuple[str, tuple[Any, ...], dict[str, Any]]] = field(default_factory=deque)

    def _read(self, method: str, default: Any, *args: Any) -> Any:
        if self.outage.down:
            return default
        try:
            return getattr(self.inner, method)(*args)
        except OUTAGE_ERRORS as exc:
            self.outage.failed(exc)
            return default

    def _write(self, method: str, default: Any, *args: Any, **kwargs: Any) -> Any:
        if not self.outage.down and not self.pending:  # behind older waiting writes, a write waits its turn
            try:
                return getattr(self.inner, method)(*args, **kwargs)
            except OUTAGE_ERRORS as exc:
                self.outage.failed(exc)
        if len(self.pending) >= MAX_PENDING:
            self.pending.popleft()
            self.outage.dropped += 1
        self.pending.append((method, args, kwargs))
        return default

    def _now(self, method: str, *args: Any) -> Any:
        if self.outage.down:
            raise StoreUnavailable(self.outage.name)
        try:
            return getattr(self.inner, method)(*args)
        except OUTAGE_ERRORS as exc:
            self.outage.failed(exc)
            raise StoreUnavailable(self.outage.name) from exc

    def profile(self, user_id: int) -> Profile:
        return self._read("profile", Profile(), user_id)

    def update_profile(self, user_id: int, **fields: Any) -> Profile:
        known = {k: v for k, v in fields.items() if k in Profile.__dataclass_fields__}
        return self._write("update_profile", Profile(**known), user_id, **fields)

    def asked_for_grade(self, user_id: int) -> bool:
        # While the database is away, the bot does not ask: asking twice is worse than not asking.
        return self._write("asked_for_grade", True, user_id)

    def log_question(self, user_id: int, question: str, lang: str, intent: str, answered: bool,
                     details: dict[str, Any]) -> int:
        """The logged id, or 0 while the database is away (the row is written when it is back)."""
        return self._write("log_question", 0, user_id, question, lang, intent, answered, details)

    def last_question(self, user_id: int) -> dict[str, Any] | None:
        return self._read("last_question", None, user_id)

    def question(self, user_id: int, message_id: int) -> dict[str, Any] | None:
        return self._read("question", None, user_id, message_id)

    def add_feedback(self, user_id: int, message_id: int, vote: int) -> bool:
        return self._now("add_feedback", user_id, message_id, vote)

    def add_comment(self, user_id: int, comment: str) -> None:
        self._now("add_comment", user_id, comment)

    def forget(self, user_id: int) -> None:
        # Nothing of the user may be written after a /forget: drop their waiting writes too.
        self.pending = deque(w for w in self.pending if not w[1] or w[1][0] != user_id)
        self._now("forget", user_id)

    def stats(self, top: int = 5) -> dict[str, Any]:
        return self._now("stats", top)

    def unanswered(self) -> list[dict[str, Any]]:
        return self._now("unanswered")

    def close(self) -> None:
        self.flush()
        self.inner.close()

    def flush(self) -> int:
        """Write what waits, oldest first (or try one read when nothing does); returns how many were written.

        Blocking: the wiring calls it in a thread, so a server that hangs never holds the event loop.
        """
        if not self.outage.down and not self.pending:
            return 0
        written = 0
        try:
            if not self.pending:
                self.inner.profile(0)  # is it back?
            while self.pending:
                method, args, kwargs = self.pending[0]
                try:
                    getattr(self.inner, method)(*args, **kwargs)
                except OUTAGE_ERRORS:
                    raise
                except Exception:  # a write the database refuses would block every later one: log and skip
                    log.exception("dropped a waiting %s the database refused", method)
                self.pending.popleft()
                written += 1
        except OUTAGE_ERRORS as exc:
            self.outage.failed(exc)
            return written
        self.outage.recovered(written)
        return written


class ResilientFsmStorage(BaseStorage):
    """aiogram FSM storage that, while its server is down, remembers the latest writes here and serves them back.

    A conversation held during an outage thus keeps its thread on this worker, and is written to the shared
    storage once it is back (the latest state of each chat, not every step).
    """

    def __init__(self, inner: BaseStorage, name: str = "Redis"):
        self.inner = inner
        self.outage = Outage(name)
        self.pending: OrderedDict[tuple[str, StorageKey], Any] = OrderedDict()

    async def _get(self, what: str, key: StorageKey, default: Any) -> Any:
        if (what, key) in self.pending:
            return self.pending[(what, key)]
        if self.outage.down:
            return default
        try:
            return await getattr(self.inner, f"get_{what}")(key)
        except OUTAGE_ERRORS as exc:
            self.outage.failed(exc)
            return default

    async def _set(self, what: str, key: StorageKey, value: Any) -> None:
        if not self.outage.down and (what, key) not in self.pending:
            try:
                return await getattr(self.inner, f"set_{what}")(key, value)
            except OUTAGE_ERRORS as exc:
                self.outage.failed(exc)
        self.pending[(what, key)] = value
        self.pending.move_to_end((what, key))
        if len(self.pending) > MAX_PENDING:
            self.pending.popitem(last=False)
            self.outage.dropped += 1

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        await self._set("state", key, state.state if isinstance(state, State) else state)

    async def get_state(self, key: StorageKey) -> str | None:
        return await self._get("state", key, None)

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        await self._set("data", key, dict(data))

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        return dict(await self._get("data", key, {}))

    async def close(self) -> None:
        await self.flush()
        await self.inner.close()

    async def flush(self) -> int:
        """Write the remembered states and data to the shared storage; returns how many were written."""
        if not self.outage.down and not self.pending:
            return 0
        written = 0
        try:
            if not self.pending:
                await self.inner.get_state(StorageKey(bot_id=0, chat_id=0, user_id=0))  # is it back?
            while self.pending:
                (what, key), value = next(iter(self.pending.items()))
                await getattr(self.inner, f"set_{what}")(key, value)
                self.pending.pop((what, key), None)
                written += 1
        except OUTAGE_ERRORS as exc:
            self.outage.failed(exc)
            return written
        self.outage.recovered(written)
        return written


@dataclass
class ResilientLimiter:
    """The shared rate limiter, or this process's own while the shared one is down."""

    shared: RateLimiter
    local: RateLimiter
    outage: Outage = field(default_factory=lambda: Outage("the shared rate limiter"))
    retry_every: float = 1.0
    _retry_at: float = 0.0
    clock: Callable[[], float] = time.monotonic

    async def hit(self, user_id: int) -> Verdict:
        if self.outage.down and self.clock() < self._retry_at:
            return await self.local.hit(user_id)
        try:
            verdict = await self.shared.hit(user_id)
        except OUTAGE_ERRORS as exc:
            self.outage.failed(exc)
            self._retry_at = self.clock() + self.retry_every
            return await self.local.hit(user_id)
        self.outage.recovered(0)
        return verdict
