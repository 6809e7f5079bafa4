"""Starting the bot for the load benchmarks: the prompt fake Bot API, the launchers, and the bot's own counters.

A launcher (LAUNCHERS) starts the bot process(es) of a checkout against a fake server and returns their pids, how to
deliver an update and how to stop them: `polling` (one process) or `workers` (two webhook workers sharing Redis and
PostgreSQL, the load script playing the proxy). Every bot process runs `load_bot.py --serve-instrumented`, which
counts query-cache reuse and encoder batches into files the load script reads.
"""

from __future__ import annotations

import asyncio
import importlib
import itertools
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fake_telegram import FakeTelegram, stop_process

ROOT = Path(__file__).resolve().parent.parent
LOAD_BOT = Path(__file__).resolve().parent / "load_bot.py"
PROJECT_PACKAGES = ("advisor", "app", "bot", "embeddings", "knowledge", "storage")
STATS_DIR_VARIABLE = "LOAD_BOT_STATS_DIR"  # where an instrumented bot process writes its counters
STATS_EVERY = 0.5  # seconds between two writes of the counters
BOT_START_TIMEOUT = 300  # seconds: loading the model and building the index on a busy machine

SendText = Callable[[int, str, str], None]  # user id, text, language code


# --- the fake Bot API ---------------------------------------------------------------------------------------------

@dataclass
class PromptFakeTelegram(FakeTelegram):
    """The tests' fake Bot API, but a waiting getUpdates returns as soon as an update arrives, as Telegram's does.

    The tests' fake looks for updates every 50 ms, which would add 25 ms on average (50 at worst) to every reply
    measured here: the bot's own latency is what this script is for.
    """

    _wake: asyncio.Event = field(default_factory=asyncio.Event)

    def _push(self, update: dict[str, Any]) -> None:
        super()._push(update)
        self._loop.call_soon_threadsafe(self._wake.set)

    async def _get_updates(self, offset: int, timeout: float) -> list[dict[str, Any]]:
        deadline = time.monotonic() + min(timeout, 1.0)  # a long poll of at most about one second, as the tests'
        while True:
            self._wake.clear()  # before looking: an update pushed after the look sets it again
            with self._lock:
                pending = [u for u in self._updates if u["update_id"] >= offset]
                self._updates = pending
            left = deadline - time.monotonic()
            if pending or left <= 0:
                return pending
            try:
                await asyncio.wait_for(self._wake.wait(), left)
            except TimeoutError:
                pass


# --- launching the bot --------------------------------------------------------------------------------------------

@dataclass
class RunningBot:
    """Bot processes started by a launcher: pids, webhook addresses (none when polling), delivery, stopping."""

    pids: list[int]
    urls: list[str]
    send_text: SendText  # delivers a user's message to the bot
    stop: Callable[[], None]


Launcher = Callable[[FakeTelegram, dict[str, str], Path], RunningBot]  # server, environment, checkout


def instrumented_bot_command(root: Path = ROOT) -> list[str]:
    """The command that runs the bot of checkout `root` with the load test's counters (see serve_instrumented)."""
    command = [sys.executable, str(LOAD_BOT), "--serve-instrumented"]
    # This file's counters work for an older checkout too, whose own load_bot.py may lack them.
    return command if root == ROOT else [*command, "--root", str(root)]


def launch_polling_bot(server: FakeTelegram, env: dict[str, str], root: Path = ROOT) -> RunningBot:
    """One bot process in polling mode, fed by the fake server's getUpdates."""
    process = subprocess.Popen(instrumented_bot_command(root), env=env, cwd=root)
    try:
        server.wait_for(lambda s: s.method == "deleteWebhook", timeout=BOT_START_TIMEOUT)
    except BaseException:
        stop_process(process)
        raise
    return RunningBot([process.pid], [], server.send_text, lambda: stop_process(process))


def launch_two_workers(server: FakeTelegram, env: dict[str, str], root: Path = ROOT) -> RunningBot:
    """Two webhook workers on real Redis and PostgreSQL (benchmarks/workers_launcher.py), updates round robin."""
    from workers_launcher import launch_webhook_workers  # psycopg and redis only when workers are asked for

    return RunningBot(*launch_webhook_workers(server, env, instrumented_bot_command(root), count=2, cwd=root))


LAUNCHERS: dict[str, Launcher] = {"polling": launch_polling_bot, "workers": launch_two_workers}


