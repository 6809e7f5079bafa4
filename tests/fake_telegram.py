"""A local fake of the Telegram Bot API (aiohttp): feeds updates to a real bot and records what it sends."""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Callable

from aiohttp import web

BOT_USER = {"id": 1000, "is_bot": True, "first_name": "Колледж-кеңесші", "username": "kolledzh_bot"}


@dataclass
class Sent:
    """One call the bot made that users would see (a message, an edit, a callback answer, a file)."""

    method: str
    params: dict[str, Any]
    message_id: int = 0

    @property
    def chat_id(self) -> int:
        return int(self.params.get("chat_id", 0) or 0)

    @property
    def text(self) -> str:
        return str(self.params.get("text", ""))

    @property
    def buttons(self) -> list[dict[str, Any]]:
        markup = self.params.get("reply_markup")
        if not markup:
            return []
        markup = json.loads(markup) if isinstance(markup, str) else markup
        return [button for row in markup.get("inline_keyboard", []) for button in row]


@dataclass
class FakeTelegram:
    """Serves /bot<token>/<method> on 127.0.0.1 in a background thread."""

    port: int = 0
    sent: list[Sent] = field(default_factory=list)
    commands: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    _updates: list[dict[str, Any]] = field(default_factory=list)
    _ids: Any = field(default_factory=lambda: itertools.count(1))
    _message_ids: Any = field(default_factory=lambda: itertools.count(5000))
    _lock: threading.Lock = field(default_factory=threading.Lock)
    flood_left: int = 0  # the next this many messages are refused with 429, as Telegram's flood control does
    flood_retry_after: int = 1
    refused: list[Sent] = field(default_factory=list)  # calls answered with 429
    polls: list[int] = field(default_factory=list)  # the offset of every getUpdates call

    # --- running -------------------------------------------------------------------------------
    def start(self) -> "FakeTelegram":
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,), daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    def _run(self, ready: threading.Event) -> None:
        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        app = web.Application(client_max_size=20 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        runner = self._runner = web.AppRunner(app, shutdown_timeout=0.5)
        self._loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", self.port)
        self._loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        ready.set()
        self._loop.run_forever()
        pending = asyncio.all_tasks(self._loop)  # connections still open when the server stopped
        for task in pending:
            task.cancel()
        self._loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        self._loop.close()

    def stop(self) -> None:
        """Close the server (open long polls are ended) and its loop."""
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def flood(self, count: int, retry_after: int = 1) -> None:
        """Answer the next `count` sendMessage calls with 429 Too Many Requests."""
        with self._lock:
            self.flood_left, self.flood_retry_after = count, retry_after

    def pending(self) -> int:
        """Updates not yet confirmed by the bot (getUpdates with a higher offset)."""
        with self._lock:
            return len(self._updates)

    # --- what users do -------------------------------------------------------------------------
    def send_text(self, user_id: int, text: str, language_code: str = "ru") -> None:
        self._push(self.text_update(user_id, text, language_code))

    def text_update(self, user_id: int, text: str, language_code: str = "ru") -> dict[str, Any]:
        """An update carrying a text message, for polling or for POSTing to a webhook."""
        return {"update_id": next(self._ids), "message": self._message(user_id, language_code, text=text)}

    def press_update(self, user_id: int, data: str, message_id: int = 1, language_code: str = "ru") -> dict[str, Any]:
        """An update carrying a button press under the bot's message `message_id`."""
        message = self._message(user_id, language_code, text="…")
        message["message_id"] = message_id
        message["from"] = BOT_USER
        return {"update_id": next(self._ids),
                "callback_query": {"id": str(next(self._ids)), "chat_instance": "ci",
                                   "from": self._user(user_id, language_code), "message": message, "data": data}}

    def send_sticker(self, user_id: int) -> None:
        sticker = {"file_id": "sticker-1", "file_unique_id": "s1", "type": "regular", "width": 512, "height": 512,
                   "is_animated": False, "is_video": False}
        self._push({"update_id": next(self._ids), "message": self._message(user_id, "ru", sticker=sticker)})

    def press(self, user_id: int, data: str, message_id: int = 1, language_code: str = "ru") -> None:
        self._push(self.press_update(user_id, data, message_id, language_code))

    def _user(self, user_id: int, language_code: str) -> dict[str, Any]:
        return {"id": user_id, "is_bot": False, "first_name": f"User{user_id}", "language_code": language_code}

    def _message(self, user_id: int, language_code: str, **content: Any) -> dict[str, Any]:
        return {"message_id": next(self._message_ids), "date": int(time.time()),
                "chat": {"id": user_id, "type": "private"}, "from": self._user(user_id, language_code), **content}

    def _push(self, update: dict[str, Any]) -> None:
        with self._lock:
            self._updates.append(update)

    # --- what the bot does ---------------------------------------------------------------------
    def wait_for(self, predicate: Callable[[Sent], bool], timeout: float = 30.0, after: int = 0) -> Sent:
        """The first call after index `after` that matches, waiting up to `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                for item in self.sent[after:]:
                    if predicate(item):
                        return item
            time.sleep(0.05)
        with self._lock:
            seen = [(s.method, s.text[:80]) for s in self.sent[after:]]
        raise AssertionError(f"nothing matched within {timeout} s; the bot sent: {seen}")

    def mark(self) -> int:
        """An index to wait for calls made from now on."""
        with self._lock:
            return len(self.sent)

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params: dict[str, Any] = dict(await request.post()) if request.can_read_body else {}
        params = {k: (v if isinstance(v, str) else getattr(v, "filename", "file")) for k, v in params.items()}
        if method == "getUpdates":
            offset = int(params.get("offset", 0) or 0)
            self.polls.append(offset)
            limit = int(params.get("limit", 100) or 100)
            return self._ok((await self._get_updates(offset, float(params.get("timeout", 1) or 0)))[:limit])
        if method == "getMe":
            return self._ok(BOT_USER)
        if method == "setMyCommands":
            self.commands[params.get("language_code", "") or "default"] = json.loads(params["commands"])
            return self._ok(True)
        if method in ("deleteWebhook", "setWebhook", "answerCallbackQuery", "sendChatAction"):
            self._record(method, params)
            return self._ok(True)
        if method == "sendMessage" and self._take_flood():
            with self._lock:
                self.refused.append(Sent(method, params))
            return web.json_response({"ok": False, "error_code": 429,
                                      "description": f"Too Many Requests: retry after {self.flood_retry_after}",
                                      "parameters": {"retry_after": self.flood_retry_after}}, status=429)
        if params.get("parse_mode") == "HTML" and not _telegram_html_ok(params.get("text", "")):
            return web.json_response({"ok": False, "error_code": 400,
                                      "description": "Bad Request: can't parse entities"}, status=400)
        if method in ("sendMessage", "editMessageText", "sendDocument"):
            message_id = self._record(method, params)
            chat_id = int(params.get("chat_id", 0) or 0)
            return self._ok({"message_id": message_id, "date": int(time.time()), "from": BOT_USER,
                             "chat": {"id": chat_id, "type": "private"}, "text": params.get("text", "")})
        return web.json_response({"ok": False, "error_code": 400, "description": f"fake: no {method}"}, status=400)

    def _take_flood(self) -> bool:
        with self._lock:
            if self.flood_left <= 0:
                return False
            self.flood_left -= 1
            return True

    def _record(self, method: str, params: dict[str, Any]) -> int:
        message_id = next(self._message_ids)
        with self._lock:
            self.sent.append(Sent(method, params, message_id))
        return message_id

    async def _get_updates(self, offset: int, timeout: float) -> list[dict[str, Any]]:
        for _ in range(max(1, min(20, int(timeout * 20)))):  # long poll, at most about one second
            with self._lock:
                pending = [u for u in self._updates if u["update_id"] >= offset]
                self._updates = pending
            if pending:
                return pending
            await asyncio.sleep(0.05)
        return []

    @staticmethod
    def _ok(result: Any) -> web.Response:
        return web.json_response({"ok": True, "result": result})


TAG = re.compile(r"</?(b|strong|i|em|u|ins|s|strike|del|code|pre|a|tg-spoiler|blockquote|span)(\s[^<>]*)?>")
ENTITY = re.compile(r"&(lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);")


def _telegram_html_ok(text: str) -> bool:
    """Rejects what Telegram's HTML parser rejects: a '<' that starts no known tag, a bare '&'."""
    without_tags = TAG.sub("", text)
    return "<" not in without_tags and ">" not in without_tags and "&" not in ENTITY.sub("", without_tags)


def stop_process(process: subprocess.Popen) -> None:
    """Stop a bot process the way Ctrl+C does, killing it if it does not exit in time."""
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# --- what Telegram and a reverse proxy do to a bot in webhook mode ----------------------------------------------------

def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def post_update(port: int, update: dict[str, Any], secret: str | None, timeout: float = 30) -> int:
    """POST one update to the bot's webhook as Telegram does; returns the HTTP status."""
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    request = urllib.request.Request(f"http://127.0.0.1:{port}/webhook", json.dumps(update).encode(), headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def wait_until_ready(port: int, timeout: float = 120) -> None:
    """Wait until the bot on `port` says /healthz ready; raise TimeoutError when it does not in time."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as health:
                if json.loads(health.read())["status"] == "ready":
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"the bot on port {port} did not become ready in {timeout:.0f} s")
