"""Launcher of N webhook workers for benchmarks/load_bot.py: real Redis and PostgreSQL, the load script as the proxy.

Each worker gets its own copy of the search index; all share one Redis database and one fresh PostgreSQL
database (dropped at the end). Updates are POSTed round robin to the workers, as the reverse proxy in
compose.yaml spreads them; each POST returns once its update is handled, so a pool of threads sends them.
Two launches in one process (a bot and its baseline) get distinct Redis databases and share the servers.
"""

from __future__ import annotations

import itertools
import os
import re
import secrets
import shutil
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
from redis import Redis

ROOT = Path(__file__).resolve().parent.parent
SendText = Callable[[int, str, str], None]
_redis_databases = itertools.count(9)  # one per launch: workers of two bots must not see each other's state
_launches = 0  # launches not stopped yet: the servers stop with the last of them


def services(action: str) -> dict[str, str]:
    """Start or stop Redis and PostgreSQL from .ci/services for this process (running ones are shared)."""
    exported = subprocess.run([str(ROOT / ".ci" / "services"), action, "--for", str(os.getpid())], check=True,
                              capture_output=True, text=True).stdout
    return dict(re.findall(r"export (\w+)=(\S+)", exported))


def launch_webhook_workers(server, env: dict[str, str], command: list[str], count: int = 2,  # noqa: ANN001
                           cwd: Path = ROOT) -> tuple[list[int], list[str], SendText, Callable[[], None]]:
    """Start `count` workers of checkout `cwd`; returns pids, webhook addresses, how to deliver and how to stop."""
    # The tests' helpers, on the path load_bot.py sets.
    from fake_telegram import free_port, post_update, stop_process, wait_until_ready

    global _launches
    servers = services("start")
    _launches += 1
    database = f"kolledzh_load_{secrets.token_hex(4)}"
    with psycopg.connect(servers["TEST_DATABASE_URL"], autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{database}"')
    database_url = re.sub(r"/[^/]*$", f"/{database}", servers["TEST_DATABASE_URL"])
    redis_url = servers["TEST_REDIS_URL"].rsplit("/", 1)[0] + f"/{next(_redis_databases)}"
    Redis.from_url(redis_url).flushdb()
    secret = secrets.token_urlsafe(24)
    work = Path(env["STORAGE__PATH"]).parent
    index = Path(env.get("EMBEDDINGS__INDEX_PATH", cwd / "var" / "index"))
    processes: list[subprocess.Popen] = []
    ports: list[int] = []
    for n in range(count):
        folder = work / f"worker-{n}"
        shutil.copytree(index, folder / "index")
        ports.append(free_port())
        processes.append(subprocess.Popen(command, cwd=cwd, env={
            **env, "TELEGRAM__MODE": "webhook", "TELEGRAM__WEBHOOK_URL": "https://bot.example.kz/webhook",
            "TELEGRAM__WEBHOOK_PORT": str(ports[-1]), "MONITORING__ENABLED": "true", "WEB__ENABLED": "false",
            "EMBEDDINGS__INDEX_PATH": str(folder / "index"), "STORAGE__PATH": str(folder / "bot.sqlite3"),
            "SCALE__MODE": "workers", "SCALE__WORKER_NAME": f"w{n}", "REDIS_URL": redis_url,
            "DATABASE_URL": database_url, "WEBHOOK_SECRET": secret}))
    pool = ThreadPoolExecutor(max_workers=128, thread_name_prefix="proxy")

    def stop() -> None:
        global _launches
        for process in processes:
            stop_process(process)
        pool.shutdown(wait=False, cancel_futures=True)
        with psycopg.connect(servers["TEST_DATABASE_URL"], autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        _launches -= 1
        if not _launches:
            services("stop")

    try:
        for port in ports:
            wait_until_ready(port, timeout=300)
    except BaseException:
        stop()
        raise
    next_port = itertools.cycle(ports).__next__

    def send_text(user: int, text: str, lang: str) -> None:
        update = server.text_update(user, text, lang)
        pool.submit(post_update, next_port(), update, secret, 60)

    return [p.pid for p in processes], [f"http://127.0.0.1:{p}/webhook" for p in ports], send_text, stop
