"""The console's aiohttp application: templates, middlewares (errors, session, language, CSRF) and routes."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from web.auth import ACCOUNT, SIGN_IN_COOKIE, SignInThrottle, current_account, same_token
from web.console import Console, ReloadTracker
from web.pages import CONSOLE, RELOAD, THROTTLE, lang_of, render
from web.texts import t
from web.views import ask, auth, knowledge, overview, review

log = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent
# No script at all, and no inline style: what a question or a record says can never run in the page.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
ERROR_TEXTS = {403: "forbidden", 404: "not_found_page", 405: "not_found_page", 413: "too_large", 400: "bad_form"}


def build_app(console: Console) -> web.Application:
    """The console's application; `console` holds everything the pages use."""
    settings = console.settings
    app = web.Application(middlewares=[_errors_and_headers, _session, _csrf],
                          client_max_size=int(settings.max_upload_mb * 1024 * 1024))
    app[CONSOLE] = console
    app[THROTTLE] = SignInThrottle(settings.sign_in_attempts, settings.sign_in_window_minutes * 60)
    app[RELOAD] = ReloadTracker()
    env = aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
                               undefined=jinja2.StrictUndefined)
    env.filters["pretty_json"] = lambda value: json.dumps(value, ensure_ascii=False, indent=1)
    env.filters["when"] = lambda seconds: datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M UTC")
    app.router.add_static("/static", HERE / "static")
    for module in (auth, ask, overview, review, knowledge):
        app.router.add_routes(module.routes)
    return app


@web.middleware
async def _errors_and_headers(request: web.Request, handler):  # type: ignore[no-untyped-def]
    """Security headers on every answer; an error is a page in the reader's language, never a traceback."""
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        if exc.status not in ERROR_TEXTS:  # redirects: on their way with the headers
            exc.headers.update(SECURITY_HEADERS)
            raise
        response = _error_page(request, exc.status, ERROR_TEXTS[exc.status],
                               mb=f"{request.app[CONSOLE].settings.max_upload_mb:g}")
    except Exception:
        log.exception("console page %s failed", request.path)
        response = _error_page(request, 500, "server_error")
    response.headers.update(SECURITY_HEADERS)
    return response


def _error_page(request: web.Request, status: int, key: str, **values: str) -> web.Response:
    return render(request, "error.html", status=status, message=t(key, lang_of(request), **values))


@web.middleware
async def _session(request: web.Request, handler):  # type: ignore[no-untyped-def]
    """The signed-in account, if any, for every page to see."""
    if not request.path.startswith("/static/"):
        request[ACCOUNT] = current_account(request.app[CONSOLE].store, request)
    return await handler(request)


@web.middleware
async def _csrf(request: web.Request, handler):  # type: ignore[no-untyped-def]
    """Every form posts the token of its session (the sign-in form: of its own cookie); others get 400."""
    if request.method == "POST":
        form = await request.post()
        account = request.get(ACCOUNT)
        expected = account.csrf if account is not None and request.path != "/sign-in" \
            else request.cookies.get(SIGN_IN_COOKIE, "")
        if not same_token(form.get("csrf"), expected):
            log.warning("refused a console form without its CSRF token: %s from %s", request.path, request.remote)
            raise web.HTTPBadRequest()
    return await handler(request)
