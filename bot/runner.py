"""Running the bot until SIGTERM or SIGINT: polling or a webhook, with health and metrics, and a graceful stop."""

from __future__ import annotations

import asyncio
import logging
import math
import secrets
import signal
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass

from aiogram import Bot, Dispatcher
from aiogram.exceptions import TelegramNetworkError, TelegramServerError, TelegramUnauthorizedError
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from bot.app import BadToken
from bot.config import MonitoringSettings, TelegramSettings
from bot.flood import REPLY_NOT_SENT
from bot.monitoring import Health, Metrics, add_monitoring_routes
from bot.polling import ConfirmingPoller

log = logging.getLogger(__name__)
MAX_STARTUP_DELAY = 60.0


class BotApiUnreachable(Exception):
    """The Bot API could not be reached before the process was asked to stop."""


class CannotListen(Exception):
    """The webhook server could not take its address and port."""


@dataclass
class Runtime:
    """What a running bot needs besides the Bot and the Dispatcher."""

    telegram: TelegramSettings
    monitoring: MonitoringSettings
    health: Health
    metrics: Metrics
    webhook_secret: str | None = None


def stop_on_signals(stop: asyncio.Event) -> None:
    """SIGTERM and SIGINT set `stop` instead of killing the process mid-update."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with suppress(NotImplementedError):  # not available on Windows
            loop.add_signal_handler(sig, _on_signal, stop, sig)


def _on_signal(stop: asyncio.Event, sig: signal.Signals) -> None:
    log.info("%s received: stopping after the updates in progress", sig.name)
    stop.set()


async def start_monitoring(runtime: Runtime) -> web.AppRunner | None:
    """Serve /healthz and /metrics on their own local port (polling mode); None when switched off."""
    if not runtime.monitoring.enabled:
        return None
    app = web.Application()
    add_monitoring_routes(app, runtime.health, runtime.metrics)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, runtime.monitoring.listen, runtime.monitoring.port).start()
    except OSError as exc:  # the bot still answers without them: a second process on one host, say
        log.error("cannot serve /healthz and /metrics on %s:%s (%s); set monitoring.port to a free port",
                  runtime.monitoring.listen, runtime.monitoring.port, exc.strerror)
        await runner.cleanup()
        return None
    log.info("health and metrics on http://%s:%s/healthz and /metrics", runtime.monitoring.listen,
             runtime.monitoring.port)
    return runner


async def wait_for_bot_api(bot: Bot, stop: asyncio.Event, first_delay: float, give_up_after: float = math.inf) -> str:
    """Call getMe until Telegram answers, waiting longer each time; returns the bot's username.

    A refused token is not retried (BadToken); after `give_up_after` seconds, or when stopped, raises
    BotApiUnreachable.
    """
    delay, deadline = first_delay, time.monotonic() + give_up_after
    while True:
        try:
            return (await bot.get_me()).username or ""
        except TelegramUnauthorizedError as exc:
            raise BadToken("Telegram refused BOT_TOKEN: check the token @BotFather gave you") from exc
        except (TelegramNetworkError, TelegramServerError, OSError) as exc:
            reason = exc.__class__.__name__
        delay = min(delay, max(0.0, deadline - time.monotonic()))
        if delay <= 0:
            raise BotApiUnreachable(f"the Bot API could not be reached for {give_up_after:.0f} s ({reason}); "
                                    "check the network and telegram.api_base")
        log.warning("Bot API unreachable (%s); retrying in %.1f s", reason, delay)
        with suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)
        if stop.is_set():
            raise BotApiUnreachable("stopped before the Bot API could be reached")
        delay = min(delay * 2, MAX_STARTUP_DELAY)


async def run_polling(bot: Bot, dispatcher: Dispatcher, runtime: Runtime, stop: asyncio.Event,
                      on_ready: Callable[[], None] = lambda: None) -> None:
    """Poll until stopped, then let handlers in flight finish and confirm only what was handled."""
    await bot.delete_webhook(drop_pending_updates=False)
    poller = ConfirmingPoller(dispatcher, bot, dispatcher.resolve_used_update_types())
    await dispatcher.emit_startup(bot=bot, dispatcher=dispatcher, bots=[bot], **dispatcher.workflow_data)
    runtime.health.set("ready")
    on_ready()
    try:
        await poller.run(stop)
    finally:
        runtime.health.set("stopping")
        await poller.drain(runtime.telegram.shutdown_timeout)
        await dispatcher.emit_shutdown(bot=bot, dispatcher=dispatcher, bots=[bot], **dispatcher.workflow_data)


async def run_webhook(bot: Bot, dispatcher: Dispatcher, runtime: Runtime, stop: asyncio.Event,
                      on_ready: Callable[[], None] = lambda: None) -> None:
    """Serve the webhook (and /healthz, /metrics) until stopped; answer each request only once it is handled.

    Telegram delivers a webhook update again unless it got a 200, so an update cut off by shutdown is not lost.
    """
    cfg = runtime.telegram
    secret = runtime.webhook_secret or secrets.token_urlsafe(32)
    app = web.Application(middlewares=[_log_refused_requests])
    SimpleRequestHandler(dispatcher=dispatcher, bot=bot, secret_token=secret,
                         handle_in_background=False).register(app, path=cfg.webhook_path)
    if runtime.monitoring.enabled:
        add_monitoring_routes(app, runtime.health, runtime.metrics)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=cfg.shutdown_timeout)
    await runner.setup()
    try:
        await web.TCPSite(runner, cfg.webhook_listen, cfg.webhook_port).start()
    except OSError as exc:
        await runner.cleanup()
        raise CannotListen(f"cannot listen on {cfg.webhook_listen}:{cfg.webhook_port} ({exc.strerror}): is another "
                           "bot running there? Change telegram.webhook_port") from None
    await dispatcher.emit_startup(bot=bot, dispatcher=dispatcher, bots=[bot], **dispatcher.workflow_data)
    await bot.set_webhook(cfg.webhook_url, secret_token=secret,
                          allowed_updates=dispatcher.resolve_used_update_types(), drop_pending_updates=False)
    runtime.health.set("ready")
    on_ready()
    try:
        await stop.wait()
    finally:
        runtime.health.set("stopping")
        await runner.cleanup()  # stops listening, then waits up to shutdown_timeout for requests in progress
        await dispatcher.emit_shutdown(bot=bot, dispatcher=dispatcher, bots=[bot], **dispatcher.workflow_data)


@web.middleware
async def _log_refused_requests(request: web.Request, handler):  # type: ignore[no-untyped-def]
    """Log webhook requests refused for a wrong secret (the address and path only, never the body); answer 503
    for an update whose reply Telegram did not take, so that Telegram delivers it again."""
    try:
        response = await handler(request)
    except REPLY_NOT_SENT as exc:
        log.warning("an update was not answered (%s): 503, for Telegram to deliver it again", exc.__class__.__name__)
        return web.Response(status=503)
    if response.status == 401:
        log.warning("refused a webhook request without the right secret from %s to %s", request.remote,
                    request.path)
    return response
