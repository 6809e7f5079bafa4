"""The Telegram bot: builds the Bot and the Dispatcher with everything injected, and registers commands."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import BaseStorage
from aiogram.types import BotCommand, BotCommandScopeDefault, ErrorEvent
from aiogram.utils.i18n import ConstI18nMiddleware, I18n
from aiogram.utils.token import TokenValidationError

from advisor.advisor import Advisor
from bot.config import AccessSettings, FloodSettings, TelegramSettings
from bot.flood import REPLY_NOT_SENT, FloodControl
from bot.handlers import all_routers
from bot.middlewares import (
    CallbackWithoutMessageMiddleware,
    ThrottlingMiddleware,
    UserContextMiddleware,
    telegram_language,
)
from bot.monitoring import Metrics, UpdateMetricsMiddleware
from bot.reloading import KnowledgeReloader, ReloadJob
from bot.texts import t
from storage.base import UserStore
from storage.limits import RateLimiter
from storage.resilient import StoreUnavailable
from storage.shared import Cluster

log = logging.getLogger(__name__)

COMMANDS = {
    "ru": {"start": "Начать", "quiz": "Тест интересов", "free": "Бесплатное обучение", "colleges": "Колледжи",
           "admission": "Сроки и документы", "profile": "Мой профиль", "lang": "Қазақша / Русский",
           "help": "Что я умею", "feedback": "Оставить отзыв", "forget": "Удалить мои данные"},
    "kk": {"start": "Бастау", "quiz": "Қызығушылық тесті", "free": "Тегін оқу", "colleges": "Колледждер",
           "admission": "Мерзімдер мен құжаттар", "profile": "Профилім", "lang": "Русский / Қазақша",
           "help": "Не істей аламын", "feedback": "Пікір қалдыру", "forget": "Деректерімді өшіру"},
}


class BadToken(Exception):
    """BOT_TOKEN is not shaped like a bot token."""


def build_bot(token: str, telegram: TelegramSettings, flood: FloodSettings, metrics: Metrics) -> Bot:
    """The Bot, talking to Telegram or to the configured Bot API server, with flood control on every call."""
    session = AiohttpSession(api=TelegramAPIServer.from_base(telegram.api_base)) \
        if telegram.api_base else AiohttpSession()
    session.middleware(FloodControl(flood.max_per_second, flood.max_retries, on_retry=metrics.flood_waits.inc))
    try:
        return Bot(token, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))
    except TokenValidationError:
        raise BadToken("BOT_TOKEN is not a bot token: it looks like 123456789:AA… — copy it again from "
                       "@BotFather") from None


def build_dispatcher(*, advisor: Advisor, store: UserStore, fsm_storage: BaseStorage, limiter: RateLimiter,
                     i18n: I18n, access: AccessSettings, reloader: KnowledgeReloader, metrics: Metrics,
                     cluster: Cluster | None = None, advisor_threads: int = 8) -> Dispatcher:
    """The Dispatcher with routers, middlewares and the shared objects injected into every handler.

    One process passes its SQLite-backed FSM storage and its own limiter; a worker passes Redis-backed ones and
    the cluster that carries /reload to every worker.
    """
    dispatcher = Dispatcher(storage=fsm_storage, advisor=advisor, store=store, i18n=i18n, access=access,
                            reload_job=ReloadJob(reloader), metrics=metrics, cluster=cluster,
                            advisor_threads=advisor_threads)
    dispatcher.update.outer_middleware(UpdateMetricsMiddleware(metrics))
    ConstI18nMiddleware(locale="ru", i18n=i18n).setup(dispatcher)  # every text names its language
    dispatcher.callback_query.outer_middleware(CallbackWithoutMessageMiddleware())
    throttling = ThrottlingMiddleware(limiter)
    for observer in (dispatcher.message, dispatcher.callback_query):
        observer.outer_middleware(UserContextMiddleware())
        observer.middleware(throttling)
    dispatcher.include_routers(*all_routers())
    dispatcher.errors.register(on_error)
    dispatcher.startup.register(use_advisor_threads)  # polling and webhook both start the dispatcher
    return dispatcher


async def use_advisor_threads(advisor_threads: int) -> None:
    """Give this event loop's asyncio.to_thread `advisor_threads` threads (scale.advisor_threads): the questions
    answered at once, and so the largest encoder batch."""
    asyncio.get_running_loop().set_default_executor(
        ThreadPoolExecutor(max_workers=advisor_threads, thread_name_prefix="advisor"))


async def on_error(event: ErrorEvent, i18n: I18n, metrics: Metrics) -> bool | object:
    """Apologise to the user and keep running; an update whose reply Telegram did not take is left unhandled.

    Unhandled, the error reaches the webhook server (which answers 500) or the poller (which does not confirm
    the update), and Telegram delivers it again: an apology could not be sent either.
    """
    metrics.errors.inc()
    if isinstance(event.exception, REPLY_NOT_SENT):
        return UNHANDLED
    if isinstance(event.exception, StoreUnavailable):  # known and logged once by the store: no trace per message
        text = "store_down"
    else:
        text = "error"
        log.exception("error while handling update %s", event.update.update_id, exc_info=event.exception)
    update = event.update
    target = update.message or (update.callback_query.message if update.callback_query else None)
    user = update.message.from_user if update.message else (
        update.callback_query.from_user if update.callback_query else None)
    if target is not None:
        try:
            with i18n.context():  # errors are handled outside the update's I18n context
                apology = t(text, telegram_language(user))
            await target.answer(apology)
        except Exception:
            log.warning("could not send the apology", exc_info=True)
    return True


async def register_commands(bot: Bot) -> None:
    """The command menu in Russian (default) and Kazakh."""
    for lang, language_code in (("ru", None), ("kk", "kk")):
        commands = [BotCommand(command=c, description=d) for c, d in COMMANDS[lang].items()]
        await bot.set_my_commands(commands, scope=BotCommandScopeDefault(), language_code=language_code)
