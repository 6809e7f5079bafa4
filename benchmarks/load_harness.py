"""Driving users against a started bot and measuring it: the warm-up, the realistic, rate and saturation runs.

A run sends questions as users through the fake Bot API, matches every reply to its question and returns a
RunResult; `measured` adds what the bot's caches and encoder did and who used the CPU meanwhile. Nothing here
prints: load_report.py does.
"""

from __future__ import annotations

import heapq
import itertools
import os
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from load_launchers import STATS_EVERY, BotUnderLoad, RunningBot, read_counters
from load_questions import NextQuestion

from fake_telegram import FakeTelegram

REPLY_TIMEOUT = 30.0
APOLOGY = ("Извините, что-то пошло не так", "Кешіріңіз, бірдеңе дұрыс болмады")
NAN = float("nan")


def percentile(values: list[float], share: float) -> float:
    """The value below which `share` of the values lie (nearest rank); NaN for none."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else NAN


@dataclass
class Late:
    """Replies still due after a run: how long the harness waited for them, and how many never came."""

    waited: float = 0.0
    missing: int = 0


class Driver:
    """Sends questions as users and matches each reply to the question that caused it."""

    def __init__(self, server: FakeTelegram, send_text: Callable[[int, str, str], None], next_question: NextQuestion,
                 rng: random.Random):
        self.server = server
        self.send_text = send_text
        self.next_question = next_question
        self.rng = rng
        self.cursor = server.mark()
        self.pending: dict[int, float] = {}  # user -> time the question was pushed
        self.owed: dict[int, int] = {}  # user -> questions not replied to yet, timed out ones too
        self.latencies: list[float] = []
        self.timeline: list[tuple[float, float]] = []  # (time sent, latency), in the order the replies came
        self.started = time.monotonic()
        self.errors = 0
        self.sent = 0
        self._last_timeout_check = time.monotonic()

    def send(self, user: int, text: str | None = None, lang: str | None = None) -> None:
        """The user sends `text` (by default the next question), with a random language unless given."""
        self.send_text(user, text or self.next_question(), lang or self.rng.choice(("ru", "kk")))
        self.pending[user] = time.monotonic()
        self.owed[user] = self.owed.get(user, 0) + 1
        self.sent += 1

    def collect(self) -> list[int]:
        """Users whose question got its reply since the last call."""
        done = []
        with self.server._lock:
            new = self.server.sent[self.cursor:]
            self.cursor += len(new)
        now = time.monotonic()
        for item in new:
            user = item.chat_id
            if item.method == "sendMessage" and self.owed.get(user, 0) > 0:
                self.owed[user] -= 1
            if item.method == "sendMessage" and user in self.pending:
                pushed = self.pending.pop(user)
                self.latencies.append(now - pushed)
                self.timeline.append((pushed - self.started, now - pushed))
                if item.text.startswith(APOLOGY):
                    self.errors += 1
                done.append(user)
        if now - self._last_timeout_check > 1.0:
            self._last_timeout_check = now
            for user, pushed in list(self.pending.items()):
                if now - pushed > REPLY_TIMEOUT:  # no reply at all counts as an error
                    del self.pending[user]
                    self.errors += 1
                    done.append(user)
        return done

    def drain(self) -> None:
        """Wait for the replies still due, at most REPLY_TIMEOUT."""
        deadline = time.monotonic() + REPLY_TIMEOUT
        while self.pending and time.monotonic() < deadline:
            self.collect()
            time.sleep(0.005)

    def settle(self, quiet: float = REPLY_TIMEOUT) -> Late:
        """Wait until the bot has replied to every question, late ones too, so the next run starts on an idle bot.

        Gives up when no reply came for `quiet` seconds (a question the bot never answers).
        """
        started = last = time.monotonic()
        owed = sum(self.owed.values())
        while owed and time.monotonic() - last < quiet:
            self.collect()
            left = sum(self.owed.values())
            if left < owed:
                owed, last = left, time.monotonic()
            time.sleep(0.05)
        return Late(time.monotonic() - started, owed)


@dataclass
class CpuUse:
    """Who used the CPU during a run, in cores (CPU seconds per second), and the bot's CPU seconds."""

    machine: float
    bot: float
    own: float  # the load script and its fake server(s)
    bot_seconds: float
    idle: float | None = None  # another bot, started and left idle (a baseline)


