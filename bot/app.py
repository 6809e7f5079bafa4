"""The Telegram bot: builds the Bot and the Dispatcher, registers commands, runs polling or a webhook."""

from __future__ import annotations

import asyncio
import logging

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.types import BotCommand, BotCommandScopeDefault, ErrorEvent
from aiogram.utils.i18n import ConstI18nMiddleware, I18n
from langchain_core.embeddings import Embeddings

from advisor.advisor import Advisor
from advisor.config import Settings
from advisor.wiring import build_advisor, build_embeddings
from bot.fsm import SqliteStorage
from bot.handlers import all_routers
from bot.middlewares import ThrottlingMiddleware, UserContextMiddleware, telegram_language
from bot.storage import Store
from bot.texts import build_i18n, t

log = logging.getLogger(__name__)

COMMANDS = {
    "ru": {"start": "Начать", "quiz": "Тест интересов", "free": "Бесплатное обучение", "colleges": "Колледжи",
           "admission": "Сроки и документы", "profile": "Мой профиль", "lang": "Қазақша / Русский",
           "help": "Что я умею", "feedback": "Оставить отзыв", "forget": "Удалить мои данные"},
    "kk": {"start": "Бастау", "quiz": "Қызығушылық тесті", "free": "Тегін оқу", "colleges": "Колледждер",
           "admission": "Мерзімдер мен құжаттар", "profile": "Профилім", "lang": "Русский / Қазақша",
           "help": "Не істей аламын", "feedback": "Пікір қалдыру", "forget": "Деректерімді өшіру"},
}


def build_bot(settings: Settings) -> Bot:
    """The Bot, talking to Telegram or to the configured Bot API server."""
    assert settings.bot_token is not None
    session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram.api_base)) \
        if settings.telegram.api_base else AiohttpSession()
    return Bot(settings.bot_token.get_secret_value(), session=session,
               default=DefaultBotProperties(parse_mode=ParseMode.HTML))


def build_dispatcher(settings: Settings, advisor: Advisor, store: Store, embeddings: Embeddings,
                     i18n: I18n) -> Dispatcher:
    """The Dispatcher with routers, middlewares and the shared objects injected into every handler."""
    dispatcher = Dispatcher(storage=SqliteStorage(store), settings=settings, advisor=advisor, store=store,
                            embeddings=embeddings, i18n=i18n)
    ConstI18nMiddleware(locale="ru", i18n=i18n).setup(dispatcher)  # every text names its language
    for observer in (dispatcher.message, dispatcher.callback_query):
        observer.outer_middleware(UserContextMiddleware())
        observer.middleware(ThrottlingMiddleware(settings.throttle.messages, settings.throttle.per_seconds))
    dispatcher.include_routers(*all_routers())
    dispatcher.errors.register(on_error)
    return dispatcher


async def on_error(event: ErrorEvent, i18n: I18n) -> bool:
    """Log the trace, apologise to the user, keep running."""
    log.exception("error while handling update %s", event.update.update_id, exc_info=event.exception)
    update = event.update
    target = update.message or (update.callback_query.message if update.callback_query else None)
    user = update.message.from_user if update.message else (
        update.callback_query.from_user if update.callback_query else None)
    if target is not None:
        try:
            with i18n.context():  # errors are handled outside the update's I18n context
                apology = t("error", telegram_language(user))
            await target.answer(apology)
        except Exception:
            log.warning("could not send the apology", exc_info=True)
    return True


async def register_commands(bot: Bot) -> None:
    """The command menu in Russian (default) and Kazakh."""
    for lang, language_code in (("ru", None), ("kk", "kk")):
        commands = [BotCommand(command=c, description=d) for c, d in COMMANDS[lang].items()]
        await bot.set_my_commands(commands, scope=BotCommandScopeDefault(), language_code=language_code)


async def serve(settings: Settings) -> None:
    """Build everything, then poll (or serve the webhook) until stopped."""
    embeddings = build_embeddings(settings)
    advisor = await asyncio.to_thread(build_advisor, settings, embeddings)
    store = Store.open(settings.resolve(settings.storage.path))
    bot = build_bot(settings)
    i18n = build_i18n(settings.resolve(settings.storage.path).parent / "locales")
    dispatcher = build_dispatcher(settings, advisor, store, embeddings, i18n)
    await register_commands(bot)
    if settings.telegram.mode == "webhook":
        await _serve_webhook(settings, bot, dispatcher)
    else:
        await bot.delete_webhook(drop_pending_updates=False)
        await dispatcher.start_polling(bot, handle_signals=True)


async def _serve_webhook(settings: Settings, bot: Bot, dispatcher: Dispatcher) -> None:
    from aiohttp import web
    from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application

    app = web.Application()
    SimpleRequestHandler(dispatcher=dispatcher, bot=bot).register(app, path="/webhook")
    setup_application(app, dispatcher, bot=bot)
    await bot.set_webhook(settings.telegram.webhook_url)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, settings.telegram.webhook_listen, settings.telegram.webhook_port).start()
    await asyncio.Event().wait()


def run(settings: Settings) -> int:
    """Run the bot until interrupted."""
    asyncio.run(serve(settings))
    return 0
