"""Flood control for outgoing Bot API calls: a global send rate, and 429 answers retried in each chat's order."""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from typing import Any, Callable

from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter, TelegramServerError
from aiogram.methods import GetUpdates, TelegramMethod
from aiogram.methods.base import Response, TelegramType
from aiohttp import ServerDisconnectedError

log = logging.getLogger(__name__)
# A reply failed with one of these when Telegram could not be reached (even after flood control's retries): the
# update is then left unconfirmed, for Telegram to deliver again, rather than answered with nothing.
REPLY_NOT_SENT = (TelegramNetworkError, TelegramServerError, TelegramRetryAfter)


class SendPace:
    """Spaces calls `1 / per_second` apart; each caller waits for its own slot, first come first served."""

    def __init__(self, per_second: float, clock: Callable[[], float] = time.monotonic):
        self.interval = 1.0 / per_second
        self.clock = clock
        self._next_slot = 0.0

    def reserve(self) -> float:
        """Book the next free slot and return how many seconds to wait for it."""
        now = self.clock()
        slot = max(now, self._next_slot)
        self._next_slot = slot + self.interval
        return slot - now

    async def wait(self) -> None:
        """Sleep until this caller's slot."""
        delay = self.reserve()
        if delay > 0:
            await asyncio.sleep(delay)


class FloodControl(BaseRequestMiddleware):
    """Paces messages globally and retries calls that Telegram answered with 429 after its retry_after.

    Calls to one chat pass one at a time, so a retried message is never overtaken by the next one to that chat.
    """

    def __init__(self, per_second: float, max_retries: int, on_retry: Callable[[], None] = lambda: None):
        self.pace = SendPace(per_second)
        self.max_retries = max_retries
        self.on_retry = on_retry
        # One lock per chat while somebody holds it; unused locks are collected, so this never grows unbounded.
        self._chat_locks: weakref.WeakValueDictionary[Any, asyncio.Lock] = weakref.WeakValueDictionary()

    async def __call__(self, make_request: NextRequestMiddlewareType[TelegramType], bot: Bot,
                       method: TelegramMethod[TelegramType]) -> Response[TelegramType]:
        if isinstance(method, GetUpdates):  # the long poll is not a message and is never paced
            return await make_request(bot, method)
        chat_id = getattr(method, "chat_id", None)
        if chat_id is None:  # callback answers and the like: retried, but not paced or ordered
            return await self._send(make_request, bot, method, paced=False)
        lock = self._chat_locks.get(chat_id)
        if lock is None:
            lock = self._chat_locks[chat_id] = asyncio.Lock()
        async with lock:
            return await self._send(make_request, bot, method, paced=True)

    async def _send(self, make_request: NextRequestMiddlewareType[TelegramType], bot: Bot,
                    method: TelegramMethod[TelegramType], paced: bool) -> Response[TelegramType]:
        reconnected = False
        for attempt in range(self.max_retries + 1):
            if paced:
                await self.pace.wait()
            try:
                return await make_request(bot, method)
            except TelegramNetworkError as exc:
                # Almost always a kept-alive connection the server closed just before the request went out:
                # one retry on a fresh connection. (At worst a message arrives twice; a lost answer is worse.)
                if reconnected or attempt == self.max_retries or not isinstance(exc.__cause__,
                                                                                 ServerDisconnectedError):
                    raise
                reconnected = True
                log.info("the Bot API closed an idle connection (%s): sending again", type(method).__name__)
            except TelegramRetryAfter as exc:
                self.on_retry()
                if attempt == self.max_retries:
                    raise
                log.warning("Telegram asked to slow down (%s): retrying in %s s", type(method).__name__,
                            exc.retry_after)
                await asyncio.sleep(exc.retry_after)
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises
