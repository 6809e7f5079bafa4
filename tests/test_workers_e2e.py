"""End to end: two real webhook workers sharing real Redis and PostgreSQL servers, behind the fake Bot API.

The test plays the reverse proxy: it POSTs each update to the worker it chooses, as a load balancer would.
"""

from __future__ import annotations

import html
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from http.cookiejar import CookieJar
from pathlib import Path

import psycopg
import pytest
from redis import Redis
from test_bot_e2e import ADMIN, assert_clean_log, start_bot

from conftest import ROOT
from fake_telegram import FakeTelegram, free_port, post_update, stop_process, wait_until_ready

SECRET = secrets.token_urlsafe(24)


@dataclass
class Worker:
    name: str
    port: int
    process: subprocess.Popen
    log: Path
    web_port: int = 0


@dataclass
class Cluster:
    server: FakeTelegram
    workers: list[Worker]
    knowledge: Path
    database_url: str
    redis_url: str

    def post(self, worker: int, update: dict) -> None:
        """Deliver one update to one worker, as the proxy in front of them would."""
        assert post_update(self.workers[worker].port, update, SECRET) == 200

    def say(self, worker: int, user: int, text: str) -> str:
        """A user's message delivered to `worker`; returns everything the bot sent that user for it."""
        return self._replies(user, worker, self.server.text_update(user, text))

    def press(self, worker: int, user: int, data: str) -> str:
        """A button press delivered to `worker`; returns everything the bot sent that user for it."""
        return self._replies(user, worker, self.server.press_update(user, data))

    def _replies(self, user: int, worker: int, update: dict) -> str:
        # The worker answers the POST only once the update is handled: every reply is recorded by then.
        mark = self.server.mark()
        self.post(worker, update)
        self.server.wait_for(lambda s: s.chat_id == user, after=mark)
        return "\n".join(s.text for s in self.server.sent[mark:] if s.chat_id == user)


def start_workers(started: list[Worker], server: FakeTelegram, work: Path, real_index: Path, knowledge: Path,
                  **env: str) -> None:
    """Webhook workers a and b on one knowledge folder, each with its own copy of the index, added to `started` as
    they start (the caller stops them), then waited for until ready."""
    for name in ("a", "b"):
        folder = work / name
        shutil.copytree(real_index, folder / "index")
        port, web_port = free_port(), free_port()
        process = start_bot(server, folder, folder / "bot.log", TELEGRAM__MODE="webhook", WEB__PORT=str(web_port),
                            WEB__SECURE_COOKIES="false",
                            TELEGRAM__WEBHOOK_URL="https://bot.example.kz/webhook", TELEGRAM__WEBHOOK_PORT=str(port),
                            KNOWLEDGE__PATH=str(knowledge), SCALE__MODE="workers", SCALE__WORKER_NAME=name,
                            SCALE__RELOAD_TIMEOUT="60", WEBHOOK_SECRET=SECRET, **env)
        started.append(Worker(name, port, process, folder / "bot.log", web_port))
    for worker in started:
        wait_until_ready(worker.port, timeout=300)


