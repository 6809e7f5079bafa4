"""End to end: two webhook workers keep answering while their Redis, then their PostgreSQL, is down, write back the
question log once it is back, and notice a killed worker within two heartbeats.

The servers are private to this module (their own folder and ports), because the test crashes them.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from test_bot_e2e import ADMIN, assert_clean_log
from test_workers_e2e import Cluster as Workers
from test_workers_e2e import Worker, start_workers

from conftest import ROOT
from fake_telegram import FakeTelegram, free_port, stop_process, wait_until_ready

HEARTBEAT = 1.0
APOLOGY = ("Извините", "Не получилось")
QUESTIONS = [("хочу стать сварщиком", "Сварочное дело"), ("хочу стать медсестрой", "Сестринское дело"),
             ("хочу стать поваром", "Организация питания"), ("хочу стать сварщиком", "Сварочное дело")]


def services(action: str, *args: str, env: dict[str, str]) -> str:
    """Run .ci/services for this module's private servers."""
    return subprocess.run([str(ROOT / ".ci" / "services"), action, *args], env=env, check=True,
                          capture_output=True, text=True, timeout=120).stdout


@pytest.fixture(scope="module")
def private() -> Iterator[dict[str, str]]:
    """Redis and PostgreSQL of this module only, as .ci/services starts them; stopped by their pids at the end."""
    if not shutil.which("redis-server"):
        pytest.skip("redis-server is not installed (.ci/run installs it)")
    # Not under pytest's temporary folder: that one is private to this user, and PostgreSQL runs as `postgres`.
    folder = Path(tempfile.mkdtemp(prefix="kolledzh-outage-"))
    folder.chmod(0o755)
    state = folder / "state"
    env = {**os.environ, "KOLLEDZH_SERVICES_DIR": str(state), "KOLLEDZH_REDIS_PORT": str(free_port()),
           "KOLLEDZH_PG_PORT": str(free_port())}
    exported = services("start", "--for", str(os.getpid()), env=env)
    try:
        yield {**env, **dict(re.findall(r"export (\w+)=(\S+)", exported))}
    finally:
        services("stop", "--for", str(os.getpid()), env=env)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def workers(private: dict[str, str], real_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workers]:
    work = tmp_path_factory.mktemp("outage")
    knowledge = work / "knowledge"
    shutil.copytree(ROOT / "knowledge" / "data", knowledge)
    server = FakeTelegram().start()
    started: list[Worker] = []
    try:
        start_workers(started, server, work, real_index, knowledge, SCALE__HEARTBEAT_SECONDS=str(HEARTBEAT),
                      REDIS_URL=private["TEST_REDIS_URL"], DATABASE_URL=private["TEST_DATABASE_URL"])
        yield Workers(server, started, knowledge, private["TEST_DATABASE_URL"], private["TEST_REDIS_URL"])
    finally:
        for worker in started:
            stop_process(worker.process)
        server.stop()
        for worker in started:
            assert_clean_log(worker.log)


def ask_everyone(workers: Workers, first_user: int) -> list[int]:
    """Each question of QUESTIONS from a new user, to the two workers in turn; each must get its real answer."""
    users = []
    for n, (question, expected) in enumerate(QUESTIONS):
        user = first_user + n
        reply = workers.say(n % 2, user, question)
        assert expected in reply and not reply.startswith(APOLOGY), reply
        users.append(user)
    return users


def logged(workers: Workers, users: list[int]) -> int:
    with psycopg.connect(workers.database_url) as conn:
        return conn.execute("select count(*) from messages where user_id = any(%s)", [users]).fetchone()[0]


def test_questions_are_answered_while_redis_is_down(workers: Workers, private: dict[str, str]) -> None:
    services("crash", "redis", env=private)
    try:
        users = ask_everyone(workers, 7100)
        # Memory of the chat is kept on the worker meanwhile: a follow-up on the same worker keeps its thread.
        assert "«Сестринское дело» — Караганда" in workers.say(1, users[1], "а в Караганде?")
    finally:
        services("revive", "redis", env=private)
    assert logged(workers, users) == len(users) + 1  # PostgreSQL was up: every question was logged at once


def test_questions_are_answered_while_postgresql_is_down_and_logged_once_it_is_back(
        workers: Workers, private: dict[str, str]) -> None:
    services("crash", "postgres", env=private)
    try:
        users = ask_everyone(workers, 7200)
    finally:
        services("revive", "postgres", env=private)
    deadline = time.monotonic() + 90  # the pool reconnects with a backoff of a few seconds
    while logged(workers, users) < len(users) and time.monotonic() < deadline:
        time.sleep(1)
    assert logged(workers, users) == len(users)


def test_a_killed_worker_is_noticed_within_two_heartbeats(workers: Workers) -> None:
    # After the outages both workers beat again, and both take a /reload through the Redis channel.
    mark = workers.server.mark()
    workers.post(0, workers.server.text_update(ADMIN, "/reload"))
    workers.server.wait_for(lambda s: s.method == "editMessageText" and "2/2" in s.text, after=mark, timeout=180)
    victim = workers.workers[1]
    victim.process.send_signal(signal.SIGKILL)
    victim.process.wait(timeout=30)
    time.sleep(2 * HEARTBEAT + 0.3)
    mark = workers.server.mark()
    workers.post(0, workers.server.text_update(ADMIN, "/reload"))
    done = workers.server.wait_for(lambda s: s.method == "editMessageText" and "воркеров" in s.text, after=mark,
                                   timeout=180)
    assert "1/1" in done.text  # the dead worker is not waited for
    wait_until_ready(workers.workers[0].port)
