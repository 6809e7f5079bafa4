"""Accounts, password hashing, sessions, CSRF tokens, roles and the sign-in throttle of the web console."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import lru_cache, wraps

from aiohttp import web
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from storage.console import ROLES, ConsoleStore

SESSION_COOKIE = "console_session"
SIGN_IN_COOKIE = "console_signin"  # the sign-in form's CSRF token, before there is a session
RANK = {"counsellor": 1, "admin": 2}  # an admin may do everything a counsellor may
MIN_PASSWORD_CHARS = 10
_HASHER = PasswordHasher()  # argon2id with the library's recommended costs

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class WeakPassword(ValueError):
    """The password is too short to protect an account that can change what teenagers are told."""


def hash_password(password: str) -> str:
    """An argon2id hash of the password; refuses passwords shorter than MIN_PASSWORD_CHARS."""
    if len(password) < MIN_PASSWORD_CHARS:
        raise WeakPassword(f"the password needs at least {MIN_PASSWORD_CHARS} characters")
    return _HASHER.hash(password)


def password_matches(stored_hash: str | None, password: str) -> bool:
    """True when the password is the account's; takes as long when there is no account."""
    try:
        return _HASHER.verify(stored_hash or _dummy_hash(), password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """Verified when the account does not exist, so that a wrong name takes as long as a wrong password; made at
    the first such sign-in, not when the module is imported."""
    return _HASHER.hash(secrets.token_urlsafe(16))


def token_hash(token: str) -> str:
    """What the store keeps of a session token: a stolen database copy holds no usable cookie."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Account:
    """The signed-in person, as every page sees them."""

    name: str
    role: str
    csrf: str
    token_hash: str

    def may(self, role: str) -> bool:
        return RANK.get(self.role, 0) >= RANK[role]


ACCOUNT = web.RequestKey("account", Account | None)  # set on every request by web.app's session middleware


def start_session(store: ConsoleStore, name: str, hours: float) -> tuple[str, str]:
    """A new session for `name` with its own CSRF token; returns the cookie's token and the CSRF token.

    The token is always made here, never taken from the request: a session id planted before sign-in is useless.
    """
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    store.start_session(token_hash(token), name, csrf, time.time() + hours * 3600)
    return token, csrf


def current_account(store: ConsoleStore, request: web.Request) -> Account | None:
    """The account whose session cookie the request carries, if it is valid and unexpired."""
    token = request.cookies.get(SESSION_COOKIE, "")
    if not token or len(token) > 200:
        return None
    row = store.session(token_hash(token))
    if row is None or row["role"] not in ROLES:
        return None
    return Account(row["name"], row["role"], row["csrf"], token_hash(token))


def same_token(given: object, expected: str) -> bool:
    """Constant-time comparison of a submitted CSRF token with the expected one."""
    return isinstance(given, str) and bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


def requires(role: str) -> Callable[[Handler], Handler]:
    """A page for `role` and above: no session → the sign-in page; a lower role → 403."""
    def decorate(handler: Handler) -> Handler:
        @wraps(handler)
        async def guarded(request: web.Request) -> web.StreamResponse:
            account = request.get(ACCOUNT)
            if account is None:
                raise web.HTTPSeeOther(f"/sign-in?next={request.path}")
            if not account.may(role):
                raise web.HTTPForbidden()
            return await handler(request)
        guarded.required_role = role  # type: ignore[attr-defined]  # read by the tests that walk every route
        return guarded
    return decorate


class SignInThrottle:
    """Failed sign-ins counted per account name and per address; past the limit, sign-in waits out the window."""

    def __init__(self, attempts: int, window_seconds: float):
        self.attempts = attempts
        self.window = window_seconds
        self._failures: dict[str, deque[float]] = defaultdict(deque)

    def blocked(self, *keys: str) -> bool:
        """True when any key (name, address) has used up its failures within the window."""
        now = time.monotonic()
        for key in keys:
            failures = self._failures.get(key)
            while failures and now - failures[0] > self.window:
                failures.popleft()
            if failures is not None and not failures:
                del self._failures[key]  # no memory kept for keys that behave
            elif failures and len(failures) >= self._limit(key):
                return True
        return False

    def failed(self, *keys: str) -> None:
        now = time.monotonic()
        for key in keys:
            self._failures[key].append(now)

    def succeeded(self, name_key: str) -> None:
        self._failures.pop(name_key, None)

    def _limit(self, key: str) -> int:
        # An address may hold several people (a school's network): it gets more tries than one name.
        return self.attempts * 4 if key.startswith("addr:") else self.attempts
