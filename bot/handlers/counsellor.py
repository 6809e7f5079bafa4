"""/why for counsellors: how the last answer was made."""

from __future__ import annotations

import html
import logging

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message

from bot.config import AccessSettings
from bot.texts import t
from storage.base import UserStore

router = Router(name=__name__)
log = logging.getLogger(__name__)


@router.message(Command("why"))
async def why(message: Message, access: AccessSettings, store: UserStore, lang: str) -> None:
    user_id = message.from_user.id
    if user_id not in access.counsellors and user_id not in access.admins:
        log.warning("refused /why for user %s", user_id)
        await message.answer(t("refused_counsellor", lang))
        return
    last = store.last_question(user_id)
    if not last:
        await message.answer(t("why_nothing", lang))
        return
    details = last["details"]
    lines = [f"<b>{html.escape(last['question'])}</b>",
             f"lang: {details.get('lang')}, intent: {details.get('intent')} "
             f"(model: {details.get('label') or '-'}, {details.get('confidence') or '-'}), "
             f"grade: {details.get('grade')}, city: {html.escape(details.get('city') or '-')}"]
    lines += [f"• {html.escape(s['id'])}: {s['score']} — {html.escape(s['why'])}"
              for s in details.get("specialities", [])]
    lines.append("sources:")
    lines += [f"· {html.escape(s['kind'])} {html.escape(s['id'])}: {s['score']}" for s in details.get("sources", [])]
    await message.answer("\n".join(lines)[:4000])