def bot_environment(server: FakeTelegram, work: Path, send_rate: float, extra: dict[str, str]) -> dict[str, str]:
    """The bot's environment: the fake server, its own storage and counters in `work`, no throttling, `extra` last."""
    return {**os.environ, "BOT_TOKEN": "123456:LOAD", "TELEGRAM__API_BASE": server.base_url,
            "STORAGE__PATH": str(work / "bot.sqlite3"), "THROTTLE__MESSAGES": "1000", "LOG_LEVEL": "WARNING",
            "FLOOD__MAX_PER_SECOND": str(send_rate), "MONITORING__ENABLED": "false",
            STATS_DIR_VARIABLE: str(work / "counters"), **extra}


@dataclass
class BotUnderLoad:
    """A started bot with its own fake server, and the folder its processes write their counters to."""

    server: FakeTelegram
    bot: RunningBot
    counters: Path


@contextmanager
def started_bot(launcher: str, work: Path, send_rate: float, extra_env: dict[str, str], root: Path = ROOT,
                stock_server: bool = False) -> Iterator[BotUnderLoad]:
    """A fake server and the bot of checkout `root` against it, in folder `work`; both stopped at exit."""
    (work / "counters").mkdir(parents=True)
    server = (FakeTelegram() if stock_server else PromptFakeTelegram()).start()
    try:
        bot = LAUNCHERS[launcher](server, bot_environment(server, work, send_rate, extra_env), root)
        try:
            yield BotUnderLoad(server, bot, work / "counters")
        finally:
            bot.stop()
    finally:
        server.stop()


# --- counters inside the bot process ------------------------------------------------------------------------------

def use_checkout(root: Path) -> None:
    """Make this process import the project from `root` only (before any of it is imported)."""
    imported = [name for name in PROJECT_PACKAGES if name in sys.modules]
    if imported:
        raise RuntimeError(f"{', '.join(imported)} imported before the checkout was chosen")
    sys.path[:] = [str(root), *(p for p in sys.path if p != str(ROOT))]
    # The venv's editable install maps the project's packages to the current checkout after sys.path: a package
    # an older checkout lacks (app/ before it existed) would still be imported from here.
    sys.meta_path[:] = [f for f in sys.meta_path if not getattr(f, "__module__", "").startswith("__editable__")]


def optional(module: str, name: str) -> Any:
    """`module.name`, or None when this checkout has no such thing."""
    try:
        return getattr(importlib.import_module(module), name, None)
    except ImportError:
        return None


def cli_main() -> Callable[[list[str]], int]:
    """The checkout's command-line entry point: app.cli, or advisor.cli before app/ existed."""
    main = optional("app.cli", "main") or optional("advisor.cli", "main")
    if main is None:
        raise RuntimeError(f"{sys.path[0]} has neither app.cli nor advisor.cli")
    return main


def serve_instrumented(root: Path = ROOT) -> int:
    """Run the bot of checkout `root` while counting query-cache reuse and encoder batches into LOAD_BOT_STATS_DIR.

    A dense search is a query-cache hit when its query's vector was computed for an earlier question: whichever of
    the caches above the encoder served it (retriever results or VectorIndex vectors). Searches repeated within one
    question are not hits. Patches only this process, at start, before anything is built; what an older checkout
    lacks is simply not counted.
    """
    use_checkout(root)
    counters = _Counters()
    advisor = optional("advisor.advisor", "Advisor")
    for name in ("converse", "ask", "more_suggestions"):
        if hasattr(advisor, name):
            setattr(advisor, name, counters.question(getattr(advisor, name)))
    after_init(optional("embeddings.retriever", "HybridRetriever"), counters.wrap_dense_lookup)
    after_init(optional("embeddings.index", "VectorIndex"), counters.indexes.append)
    directory = Path(os.environ[STATS_DIR_VARIABLE])
    stop = threading.Event()
    writer = threading.Thread(target=counters.write_every, args=(directory / f"{os.getpid()}.json", stop),
                              daemon=True)
    writer.start()
    try:
        return cli_main()([])
    finally:
        stop.set()
        writer.join(5)


def after_init(cls: type | None, then: Callable[[Any], None]) -> None:
    """Call `then` on every instance of `cls` once its __init__ has run (nothing when the checkout lacks `cls`)."""
    if cls is None:
        return
    original = cls.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        then(self)

    cls.__init__ = init  # type: ignore[misc]