@pytest.fixture(scope="module")
def cluster(real_index: Path, tmp_path_factory: pytest.TempPathFactory, redis_url: str,
            database_url: str) -> Iterator[Cluster]:
    """Two workers on one knowledge folder, each with its own copy of the index, one Redis, one fresh database."""
    work = tmp_path_factory.mktemp("workers")
    shared_knowledge = work / "knowledge"
    shutil.copytree(ROOT / "knowledge" / "data", shared_knowledge)
    database = f"kolledzh_e2e_{secrets.token_hex(4)}"
    with psycopg.connect(database_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{database}"')
    db_url = re.sub(r"/[^/]*$", f"/{database}", database_url)
    redis_db = redis_url.rsplit("/", 1)[0] + "/5"
    Redis.from_url(redis_db).flushdb()
    server = FakeTelegram().start()
    workers: list[Worker] = []
    try:
        start_workers(workers, server, work, real_index, shared_knowledge, REDIS_URL=redis_db, DATABASE_URL=db_url,
                      THROTTLE__MESSAGES="4", THROTTLE__PER_SECONDS="60")
        for n in (1, 2):
            server.wait_for(lambda s: s.method == "setWebhook" and len(
                [x for x in server.sent if x.method == "setWebhook"]) >= n, timeout=180)
        yield Cluster(server, workers, shared_knowledge, db_url, redis_db)
    finally:
        for worker in workers:
            stop_process(worker.process)
        server.stop()
        for worker in workers:
            assert_clean_log(worker.log)
            assert SECRET not in worker.log.read_text() and db_url not in worker.log.read_text()
        with psycopg.connect(database_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def test_both_workers_set_the_same_webhook_with_the_shared_secret(cluster: Cluster) -> None:
    hooks = [s for s in cluster.server.sent if s.method == "setWebhook"]
    assert len(hooks) == 2 and {h.params["secret_token"] for h in hooks} == {SECRET}


def test_a_quiz_started_on_one_worker_goes_on_on_the_other(cluster: Cluster) -> None:
    assert "Вопрос 1 из" in cluster.say(0, 601, "/quiz")
    assert "Вопрос 2 из" in cluster.press(1, 601, "q:0:yes")
    assert "Вопрос 3 из" in cluster.press(0, 601, "q:1:no")


def test_a_follow_up_is_answered_by_the_other_worker(cluster: Cluster) -> None:
    assert "Сестринское дело" in cluster.say(0, 602, "хочу стать медсестрой")
    # Worker b knows from Redis what worker a suggested: nursing colleges, now in Karaganda.
    assert "«Сестринское дело» — Караганда" in cluster.say(1, 602, "а в Караганде?")


def test_throttling_counts_messages_to_every_worker(cluster: Cluster) -> None:
    for worker in (0, 1, 0, 1):
        assert "Слишком много" not in cluster.say(worker, 603, "хочу стать сварщиком")
    assert "Слишком много" in cluster.say(0, 603, "хочу стать сварщиком")


def test_forget_removes_the_user_from_postgresql_and_redis(cluster: Cluster) -> None:
    cluster.say(0, 604, "хочу стать поваром")
    cluster.say(1, 604, "/profile 9")
    assert _rows_about(cluster, 604) > 0 and _redis_keys_about(cluster, 604)
    assert "удал" in cluster.say(1, 604, "/forget").lower()
    assert _rows_about(cluster, 604) == 0
    assert not [k for k in _redis_keys_about(cluster, 604) if b"throttle" not in k]
    # The conversation is gone on the other worker too: a follow-up has nothing to follow.
    assert "«Организация питания»" not in cluster.say(0, 604, "а в Караганде?")


def test_reload_on_one_worker_reaches_both(cluster: Cluster) -> None:
    faq = cluster.knowledge / "faq.yaml"
    faq.write_text(faq.read_text(encoding="utf-8").replace(
        "Цифры зависят от того, что считать.", "Цифры зависят от того, что именно считать."), encoding="utf-8")
    mark = cluster.server.mark()
    cluster.post(1, cluster.server.text_update(ADMIN, "/reload"))
    done = cluster.server.wait_for(lambda s: s.method == "editMessageText" and "2/2" in s.text, after=mark,
                                   timeout=180)
    assert re.search(r"2/2 воркеров на поколении [0-9a-f]{10}", done.text)
    for worker in (0, 1):
        assert "что именно считать" in cluster.say(worker, 605 + worker, "сколько колледжей в казахстане")


def test_a_reload_from_the_console_of_one_worker_reaches_both(cluster: Cluster) -> None:
    env = {**os.environ, "TELEGRAM__MODE": "webhook", "SCALE__MODE": "workers", "REDIS_URL": cluster.redis_url,
           "DATABASE_URL": cluster.database_url, "WEBHOOK_SECRET": SECRET}
    subprocess.run([sys.executable, str(ROOT / "run_bot.py"), "user", "add", "admin", "--role", "admin",
                    "--password-stdin"], input="admin-password-1\n", env=env, check=True, text=True,
                   capture_output=True)
    console = ConsoleClient(f"http://127.0.0.1:{cluster.workers[0].web_port}")
    console.sign_in("admin", "admin-password-1")
    console.post("/admin/knowledge/reload", {})
    deadline = time.monotonic() + 120
    while "reload-done" not in (page := console.get("/admin/knowledge/reload")):
        assert time.monotonic() < deadline, page
        time.sleep(1)
    assert "2 из 2 процессов" in html.unescape(page)
    assert "a: ✓" in page and "b: ✓" in page


class ConsoleClient:
    """A browser's part in a console session, over plain HTTP: cookies and each form's CSRF token."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))

    def get(self, path: str) -> str:
        with self.opener.open(self.base + path, timeout=30) as response:
            return response.read().decode()

    def post(self, path: str, form: dict[str, str], page: str = "/admin/knowledge") -> str:
        token = re.search(r'name="csrf" value="([^"]+)"', self.get(page)).group(1)
        data = urllib.parse.urlencode({**form, "csrf": token}).encode()
        with self.opener.open(self.base + path, data, timeout=60) as response:
            return response.read().decode()

    def sign_in(self, name: str, password: str) -> None:
        assert "Обзор" in self.post("/sign-in", {"name": name, "password": password, "next": "/admin"}, "/sign-in")


def test_one_worker_killed_the_other_still_answers(cluster: Cluster) -> None:
    killed = cluster.workers[0]
    killed.process.send_signal(signal.SIGKILL)
    killed.process.wait(timeout=30)
    assert "Сварочное дело" in cluster.say(1, 607, "хочу стать сварщиком")
    stats = html.unescape(cluster.say(1, ADMIN, "/stats"))
    # One log for both: the questions worker a answered before it died are counted by worker b.
    assert int(re.search(r'"questions": (\d+)', stats).group(1)) >= 10


def _rows_about(cluster: Cluster, user: int) -> int:
    with psycopg.connect(cluster.database_url) as conn:
        tables = [row[0] for row in conn.execute(
            "select table_name from information_schema.columns where column_name = 'user_id' "
            "and table_schema = 'public'")]
        return sum(conn.execute(f'select count(*) from "{table}" where user_id = %s', (user,)).fetchone()[0]
                   for table in tables)


def _redis_keys_about(cluster: Cluster, user: int) -> list[bytes]:
    redis = Redis.from_url(cluster.redis_url)
    return [key for key in redis.scan_iter() if re.search(rb"(:|^)%d(:|$)" % user, key)]