@dataclass
class RunResult:
    """What one run measured."""

    name: str
    sent: int
    latencies: list[float]
    timeline: list[tuple[float, float]]
    errors: int
    took: float  # seconds from the first question to the last reply waited for
    offered: float  # messages per second
    offered_is_peak: bool = False  # the realistic run offers its peak 10-s window, the others their average
    sending: float = NAN  # seconds questions were sent for
    saturation: float | None = None  # messages per second answered during the sending (the saturation run)
    overload_limit: float | None = None  # questions waiting when the rate run gave up sending
    late: Late = field(default_factory=Late)
    counters: tuple[dict[str, Any], dict[str, Any]] = ({}, {})  # the bot's counters before and after
    cpu: CpuUse | None = None

    @property
    def answered(self) -> int:
        return len(self.latencies)

    @property
    def achieved(self) -> float:
        """Messages answered per second over the run."""
        return self.answered / self.took if self.took else NAN

    @property
    def bot_cpu_ms_per_answer(self) -> float:
        """The bot's CPU time during the run divided among the questions it answered."""
        return self.cpu.bot_seconds * 1000 / self.answered if self.cpu and self.answered else NAN


def result_of(name: str, driver: Driver, took: float, offered: float, **details: Any) -> RunResult:
    """The figures a driver collected, named."""
    return RunResult(name, driver.sent, driver.latencies, driver.timeline, driver.errors, took, offered, **details)


@dataclass
class Run:
    """What the runs share: the fake server, the bot, the questions and where the bot's counters are."""

    server: FakeTelegram
    bot: RunningBot
    next_question: NextQuestion
    counters: Path
    rng: random.Random = field(default_factory=lambda: random.Random(7))

    @classmethod
    def on(cls, under: BotUnderLoad, next_question: NextQuestion, rng: random.Random) -> Run:
        """Runs against a started bot."""
        return cls(under.server, under.bot, next_question, under.counters, rng)

    def driver(self) -> Driver:
        return Driver(self.server, self.bot.send_text, self.next_question, self.rng)


def warm_up(run: Run, rate: float = 10, seconds: float = 10) -> Late:
    """Questions at a modest rate for a while, not measured: the runs then measure a bot that has answered before."""
    driver = run.driver()
    users = itertools.count(90_000)
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        driver.send(next(users))
        time.sleep(1 / rate)
        driver.collect()
    driver.drain()
    return driver.settle()


def realistic_run(run: Run, users: int, per_user: int) -> RunResult:
    """`users` users asking `per_user` questions each, 10–30 s apart, starting within the first 20 s."""
    driver = run.driver()
    schedule = [(time.monotonic() + run.rng.uniform(0, 20), 10_000 + i) for i in range(users)]
    heapq.heapify(schedule)
    left = {user: per_user for _, user in schedule}
    started = time.monotonic()
    sends_per_second: dict[int, int] = {}
    while schedule or driver.pending:
        now = time.monotonic()
        while schedule and schedule[0][0] <= now:
            _, user = heapq.heappop(schedule)
            driver.send(user)
            second = int(now - started)
            sends_per_second[second] = sends_per_second.get(second, 0) + 1
            left[user] -= 1
        for user in driver.collect():
            if left[user] > 0:
                heapq.heappush(schedule, (time.monotonic() + run.rng.uniform(10, 30), user))
        time.sleep(0.005)
    took = time.monotonic() - started
    peak = max(sum(sends_per_second.get(s + k, 0) for k in range(10)) / 10 for s in sends_per_second)
    return result_of("realistic", driver, took, peak, offered_is_peak=True, late=driver.settle())


