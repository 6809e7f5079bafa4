"""Long polling that confirms an update to Telegram only after its handler has finished.

aiogram's own polling confirms each batch as soon as it asks for the next one, so the updates whose handlers
are still running when the process stops are lost. Here the offset sent to Telegram never passes an update in
flight: Telegram keeps re-offering those (they are skipped while they run), and an update whose handler did not
finish before shutdown is delivered again at the next start.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.exceptions import TelegramAPIError, TelegramNetworkError
from aiogram.methods import GetUpdates
from aiogram.types import Update

from bot.flood import REPLY_NOT_SENT

log = logging.getLogger(__name__)

BATCH = 100  # Telegram's maximum per getUpdates; also the most updates handled at once
RECHECK_SECONDS = 0.1  # how long to wait for a running handler before asking Telegram again


class ConfirmingPoller:
    """Feeds updates from getUpdates to the dispatcher, each in its own task, and confirms only finished ones."""

    def __init__(self, dispatcher: Dispatcher, bot: Bot, allowed_updates: list[str], polling_timeout: int = 10):
        self.dispatcher = dispatcher
        self.bot = bot
        self.allowed_updates = allowed_updates
        self.polling_timeout = polling_timeout
        self.running: dict[int, asyncio.Task[Any]] = {}  # update id -> its handler
        self.finished: set[int] = set()  # handled, but not yet confirmed because an older one still runs
        # Cancelled at shutdown, or not answered for want of Telegram: never confirmed, so Telegram delivers them again.
        self.cut: set[int] = set()
        self.next_offset: int | None = None  # one past the newest update seen

    @property
    def offset(self) -> int | None:
        """The offset to confirm: the oldest update not handled, else one past the newest seen."""
        unhandled = self.running.keys() | self.cut
        return min(unhandled) if unhandled else self.next_offset

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until `stop` is set; handlers still running then keep running (see `drain`)."""
        failures = 0
        while not stop.is_set():
            try:
                updates = await self._fetch(stop, timeout=0 if self.running else self.polling_timeout)
                failures = 0
            except (TelegramNetworkError, TelegramAPIError) as exc:
                failures += 1
                delay = min(30.0, 0.5 * 2 ** failures)
                log.warning("getUpdates failed (%s); retrying in %.1f s", exc.__class__.__name__, delay)
                await _sleep_unless(stop, delay)
                continue
            if updates is None:  # stopped while waiting
                return
            started = self._start(updates)
            if not started and self.running:
                # Only updates already in hand came back: wait for one to finish instead of asking again at once.
                await asyncio.wait(list(self.running.values()), timeout=RECHECK_SECONDS,
                                   return_when=asyncio.FIRST_COMPLETED)

    async def drain(self, timeout: float) -> int:
        """Give running handlers `timeout` seconds, cancel the rest, confirm the finished; returns how many were cut."""
        if self.running:
            log.info("waiting up to %.0f s for %d update(s) in progress", timeout, len(self.running))
            await asyncio.wait(list(self.running.values()), timeout=timeout)
        cut = list(self.running.values())
        for task in cut:
            task.cancel()
        for task in cut:
            with suppress(asyncio.CancelledError, Exception):
                await task
        if cut:
            log.warning("%d update(s) did not finish in time; Telegram will deliver them again", len(cut))
        await self._confirm()
        return len(cut)

    async def _fetch(self, stop: asyncio.Event, timeout: int) -> list[Update] | None:
        """One getUpdates call, abandoned (returns None) when `stop` is set meanwhile."""
        offset = self.offset
        request = asyncio.ensure_future(self.bot(GetUpdates(offset=offset, limit=BATCH, timeout=timeout,
                                                            allowed_updates=self.allowed_updates),
                                                 request_timeout=timeout + 10))
        stopped = asyncio.ensure_future(stop.wait())
        await asyncio.wait({request, stopped}, return_when=asyncio.FIRST_COMPLETED)
        stopped.cancel()
        if not request.done():
            request.cancel()
            with suppress(asyncio.CancelledError, Exception):
                await request
            return None
        updates = request.result()
        if offset is not None:  # Telegram has now dropped everything below this offset: no need to remember it
            self.finished = {u for u in self.finished if u >= offset}
        return updates

    def _start(self, updates: list[Update]) -> int:
        """Start a handler for each update not already running or finished; returns how many started."""
        started = 0
        for update in updates:
            uid = update.update_id
            if self.next_offset is None or uid >= self.next_offset:
                self.next_offset = uid + 1
            if uid in self.running or uid in self.finished:
                continue
            task = asyncio.create_task(self._handle(update))
            self.running[uid] = task
            task.add_done_callback(lambda done, uid=uid: self._done(uid, not done.cancelled() and done.result()))
            started += 1
        return started

    async def _handle(self, update: Update) -> bool:
        """Feed one update; False when its reply could not be sent, so that it is delivered again."""
        try:
            await self.dispatcher.feed_update(self.bot, update)
        except REPLY_NOT_SENT as exc:
            log.warning("update %s was not answered (%s): it will be delivered again", update.update_id,
                        exc.__class__.__name__)
            return False
        except Exception:  # the error handler already answered the user; never let one update stop polling
            log.exception("update %s failed", update.update_id)
        return True

    def _done(self, uid: int, handled: bool) -> None:
        """Mark an update handled (it stays known until Telegram stops offering it), or cut off."""
        self.running.pop(uid, None)
        if handled:
            self.finished.add(uid)
            self.cut.discard(uid)
        else:
            self.cut.add(uid)

    async def _confirm(self) -> None:
        """Tell Telegram which updates are done: a getUpdates with the offset, answered at once."""
        if self.offset is None:
            return
        try:
            await self.bot(GetUpdates(offset=self.offset, limit=1, timeout=0), request_timeout=10)
        except Exception as exc:  # nothing is lost: unconfirmed updates are only delivered again
            log.warning("could not confirm handled updates (%s)", exc.__class__.__name__)


async def _sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    with suppress(asyncio.TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
