"""Sign in, sign out, the start page and the language switch."""

from __future__ import annotations

import asyncio
import logging
import secrets

from aiohttp import web

from web.auth import ACCOUNT, SESSION_COOKIE, SIGN_IN_COOKIE, password_matches, start_session, token_hash
from web.pages import CONSOLE, LANG_COOKIE, THROTTLE, lang_of, render, safe_next
from web.texts import LANGS, t

routes = web.RouteTableDef()
log = logging.getLogger(__name__)
NAME_CHARS = 64


@routes.get("/sign-in")
async def sign_in_form(request: web.Request) -> web.Response:
    return _sign_in_page(request)


def _sign_in_page(request: web.Request, error: str = "", status: int = 200) -> web.Response:
    """The form with a fresh token in a cookie and a hidden field: a form posted from another site lacks it."""
    token = secrets.token_urlsafe(32)
    response = render(request, "sign_in.html", status=status, error=error, sign_in_token=token,
                      next=safe_next(request.query.get("next")))
    _set_cookie(request, response, SIGN_IN_COOKIE, token, max_age=3600)
    return response


@routes.post("/sign-in")
async def sign_in(request: web.Request) -> web.Response:
    console, throttle, lang = request.app[CONSOLE], request.app[THROTTLE], lang_of(request)
    form = await request.post()
    name = str(form.get("name", "")).strip()[:NAME_CHARS]
    keys = (f"name:{name.lower()}", f"addr:{request.remote}")
    if throttle.blocked(*keys):
        log.warning("console sign-in throttled for %r from %s", name, request.remote)
        minutes = round(console.settings.sign_in_window_minutes)
        return _sign_in_page(request, t("too_many_attempts", lang, minutes=minutes), status=429)
    account = console.store.account(name)
    # argon2 takes a while on purpose: in a thread, so the bot's chats do not wait for it.
    if not await asyncio.to_thread(password_matches, account["password_hash"] if account else None,
                                   str(form.get("password", ""))):
        throttle.failed(*keys)
        log.warning("console sign-in refused for %r from %s", name, request.remote)
        return _sign_in_page(request, t("wrong_password", lang), status=401)
    throttle.succeeded(keys[0])
    if old := request.cookies.get(SESSION_COOKIE):  # whatever session the browser had ends here
        console.store.end_session(token_hash(old))
    token, _ = start_session(console.store, name, console.settings.session_hours)
    console.store.log_action(name, "sign-in")
    response = web.HTTPSeeOther(safe_next(str(form.get("next", ""))))
    _set_cookie(request, response, SESSION_COOKIE, token, max_age=round(console.settings.session_hours * 3600))
    response.del_cookie(SIGN_IN_COOKIE, path="/")
    raise response


@routes.post("/sign-out")
async def sign_out(request: web.Request) -> web.Response:
    console = request.app[CONSOLE]
    if token := request.cookies.get(SESSION_COOKIE):
        console.store.end_session(token_hash(token))
    if account := request.get(ACCOUNT):
        console.store.log_action(account.name, "sign-out")
    response = web.HTTPSeeOther("/sign-in?done=signed_out")
    response.del_cookie(SESSION_COOKIE, path="/")
    raise response


@routes.get("/")
async def start(request: web.Request) -> web.Response:
    account = request.get(ACCOUNT)
    if account is None:
        raise web.HTTPSeeOther("/sign-in")
    raise web.HTTPSeeOther("/admin" if account.may("admin") else "/ask")


@routes.get("/lang/{lang}")
async def choose_language(request: web.Request) -> web.Response:
    lang = request.match_info["lang"]
    response = web.HTTPSeeOther(safe_next(request.query.get("next")))
    if lang in LANGS:
        _set_cookie(request, response, LANG_COOKIE, lang, max_age=365 * 24 * 3600, http_only=False)
    raise response


def _set_cookie(request: web.Request, response: web.StreamResponse, name: str, value: str, max_age: int,
                http_only: bool = True) -> None:
    """A cookie for this console only: Secure (unless switched off), HttpOnly and SameSite=Strict."""
    response.set_cookie(name, value, max_age=max_age, path="/", httponly=http_only, samesite="Strict",
                        secure=request.app[CONSOLE].settings.secure_cookies)
