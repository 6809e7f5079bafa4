"""Middlewares: the user's language and profile for every handler, and per-user throttling."""

from __future__ import annotations

import time
from collections import defaultdict, deque
from typing import Any, Awaitable, Callable

from aiogram import BaseMiddleware
from aiogram.types import CallbackQuery, Message, TelegramObject, User

from bot.storage import Store
from bot.texts import t

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


class ThrottlingMiddleware(BaseMiddleware):
    """Lets each user send `limit` updates per `period` seconds; tells them once when they go over."""

    def __init__(self, limit: int, period: float):
        self.limit = limit
        self.period = period
        self._recent: dict[int, deque[float]] = defaultdict(deque)
        self._warned: dict[int, float] = {}

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: User | None = data.get("event_from_user")
        if user is None:
            return await handler(event, data)
        now = time.monotonic()
        recent = self._recent[user.id]
        while recent and now - recent[0] > self.period:
            recent.popleft()
        if len(recent) >= self.limit:
            if now - self._warned.get(user.id, 0.0) > self.period:
                self._warned[user.id] = now
                await _tell(event, t("throttled", data.get("lang", "ru")))
            return None
        recent.append(now)
        return await handler(event, data)


async def _tell(event: TelegramObject, text: str) -> None:
    if isinstance(event, Message):
        await event.answer(text)
    elif isinstance(event, CallbackQuery):
        await event.answer(text, show_alert=False)
