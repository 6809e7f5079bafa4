"""What is left: non-text messages and buttons nobody handles (stale or forged)."""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.types import CallbackQuery, Message

from bot.texts import t

router = Router(name=__name__)
log = logging.getLogger(__name__)


@router.message()
async def not_text(message: Message, lang: str) -> None:
    """Stickers, photos, voice, documents, locations…: say what the bot understands."""
    await message.answer(t("not_text", lang))


@router.callback_query()
async def unknown_button(callback: CallbackQuery, lang: str) -> None:
    log.info("unknown callback data from user %s: %r", callback.from_user.id, (callback.data or "")[:64])
    await callback.answer(t("stale", lang), show_alert=True)
