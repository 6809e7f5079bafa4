"""Load test of the real bot through the local fake Bot API server (not a test): `python benchmarks/load_bot.py`.

1. Realistic run: USERS users, each sending QUESTIONS_PER_USER questions from the evaluation set with a random
   10–30 s pause after each reply (starts spread over the first 20 s): about 50 messages/s offered at peak.
2. Saturation run: SATURATION_USERS users, each sending its next question as soon as the reply comes back.

Prints offered and achieved messages per second, p50/p95/p99 time from update to reply, and errors.
Everything runs on 127.0.0.1; each run stops by itself.
"""

from __future__ import annotations

import argparse
import heapq
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from advisor.evaluation import load_cases  # noqa: E402
from fake_telegram import FakeTelegram, stop_process  # noqa: E402

REPLY_TIMEOUT = 30.0
APOLOGY = ("Извините, что-то пошло не так", "Кешіріңіз, бірдеңе дұрыс болмады")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


class Driver:
    """Sends questions as users and matches each reply to the question that caused it."""

    def __init__(self, server: FakeTelegram, questions: list[str], first_user: int):
        self.server = server
        self.questions = questions
        self.first_user = first_user
        self.cursor = server.mark()
        self.pending: dict[int, float] = {}  # user -> time the question was pushed
        self.latencies: list[float] = []
        self.timeline: list[tuple[float, float]] = []  # (time sent, latency)
        self.started = time.monotonic()
        self.errors = 0
        self.sent = 0
        self._last_timeout_check = time.monotonic()

    def send(self, user: int) -> None:
        self.server.send_text(user, random.choice(self.questions), language_code=random.choice(("ru", "kk")))
        self.pending[user] = time.monotonic()
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


def realistic_run(server: FakeTelegram, questions: list[str], users: int, per_user: int) -> None:
    driver = Driver(server, questions, 10_000)
    schedule = [(time.monotonic() + random.uniform(0, 20), 10_000 + i) for i in range(users)]
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
                heapq.heappush(schedule, (time.monotonic() + random.uniform(10, 30), user))
        time.sleep(0.005)
    took = time.monotonic() - started
    peak = max(sum(sends_per_second.get(s + k, 0) for k in range(10)) / 10 for s in sends_per_second)
    report("realistic", driver, took, peak)


def saturation_run(server: FakeTelegram, questions: list[str], users: int, seconds: float) -> None:
    driver = Driver(server, questions, 50_000)
    started = time.monotonic()
    for user in range(50_000, 50_000 + users):
        driver.send(user)
    while time.monotonic() - started < seconds:
        for user in driver.collect():
            driver.send(user)
        time.sleep(0.002)
    deadline = time.monotonic() + REPLY_TIMEOUT
    while driver.pending and time.monotonic() < deadline:
        driver.collect()
        time.sleep(0.01)
    took = time.monotonic() - started
    report("saturation", driver, took, driver.sent / seconds)


def report(name: str, driver: Driver, took: float, offered: float) -> None:
    answered = len(driver.latencies)
    print(f"{name}: {driver.sent} messages in {took:.0f} s; offered {offered:.1f} msg/s "
          f"({'peak 10-s window' if name == 'realistic' else 'average'}), achieved {answered / took:.1f} msg/s; "
          f"update→reply p50 {percentile(driver.latencies, .5) * 1000:.0f} ms, "
          f"p95 {percentile(driver.latencies, .95) * 1000:.0f} ms, p99 {percentile(driver.latencies, .99) * 1000:.0f} ms; "
          f"errors {driver.errors}", flush=True)
    windows: dict[int, list[float]] = {}
    for sent_at, latency in driver.timeline:
        windows.setdefault(int(sent_at // 20) * 20, []).append(latency)
    print("  p95 by 20-s window of sending: " + ", ".join(
        f"{start}-{start + 20} s: {len(v) / 20:.0f} msg/s, {percentile(v, .95) * 1000:.0f} ms"
        for start, v in sorted(windows.items())), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--per-user", type=int, default=5)
    parser.add_argument("--saturation-users", type=int, default=200)
    parser.add_argument("--saturation-seconds", type=float, default=60)
    parser.add_argument("--send-rate", type=float, default=1000,
                        help="the bot's outgoing pace (flood.max_per_second); the default measures the bot itself, "
                             "25 is what it allows itself against Telegram")
    args = parser.parse_args()
    questions = [c.q for c in load_cases(ROOT / "tests" / "eval" / "questions.yaml")]
    work = Path(tempfile.mkdtemp(prefix="load-bot-"))
    server = FakeTelegram().start()
    env = {**os.environ, "BOT_TOKEN": "123456:LOAD", "TELEGRAM__API_BASE": server.base_url,
           "STORAGE__PATH": str(work / "bot.sqlite3"), "THROTTLE__MESSAGES": "1000", "LOG_LEVEL": "WARNING",
           "FLOOD__MAX_PER_SECOND": str(args.send_rate), "MONITORING__ENABLED": "false"}
    process = subprocess.Popen([sys.executable, str(ROOT / "run_bot.py")], env=env, cwd=ROOT)
    try:
        server.wait_for(lambda s: s.method == "deleteWebhook", timeout=300)
        realistic_run(server, questions, args.users, args.per_user)
        saturation_run(server, questions, args.saturation_users, args.saturation_seconds)
    finally:
        stop_process(process)
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
