"""Admin commands: /reload (background reindex, old index keeps serving), /stats, /unanswered."""

from __future__ import annotations

import asyncio
import csv
import html
import io
import json
import logging
import time
from collections import Counter

from aiogram import Router
from aiogram.filters import Command, CommandObject, Filter
from aiogram.types import BufferedInputFile, Message

from advisor.advisor import Advisor
from advisor.render import fit_message, spreadsheet_cell
from bot.config import AccessSettings
from bot.monitoring import Metrics
from bot.reloading import ReloadJob
from bot.texts import t
from knowledge.loader import KnowledgeError
from storage.base import UserStore
from storage.shared import Cluster, WorkerReport

router = Router(name=__name__)
log = logging.getLogger(__name__)
PROGRESS_EVERY_SECONDS = 2.0
REPORT_CHARS = 3500  # what fits in one Telegram message with the wording around it


class IsAdmin(Filter):
    """Passes for the user ids listed in `access.admins`."""

    async def __call__(self, message: Message, access: AccessSettings) -> bool:
        return message.from_user is not None and message.from_user.id in access.admins


@router.message(Command("reload", "stats", "unanswered"), ~IsAdmin())
async def refuse(message: Message, command: CommandObject, lang: str) -> None:
    log.warning("refused /%s for user %s", command.command, message.from_user.id if message.from_user else "?")
    await message.answer(t("refused", lang))


@router.message(Command("reload"), IsAdmin())
async def reload(message: Message, reload_job: ReloadJob, advisor: Advisor, metrics: Metrics,
                 cluster: Cluster | None, lang: str) -> None:
    if reload_job.busy:
        await message.answer(t("reload_busy", lang))
        return
    status = await message.answer(t("reload_started", lang))
    if cluster is not None:  # workers: every one of them validates and swaps, this one reports
        reload_job.start(lambda: _reload_everywhere(status, cluster, lang))
        return
    reload_job.start(lambda: _reload_in_background(status, reload_job, advisor, metrics, lang))


async def _reload_everywhere(status: Message, cluster: Cluster, lang: str) -> None:
    """Ask every live worker to reload, editing one message as their reports come in."""
    async def show(reports: list[WorkerReport], expected: int, final: bool = False) -> None:
        ok = [r for r in reports if r.ok]
        generations = Counter(r.generation for r in ok)
        lines = [t("reload_workers", lang, ok=len(ok), total=expected,
                   generation=generations.most_common(1)[0][0] if generations else "—")]
        lines += [t("reload_worker_failed", lang, worker=html.escape(r.worker),
                    detail=html.escape(fit_message(r.detail, 600))) for r in reports if not r.ok]
        if final and len(reports) < expected:
            missing = sorted(set(await cluster.live_workers()) - {r.worker for r in reports})
            lines.append(t("reload_workers_missing", lang, seconds=round(cluster.reload_timeout),
                           missing=html.escape(", ".join(missing) or "?")))
        await _edit(status, "\n".join(lines))

    reports, expected = await cluster.reload_everywhere(on_report=show)
    await show(reports, expected, final=True)


async def _reload_in_background(status: Message, job: ReloadJob, advisor: Advisor, metrics: Metrics,
                                lang: str) -> None:
    """Reindex in a worker thread, editing one progress message; the bot keeps answering meanwhile."""
    loop = asyncio.get_running_loop()
    last_edit = [0.0]

    def progress(done: int, total: int) -> None:
        if time.monotonic() - last_edit[0] >= PROGRESS_EVERY_SECONDS:
            last_edit[0] = time.monotonic()
            asyncio.run_coroutine_threadsafe(_edit(status, t("reload_progress", lang, done=done, total=total)), loop)

    try:
        report = await job.run(progress)
    except KnowledgeError as exc:
        await _edit(status, t("reload_failed", lang, problems=html.escape(fit_message(str(exc), REPORT_CHARS))))
        return
    except Exception:  # the old index keeps serving whatever went wrong
        log.exception("reload failed")
        await _edit(status, t("error", lang))
        return
    metrics.generation.inc()
    counts = ", ".join(f"{kind} {n}" for kind, n in advisor.kb.counts().items())
    await _edit(status, t("reload_done", lang, report=html.escape(report), counts=counts))


async def _edit(message: Message, text: str) -> None:
    try:
        await message.edit_text(text)
    except Exception:  # an unchanged text or a deleted message must not break the reload
        log.debug("progress edit skipped", exc_info=True)


@router.message(Command("stats"), IsAdmin())
async def stats(message: Message, store: UserStore) -> None:
    data = store.stats()
    await message.answer(f"<pre>{html.escape(json.dumps(data, ensure_ascii=False, indent=1))[:3900]}</pre>")


@router.message(Command("unanswered"), IsAdmin())
async def unanswered(message: Message, store: UserStore) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=["day", "lang", "intent", "question"])
    writer.writeheader()
    writer.writerows({k: spreadsheet_cell(v) for k, v in row.items()} for row in store.unanswered())
    await message.answer_document(BufferedInputFile(buffer.getvalue().encode("utf-8"), "unanswered.csv"))