class _Counters:
    """Query-cache reuse and batches, counted in the bot process."""

    def __init__(self) -> None:
        self.local = threading.local()
        self.lock = threading.Lock()
        self.next_question = itertools.count(1)
        self.owner: dict[str, int] = {}  # dense query -> the first question that searched it
        self.looked: set[tuple[int, str]] = set()
        self.lookups = 0  # distinct (question, dense query) pairs
        self.hits = 0  # of those, queries an earlier question had searched
        self.indexes: list[Any] = []

    def question(self, method: Callable[..., Any]) -> Callable[..., Any]:
        """Wrap an advisor entry point: the outermost call in a thread is one question."""
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            outer = getattr(self.local, "question", None) is None
            if outer:
                self.local.question = next(self.next_question)
            try:
                return method(*args, **kwargs)
            finally:
                if outer:
                    self.local.question = None
        return wrapped

    def wrap_dense_lookup(self, retriever: Any) -> None:
        """Count the dense searches of a retriever that has the cached one (older checkouts may not)."""
        if hasattr(retriever, "_dense_all"):
            retriever._dense_all = self.dense_lookup(retriever._dense_all)

    def dense_lookup(self, lookup: Callable[[str], Any]) -> Callable[[str], Any]:
        """Wrap a retriever's cached dense search to count queries first searched by another question."""
        def wrapped(query: str) -> Any:
            question = getattr(self.local, "question", None) or -next(self.next_question)
            with self.lock:
                if (question, query) not in self.looked:
                    self.looked.add((question, query))
                    self.lookups += 1
                    self.hits += self.owner.setdefault(query, question) != question
            return lookup(query)
        return wrapped

    def snapshot(self) -> dict[str, Any]:
        """The counters now, with the embedding cache and batcher figures of every index opened."""
        embed_hits = embed_misses = 0
        batches: dict[str, int] = {"queries": 0, "batches": 0, "encoded": 0, "largest": 0}
        seen_embeddings: set[int] = set()
        for index in list(self.indexes):
            cached = getattr(index, "_embed_cached", None)
            if cached is not None:
                info = cached.cache_info()
                embed_hits, embed_misses = embed_hits + info.hits, embed_misses + info.misses
            stats = getattr(getattr(index, "embeddings", None), "stats", None)
            if stats is not None and id(index.embeddings) not in seen_embeddings:
                seen_embeddings.add(id(index.embeddings))
                for key in ("queries", "batches", "encoded"):
                    batches[key] += getattr(stats, key)
                batches["largest"] = max(batches["largest"], stats.largest)
        with self.lock:
            return {"lookups": self.lookups, "hits": self.hits, "embed_cache_hits": embed_hits,
                    "embed_cache_misses": embed_misses, "batching": bool(seen_embeddings), **batches}

    def write_every(self, path: Path, stop: threading.Event) -> None:
        """Write the counters to `path` (atomically) every STATS_EVERY seconds, and once more at the end."""
        while True:
            stopping = stop.wait(STATS_EVERY)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.snapshot()), encoding="utf-8")
            os.replace(tmp, path)
            if stopping:
                return


def read_counters(directory: Path) -> dict[str, Any]:
    """The counters of every bot process, added up (the largest batch is the largest of any)."""
    total: dict[str, Any] = {}
    for path in directory.glob("*.json"):
        try:
            counters = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):  # being replaced right now: the next read gets it
            continue
        for key, value in counters.items():
            if isinstance(value, bool):
                total[key] = total.get(key, False) or value
            elif key == "largest":
                total[key] = max(total.get(key, 0), value)
            else:
                total[key] = total.get(key, 0) + value
    return total


def counters_line(before: dict[str, Any], after: dict[str, Any]) -> str:
    """What the bot's query cache and batcher did between two readings."""
    delta = {k: after.get(k, 0) - before.get(k, 0) for k in after if not isinstance(after[k], bool) and k != "largest"}
    if not after:
        return "  bot counters: none written (was the bot started with instrumented_bot_command?)"
    line = (f"  query cache: {delta.get('hits', 0)} hits in {delta.get('lookups', 0)} questions' dense searches "
            f"(vectors made for an earlier question); embedding cache {delta.get('embed_cache_hits', 0)} hits, "
            f"{delta.get('embed_cache_misses', 0)} misses")
    if after.get("batching"):
        batches = delta.get("batches", 0)
        line += (f"; encoder: {delta.get('encoded', 0)} questions in {batches} calls "
                 f"(mean {delta.get('encoded', 0) / batches if batches else float('nan'):.1f}, "
                 f"largest so far {after.get('largest', 0)})")
    else:
        line += "; encoder: one call per question (batching off)"
    return line
