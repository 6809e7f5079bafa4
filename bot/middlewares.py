"""Middlewares: the user's language and profile for every handler, and per-user throttling."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

from aiogram import BaseMiddleware
from aiogram.types import CallbackQuery, Message, TelegramObject, User
from cachetools import TTLCache

from bot.texts import t
from storage.sqlite import Store

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


def telegram_language(user: User | None) -> str:
    """Kazakh for Telegram's 'kk' interface language, Russian otherwise."""
    return "kk" if user and (user.language_code or "").startswith("kk") else "ru"


class UserContextMiddleware(BaseMiddleware):
    """Puts `profile` and `lang` (the saved choice, else Telegram's interface language) into handler data."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: User | None = data.get("event_from_user")
        store: Store = data["store"]
        profile = store.profile(user.id) if user else None
        data["profile"] = profile
        data["lang"] = (profile.lang if profile and profile.lang else "") or telegram_language(user)
        return await handler(event, data)


@dataclass
class _Recent:
    """One user's latest update times and when they were last told to slow down."""

    times: deque[float] = field(default_factory=deque)
    warned_at: float = float("-inf")


class ThrottlingMiddleware(BaseMiddleware):
    """Takes at most `limit` updates per `period` seconds from each user; says once that the rest were not taken.

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

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: User | None = data.get("event_from_user")
        if user is None:
            return await handler(event, data)
        now = time.monotonic()
        recent = self._users.get(user.id) or _Recent()
        while recent.times and now - recent.times[0] > self.period:
            recent.times.popleft()
        over = len(recent.times) >= self.limit
        if not over:
            recent.times.append(now)
        self._users[user.id] = recent  # re-set on every update: the entry lives a period after the last one
        if not over:
            return await handler(event, data)
        wait = max(1, round(self.period - (now - recent.times[0])))
        if isinstance(event, CallbackQuery):  # a button must always be answered, or it keeps spinning
            await event.answer(t("throttled", data.get("lang", "ru"), seconds=wait))
        elif isinstance(event, Message) and now - recent.warned_at > self.period:
            recent.warned_at = now
            await event.answer(t("throttled", data.get("lang", "ru"), seconds=wait))
        return None


class CallbackWithoutMessageMiddleware(BaseMiddleware):
    """Answers a button press that comes without its message (inline mode) instead of failing on it."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        if isinstance(event, CallbackQuery) and event.message is None:
            lang = telegram_language(event.from_user)
            await event.answer(t("stale", lang), show_alert=True)
            return None
        return await handler(event, data)
