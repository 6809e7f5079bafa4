"""Serving the console on its own address and port, beside the bot or alone."""

from __future__ import annotations

import logging

from aiohttp import web

from web.app import build_app
from web.console import Console

log = logging.getLogger(__name__)


class CannotServeConsole(Exception):
    """The console could not take its address and port."""


async def start_console(console: Console) -> web.AppRunner:
    """Serve the console on web.listen:web.port; raises CannotServeConsole when the port is taken."""
    settings = console.settings
    runner = web.AppRunner(build_app(console), access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, settings.listen, settings.port).start()
    except OSError as exc:
        await runner.cleanup()
        raise CannotServeConsole(f"cannot serve the web console on {settings.listen}:{settings.port} "
                                 f"({exc.strerror}); set web.port to a free port, or web.enabled to false") from None
    log.info("web console on http://%s:%s/", settings.listen, settings.port)
    return runner