def rate_run(run: Run, rate: float, seconds: float, users: int) -> RunResult:
    """Messages as Poisson arrivals at `rate` per second; each from a user of the pool with no question waiting."""
    driver = run.driver()
    pool = itertools.cycle(range(30_000, 30_000 + users))
    started = time.monotonic()
    next_send = started
    overloaded = False
    while time.monotonic() - started < seconds and not overloaded:
        now = time.monotonic()
        # Ten seconds of questions waiting: far past any acceptable p95, and the queue only grows from here.
        overloaded = len(driver.pending) > rate * 10
        while next_send <= now and not overloaded:
            user = next(pool)
            for _ in range(users):  # at most one question per user in flight, as a person waits for the reply
                if user not in driver.pending:
                    break
                user = next(pool)
            driver.send(user)
            next_send += run.rng.expovariate(rate)
        driver.collect()
        time.sleep(max(0.0, min(0.002, next_send - time.monotonic())))
    sending = time.monotonic() - started
    driver.drain()
    return result_of(f"rate {rate:g}/s", driver, time.monotonic() - started, driver.sent / sending, sending=sending,
                     overload_limit=rate * 10 if overloaded else None, late=driver.settle())


def saturation_run(run: Run, users: int, seconds: float) -> RunResult:
    """`users` users each sending the next question as soon as the reply comes: what is answered is the ceiling."""
    driver = run.driver()
    started = time.monotonic()
    for user in range(50_000, 50_000 + users):
        driver.send(user)
    while time.monotonic() - started < seconds:
        for user in driver.collect():
            driver.send(user)
        time.sleep(0.002)
    answered_in_time = len(driver.latencies)
    driver.drain()
    return result_of("saturation", driver, time.monotonic() - started, driver.sent / seconds, sending=seconds,
                     saturation=answered_in_time / seconds, late=driver.settle())


def cpu_seconds(pids: list[int]) -> tuple[float, float, float]:
    """CPU seconds used so far by the machine (all processes), by these processes, and by this one (Linux)."""
    ticks = os.sysconf("SC_CLK_TCK")
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        machine = (sum(fields[:8]) - fields[3] - fields[4]) / ticks  # all but idle and iowait
        bot = 0.0
        for pid in pids:
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            bot += (int(stat[11]) + int(stat[12])) / ticks  # utime and stime, all threads
    except (OSError, ValueError, IndexError):  # not Linux, or the bot is gone: no figures
        return NAN, NAN, NAN
    own = os.times()
    return machine, bot, own.user + own.system


def measured(run: Run, action: Callable[[], RunResult], idle_pids: list[int] | None = None) -> RunResult:
    """Do one run; add what the bot's query cache and encoder did, and who used the CPU (`idle_pids` apart)."""
    time.sleep(STATS_EVERY * 2.5)  # the bot writes its counters every STATS_EVERY seconds: let them settle
    before, cpu_before, started = read_counters(run.counters), cpu_seconds(run.bot.pids), time.monotonic()
    idle_before = cpu_seconds(idle_pids)[1] if idle_pids else NAN
    result = action()
    cpu_after, took = cpu_seconds(run.bot.pids), time.monotonic() - started
    idle_after = cpu_seconds(idle_pids)[1] if idle_pids else NAN
    time.sleep(STATS_EVERY * 2.5)
    result.counters = before, read_counters(run.counters)
    machine, bot, own = ((after - before) / took for after, before in zip(cpu_after, cpu_before))
    result.cpu = CpuUse(machine, bot, own, cpu_after[1] - cpu_before[1],
                        (idle_after - idle_before) / took if idle_pids else None)
    return result


@dataclass
class EncodeTiming:
    """Encoding one question alone with the configured model in this process: CPU and wall time, p50 (ms)."""

    model: str
    questions: int
    cpu_ms: float
    wall_ms: float


def one_encode(questions: list[str], warm_up_calls: int = 3) -> EncodeTiming:
    """Time encoding each question alone with the model config.yaml names (what the bot's encoder does per call)."""
    from app.config import load_settings
    from embeddings.model import load_embeddings, model_name

    cfg = load_settings().embeddings
    model = load_embeddings(cfg.model, cfg.backend, cfg.query_prefix, cfg.passage_prefix)
    for text in questions[:warm_up_calls]:  # the first calls allocate and load kernels
        model.embed_query(text)
    cpu, wall = [], []
    for text in questions[warm_up_calls:]:
        cpu_started, wall_started = time.process_time(), time.perf_counter()  # process: the encoder's threads too
        model.embed_query(text)
        cpu.append(time.process_time() - cpu_started)
        wall.append(time.perf_counter() - wall_started)
    return EncodeTiming(model_name(model), len(cpu), statistics.median(cpu) * 1000, statistics.median(wall) * 1000)

