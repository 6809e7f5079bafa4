"""Admin commands: /reload (background reindex, old index keeps serving), /stats, /unanswered."""

from __future__ import annotations

import asyncio
import csv
import html
import io
import json
import logging
import time

from aiogram import Router
from aiogram.filters import Command, Filter
from aiogram.types import BufferedInputFile, Message
from langchain_core.embeddings import Embeddings

from advisor.advisor import Advisor
from advisor.config import Settings
from advisor.wiring import reload_advisor
from bot.storage import Store
from bot.texts import t
from knowledge.loader import KnowledgeError

router = Router(name=__name__)
log = logging.getLogger(__name__)
PROGRESS_EVERY_SECONDS = 2.0
_reload_lock = asyncio.Lock()


class IsAdmin(Filter):
    """Passes for the user ids listed in `access.admins`."""

    async def __call__(self, message: Message, settings: Settings) -> bool:
        return message.from_user is not None and message.from_user.id in settings.access.admins


@router.message(Command("reload", "stats", "unanswered"), ~IsAdmin())
async def refuse(message: Message, lang: str) -> None:
    log.warning("refused %s for user %s", (message.text or "").split()[0], message.from_user.id)
    await message.answer(t("refused", lang))


@router.message(Command("reload"), IsAdmin())
async def reload(message: Message, settings: Settings, advisor: Advisor, embeddings: Embeddings,
                 lang: str) -> None:
    if _reload_lock.locked():
        await message.answer(t("reload_busy", lang))
        return
    status = await message.answer(t("reload_started", lang))
    asyncio.create_task(_reload_in_background(status, settings, advisor, embeddings, lang))


async def _reload_in_background(status: Message, settings: Settings, advisor: Advisor, embeddings: Embeddings,
                                lang: str) -> None:
    """Reindex in a worker thread, editing one progress message; the bot keeps answering meanwhile."""
    loop = asyncio.get_running_loop()
    last_edit = [0.0]

    def progress(done: int, total: int) -> None:
        if time.monotonic() - last_edit[0] >= PROGRESS_EVERY_SECONDS:
            last_edit[0] = time.monotonic()
            asyncio.run_coroutine_threadsafe(_edit(status, t("reload_progress", lang, done=done, total=total)), loop)

    async with _reload_lock:
        try:
            report = await asyncio.to_thread(reload_advisor, settings, advisor, embeddings, progress)
        except KnowledgeError as exc:
            await _edit(status, t("reload_failed", lang, problems=str(exc)[:3500]))
            return
        except Exception:  # the old index keeps serving whatever went wrong
            log.exception("reload failed")
            await _edit(status, t("error", lang))
            return
    counts = ", ".join(f"{kind} {n}" for kind, n in advisor.kb.counts().items())
    await _edit(status, t("reload_done", lang, report=report or "index already up to date", counts=counts))


async def _edit(message: Message, text: str) -> None:
    try:
        await message.edit_text(text)
    except Exception:  # an unchanged text or a deleted message must not break the reload
        log.debug("progress edit skipped", exc_info=True)


@router.message(Command("stats"), IsAdmin())
async def stats(message: Message, store: Store) -> None:
    data = store.stats()
    await message.answer(f"<pre>{html.escape(json.dumps(data, ensure_ascii=False, indent=1))[:3900]}</pre>")


@router.message(Command("unanswered"), IsAdmin())
async def unanswered(message: Message, store: Store) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=["day", "lang", "intent", "question"])
    writer.writeheader()
    writer.writerows(store.unanswered())
    await message.answer_document(BufferedInputFile(buffer.getvalue().encode("utf-8"), "unanswered.csv"))
