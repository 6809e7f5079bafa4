"""Middlewares: the user's language and profile for every handler, and per-user throttling."""

from __future__ import annotations

from typing import Any, Awaitable, Callable

from aiogram import BaseMiddleware
from aiogram.types import CallbackQuery, Message, TelegramObject, User

from bot.texts import t
from storage.base import UserStore
from storage.limits import RateLimiter

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


def telegram_language(user: User | None) -> str:
    """Kazakh for Telegram's 'kk' interface language, Russian otherwise."""
    return "kk" if user and (user.language_code or "").startswith("kk") else "ru"


class UserContextMiddleware(BaseMiddleware):
    """Puts `profile` and `lang` (the saved choice, else Telegram's interface language) into handler data."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: User | None = data.get("event_from_user")
        store: UserStore = data["store"]
        profile = store.profile(user.id) if user else None
        data["profile"] = profile
        data["lang"] = (profile.lang if profile and profile.lang else "") or telegram_language(user)
        return await handler(event, data)


class ThrottlingMiddleware(BaseMiddleware):
    """Takes the updates the limiter allows; says once a period that the rest were not taken."""

    def __init__(self, limiter: RateLimiter):
        self.limiter = limiter

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: User | None = data.get("event_from_user")
        if user is None:
            return await handler(event, data)
        verdict = await self.limiter.hit(user.id)
        if verdict.allowed:
            return await handler(event, data)
        notice = t("throttled", data.get("lang", "ru"), seconds=verdict.wait)
        if isinstance(event, CallbackQuery):  # a button must always be answered, or it keeps spinning
            await event.answer(notice)
        elif isinstance(event, Message) and verdict.tell:
            await event.answer(notice)
        return None


class CallbackWithoutMessageMiddleware(BaseMiddleware):
    """Answers a button press that comes without its message (inline mode) instead of failing on it."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        if isinstance(event, CallbackQuery) and event.message is None:
            lang = telegram_language(event.from_user)
            await event.answer(t("stale", lang), show_alert=True)
            return None
        return await handler(event, data)
