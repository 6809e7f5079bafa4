"""What every page shares: the application's keys, the reader's language, rendering and form helpers."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import aiohttp_jinja2
from aiohttp import web

from web.auth import ACCOUNT, Account, SignInThrottle
from web.console import Console, ReloadTracker
from web.texts import LANGS, t

CONSOLE = web.AppKey("console", Console)
THROTTLE = web.AppKey("throttle", SignInThrottle)
RELOAD = web.AppKey("reload", ReloadTracker)
LANG_COOKIE = "console_lang"


def lang_of(request: web.Request) -> str:
    """The console's language: the one chosen, else the browser's when it is Kazakh, else Russian."""
    chosen = request.cookies.get(LANG_COOKIE, "")
    if chosen in LANGS:
        return chosen
    return "kk" if request.headers.get("Accept-Language", "").lower().startswith("kk") else "ru"


def page_context(request: web.Request) -> dict[str, Any]:
    """What every template may use: the language and its texts, the account and its CSRF token."""
    lang = lang_of(request)
    account = request.get(ACCOUNT)
    return {"lang": lang, "t": lambda key, **values: t(key, lang, **values), "account": account,
            "csrf": account.csrf if account else "", "path": request.path,
            "notice": t(request.query["done"], lang) if request.query.get("done") in NOTICES else ""}


# Notices a page may show after a redirect (?done=key): only these keys, so a link cannot put words on a page.
NOTICES = {"flagged", "already_in_corpus", "marked_done", "not_found", "signed_out",
           "reload_busy"}


def render(request: web.Request, template: str, status: int = 200, **context: Any) -> web.Response:
    """A page from its template with the common context."""
    return aiohttp_jinja2.render_template(template, request, {**page_context(request), **context}, status=status)


def account_of(request: web.Request) -> Account:
    """The signed-in account of a page guarded by `requires`."""
    account = request.get(ACCOUNT)
    assert account is not None, "the page is guarded by web.auth.requires"
    return account


def back_to(path: str, done: str) -> web.HTTPSeeOther:
    """A redirect after a form, with the notice the next page shows."""
    return web.HTTPSeeOther(f"{path}?{urlencode({'done': done})}")


def whole_number(value: object) -> int | None:
    """A form field as an integer, or None when it is not one (a forged form can send anything)."""
    try:
        return int(str(value).strip())
    except ValueError:
        return None


def safe_next(value: str | None) -> str:
    """Where to go after sign-in: only a path of this console, never another site."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"
