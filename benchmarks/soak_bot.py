"""Soak test of the real bot through the local fake Bot API server (not a test): `python benchmarks/soak_bot.py`.

For --minutes (default 30) every message arrives as a Poisson arrival at --rate msg/s (default: 60 % of the
saturation rate, --saturation or measured in a 30-s saturation run first). Messages are:

- new questions (never seen before) from a pool of --users users, each with at most one message waiting;
- follow-ups of --returning users (share --returning-share) who continue their chats: «а там есть общежитие?»,
  «ещё», «бірінші», «рахмет», … in Russian and Kazakh, now and then a new question that starts a new topic;
- /forget (share --forget-share) from users who asked before;
- /reload from an admin every --reload-every minutes (the bot gets ACCESS__ADMINS for it).

Every minute it prints messages answered per second, p50/p95 time from update to reply, the bot processes' RSS,
open file descriptors and threads (added up over the processes), and errors. At the end: each series' slope per
minute (least squares; RSS after the first minute, as warm-up) beside the noise of throughput and p95 over the
first five minutes, what every /reload took, and a CSV and a PNG chart in --out (soak-<minutes>min.csv/.png).
"""

from __future__ import annotations

import argparse
import csv
import itertools
import math
import os
import random
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display on a server
from matplotlib import pyplot
from matplotlib.ticker import MaxNLocator

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from load_harness import Driver, Late, Run, measured, percentile, saturation_run, warm_up
from load_launchers import LAUNCHERS, started_bot
from load_questions import follow_up, new_questions
from load_report import late_line, print_if, print_run

from fake_telegram import FakeTelegram

ADMIN = 7  # the user id the bot is told is an admin
RETURNING_FIRST = 60_000  # user ids of the returning users
NEW_FIRST = 100_000  # user ids of the pool new questions come from
SATURATION_SECONDS = 30
SATURATION_USERS = 200
SHARE_OF_SATURATION = 0.6
NOISE_MINUTES = 5  # the first minutes whose spread says how much a series wanders by chance
NEW_TOPIC = 0.2  # how often a returning user starts a new topic instead of following up


@dataclass
class Plan:
    """What the soak sends, and for how long."""

    minutes: int
    rate: float
    users: int
    returning: int
    returning_share: float
    forget_share: float
    reload_every: float  # minutes; 0: no /reload


@dataclass
class Minute:
    """One minute of the soak: traffic, latency and the bot processes' resources at its end."""

    minute: int
    sent: int
    answered: int
    answered_per_s: float
    p50_ms: float
    p95_ms: float
    rss_mib: float
    fds: int
    threads: int
    errors: int
    skipped: int  # messages not sent because ten seconds' worth were already waiting
    reloads: int


@dataclass
class Reload:
    """One /reload: when it was sent (seconds into the soak), its first reply and its last edit after that."""

    sent_at: float
    acknowledged: float = math.nan
    finished: float = math.nan
    text: str = ""

    @property
    def headline(self) -> str:
        """The first line of the last reply, shortened."""
        return self.text.split("\n", 1)[0][:80]


def process_usage(pids: list[int]) -> tuple[float, int, int]:
    """RSS in MiB, open file descriptors and threads of these processes, added up (Linux); NaN when gone."""
    rss = fds = threads = 0
    try:
        for pid in pids:
            status = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                          if ":" in line)
            rss += int(status["VmRSS"].split()[0])
            threads += int(status["Threads"])
            fds += len(os.listdir(f"/proc/{pid}/fd"))
    except (OSError, KeyError, ValueError):
        return math.nan, -1, -1
    return rss / 1024, fds, threads


class Chats:
    """Who sends the next message, and what: a new user's question, a returning user's follow-up, a /forget."""

    def __init__(self, plan: Plan, rng: random.Random):
        self.plan = plan
        self.rng = rng
        self.pool = itertools.cycle(range(NEW_FIRST, NEW_FIRST + plan.users))
        self.returning = list(range(RETURNING_FIRST, RETURNING_FIRST + plan.returning))
        self.language = {user: rng.choice(("ru", "ru", "kk")) for user in self.returning}  # a user keeps theirs
        self.chatting: set[int] = set()  # returning users whose chat has an answer to follow up
        self.asked: list[int] = []  # users who asked before, in the order of their first question
        self.asked_set: set[int] = set()
        self.kinds: Counter[str] = Counter()

    def next(self, waiting: dict[int, float]) -> tuple[int, str | None, str | None]:
        """The next message as user, text (None: a new question) and language (None: any); nobody waiting twice."""
        roll = self.rng.random()
        if roll < self.plan.forget_share and self.asked:
            user = self.rng.choice(self.asked)
            if user not in waiting:
                self.chatting.discard(user)
                return self.sent(user, "forget", "/forget", self.language.get(user))
        elif roll < self.plan.forget_share + self.plan.returning_share and self.returning:
            user = self.rng.choice(self.returning)
            if user not in waiting:
                lang = self.language[user]
                if user in self.chatting and self.rng.random() >= NEW_TOPIC:
                    return self.sent(user, "follow-up", follow_up(lang, self.rng), lang)
                self.chatting.add(user)
                return self.sent(user, "question", None, lang)
        return self.sent(self.idle_new_user(waiting), "question", None, None)

    def idle_new_user(self, waiting: dict[int, float]) -> int:
        """The next user of the pool with no message waiting (the last one tried when all are)."""
        user = next(self.pool)
        for _ in range(self.plan.users):
            if user not in waiting:
                break
            user = next(self.pool)
        return user

    def sent(self, user: int, kind: str, text: str | None, lang: str | None) -> tuple[int, str | None, str | None]:
        """Count the message and remember that the user has asked."""
        self.kinds[kind] += 1
        if kind != "forget" and user not in self.asked_set:
            self.asked_set.add(user)
            self.asked.append(user)
        return user, text, lang


@dataclass
class ReloadWatch:
    """Sends the admin's /reload and times its replies: the first message, then the last edit of it."""

    server: FakeTelegram
    started: float
    reloads: list[Reload] = field(default_factory=list)
    cursor: int = 0

    def __post_init__(self) -> None:
        self.cursor = self.server.mark()

    def send(self, run: Run) -> None:
        """The admin sends /reload now."""
        self.reloads.append(Reload(time.monotonic() - self.started))
        run.bot.send_text(ADMIN, "/reload", "ru")

    def collect(self) -> None:
        """Note the replies to the admin since the last call."""
        with self.server._lock:
            new = self.server.sent[self.cursor:]
            self.cursor += len(new)
        if not self.reloads:
            return
        last = self.reloads[-1]
        for item in new:
            if item.chat_id == ADMIN and item.method in ("sendMessage", "editMessageText"):
                after = time.monotonic() - self.started - last.sent_at
                if math.isnan(last.acknowledged):
                    last.acknowledged = after
                last.finished, last.text = after, item.text


@dataclass
class Soaked:
    """What the soak measured: the minutes, the /reloads, every reply, the late ones and the kinds of messages."""

    rows: list[Minute]
    reloads: list[Reload]
    driver: Driver
    late: Late
    kinds: Counter[str]


def soak(run: Run, plan: Plan, on_minute: Callable[[Minute], None]) -> Soaked:
    """Send the plan's messages for its minutes, one Minute a minute; then wait for the replies still due."""
    driver = run.driver()
    chats = Chats(plan, run.rng)
    started = time.monotonic()
    watch = ReloadWatch(run.server, started)
    reload_at = plan.reload_every * 60 if plan.reload_every > 0 else math.inf
    next_send = started
    rows: list[Minute] = []
    for minute in range(1, plan.minutes + 1):
        replies, sent, errors, reloads, skipped = len(driver.timeline), driver.sent, driver.errors, len(watch.reloads), 0
        end = started + minute * 60
        while (now := time.monotonic()) < end:
            if now - started >= reload_at:
                watch.send(run)
                reload_at += plan.reload_every * 60
            # Ten seconds of messages waiting: the bot has fallen behind; sending more only grows the queue.
            overloaded = len(driver.pending) > plan.rate * 10
            while next_send <= now:
                if overloaded:
                    skipped += 1
                else:
                    driver.send(*chats.next(driver.pending))
                next_send += run.rng.expovariate(plan.rate)
            driver.collect()
            watch.collect()
            time.sleep(max(0.0, min(0.002, next_send - time.monotonic())))
        latencies = [latency for _, latency in driver.timeline[replies:]]
        rss, fds, threads = process_usage(run.bot.pids)
        rows.append(Minute(minute, driver.sent - sent, len(latencies), len(latencies) / 60,
                           percentile(latencies, .5) * 1000, percentile(latencies, .95) * 1000, rss, fds, threads,
                           driver.errors - errors, skipped, len(watch.reloads) - reloads))
        on_minute(rows[-1])
    driver.drain()
    late = driver.settle()
    watch.collect()
    return Soaked(rows, watch.reloads, driver, late, chats.kinds)


COLUMNS = (("min", "minute", "{:>3}"), ("sent", "sent", "{:>5}"), ("ans/s", "answered_per_s", "{:>6.1f}"),
           ("p50 ms", "p50_ms", "{:>7.0f}"), ("p95 ms", "p95_ms", "{:>7.0f}"), ("RSS MiB", "rss_mib", "{:>8.1f}"),
           ("fds", "fds", "{:>4}"), ("threads", "threads", "{:>7}"), ("errors", "errors", "{:>6}"),
           ("skipped", "skipped", "{:>7}"), ("reload", "reloads", "{:>6}"))


def table_header() -> str:
    """The titles of the per-minute table, each as wide as its column."""
    return "  ".join(f"{title:>{len(fmt.format(0))}}" for title, _, fmt in COLUMNS)


def table_line(row: Minute) -> str:
    """One minute as a line of the table."""
    values = asdict(row)
    return "  ".join(fmt.format(values[key]) for _, key, fmt in COLUMNS)


def least_squares_slope(xs: list[float], ys: list[float]) -> float:
    """The slope of the least-squares line through the points whose y is a number; NaN for fewer than two."""
    points = [(x, y) for x, y in zip(xs, ys) if not math.isnan(y)]
    if len(points) < 2:
        return math.nan
    return statistics.linear_regression([x for x, _ in points], [y for _, y in points]).slope


def noise(values: list[float]) -> float:
    """The standard deviation of the numbers among `values`; NaN for fewer than two."""
    numbers = [v for v in values if not math.isnan(v)]
    return statistics.stdev(numbers) if len(numbers) >= 2 else math.nan


def print_trends(rows: list[Minute]) -> None:
    """Each series' slope per minute and its drift over the run, beside the noise of the first minutes."""
    first = rows[:NOISE_MINUTES]
    print(f"trends (least-squares slope per minute, and what it adds up to over the minutes fitted; noise = stdev "
          f"over the first {len(first)} minutes):", flush=True)
    series = (("answered msg/s", "answered_per_s", 0, "{:+.3f}"), ("p50 ms", "p50_ms", 0, "{:+.1f}"),
              ("p95 ms", "p95_ms", 0, "{:+.1f}"), ("RSS growth after warm-up, MiB", "rss_mib", 1, "{:+.2f}"),
              ("open fds", "fds", 0, "{:+.2f}"), ("threads", "threads", 0, "{:+.2f}"),
              ("errors per minute", "errors", 0, "{:+.2f}"))
    for label, key, skip, fmt in series:
        points = [(row.minute, float(getattr(row, key))) for row in rows[skip:]]
        slope = least_squares_slope([m for m, _ in points], [v for _, v in points])
        if math.isnan(slope):
            print(f"  {label}: n/a (too few minutes)", flush=True)
            continue
        start, end = points[0][0], points[-1][0]
        line = f"  {label}: {fmt.format(slope)}/min; over minutes {start}–{end}: {fmt.format(slope * (end - start))}"
        if key in ("answered_per_s", "p95_ms"):
            line += f"; noise {noise([float(getattr(row, key)) for row in first]):.2f}"
        print(line, flush=True)


def print_reloads(reloads: list[Reload]) -> None:
    """When each /reload was sent, its first reply, and its last edit (the result) if one came before the end."""
    for n, reload in enumerate(reloads, 1):
        line = f"  /reload {n} at {reload.sent_at / 60:.1f} min: "
        if math.isnan(reload.acknowledged):
            line += "no reply before the soak ended"
        elif reload.finished > reload.acknowledged:
            line += (f"first reply after {reload.acknowledged * 1000:.0f} ms, last edit after {reload.finished:.1f} s: "
                     f"{reload.headline}")
        else:
            line += (f"first reply after {reload.acknowledged * 1000:.0f} ms ({reload.headline}), "
                     "no edit with the result before the soak ended")
        print(line, flush=True)


def write_csv(rows: list[Minute], path: Path) -> None:
    """One line per minute, with a header."""
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=list(asdict(rows[0])))
        writer.writeheader()
        writer.writerows(asdict(row) for row in rows)


def write_chart(rows: list[Minute], title: str, rate: float, path: Path) -> None:
    """Four panels over the minutes: throughput, p50/p95, RSS, file descriptors and threads; /reloads dotted."""
    minutes = [row.minute for row in rows]
    figure, axes = pyplot.subplots(4, 1, sharex=True, figsize=(10, 11))
    # Throughput and latency from zero, so that noise does not look like a trend; RSS zoomed in, to see growth.
    panels = ((axes[0], "answered msg/s", (("answered/s", "answered_per_s"),), True),
              (axes[1], "update→reply, ms", (("p50", "p50_ms"), ("p95", "p95_ms")), True),
              (axes[2], "RSS, MiB", (("RSS", "rss_mib"),), False),
              (axes[3], "count", (("open fds", "fds"), ("threads", "threads")), True))
    axes[0].axhline(rate, color="grey", linestyle="--", linewidth=1, label="offered")
    for ax, ylabel, lines, from_zero in panels:
        for label, key in lines:
            ax.plot(minutes, [getattr(row, key) for row in rows], marker=".", label=label)
        for row in rows:
            if row.reloads:
                ax.axvline(row.minute, color="grey", linestyle=":", linewidth=1)
        if from_zero:
            ax.set_ylim(bottom=0)
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right", fontsize="small")
    axes[0].set_title(title + " (dotted: minutes with a /reload)")
    axes[-1].set_xlabel("minute")
    axes[-1].xaxis.set_major_locator(MaxNLocator(integer=True))
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    pyplot.close(figure)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=int, default=30, help="how long to soak (5 for a quick check)")
    parser.add_argument("--rate", type=float, help="messages per second (default: 60 %% of the saturation rate)")
    parser.add_argument("--saturation", type=float, metavar="S",
                        help="the bot's saturation rate in msg/s, if known: saves the 30-s saturation run")
    parser.add_argument("--users", type=int, default=5000, help="users new questions come from")
    parser.add_argument("--returning", type=int, default=300, help="returning users who follow up on their chats")
    parser.add_argument("--returning-share", type=float, default=0.3, help="share of messages from returning users")
    parser.add_argument("--forget-share", type=float, default=0.01, help="share of messages that are /forget")
    parser.add_argument("--reload-every", type=float, default=5, help="minutes between two /reload (0: none)")
    parser.add_argument("--launcher", choices=sorted(LAUNCHERS), default="polling")
    parser.add_argument("--send-rate", type=float, default=1000, help="the bot's outgoing pace (flood.max_per_second)")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="extra environment of the bot (repeatable)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results",
                        help="folder of the CSV and the chart")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.minutes < 1:
        parser.error("--minutes must be at least 1")
    if any(value is not None and not value > 0 for value in (args.rate, args.saturation)):
        parser.error("--rate and --saturation must be positive")
    if not 0 <= args.forget_share + args.returning_share <= 1:
        parser.error("--forget-share and --returning-share must add up to between 0 and 1")
    return args


def soak_rate(args: argparse.Namespace, run: Run) -> float:
    """--rate; else 60 % of --saturation; else 60 % of what a saturation run achieves now."""
    if args.rate:
        return args.rate
    if args.saturation:
        return SHARE_OF_SATURATION * args.saturation
    print(f"measuring the saturation rate ({SATURATION_SECONDS} s)", flush=True)
    result = measured(run, lambda: saturation_run(run, SATURATION_USERS, SATURATION_SECONDS))
    print_run(result)
    if not result.saturation:
        sys.exit("the saturation run got no reply in time: is the bot answering?")
    return SHARE_OF_SATURATION * result.saturation


def main() -> None:
    args = parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a plain `kill` still stops the bot
    work = Path(tempfile.mkdtemp(prefix="soak-bot-"))
    rng = random.Random(args.seed)
    extra = {"ACCESS__ADMINS": f"[{ADMIN}]", **dict(item.split("=", 1) for item in args.env)}
    try:
        with started_bot(args.launcher, work, args.send_rate, extra) as under:
            run = Run.on(under, new_questions(args.seed).__next__, rng)
            print_if(late_line(warm_up(run)))
            plan = Plan(args.minutes, soak_rate(args, run), args.users, args.returning, args.returning_share,
                        args.forget_share, args.reload_every)
            title = f"soak {plan.minutes} min, {args.launcher}, {plan.rate:.1f} msg/s"
            print(f"{title}: pids {under.bot.pids}; new questions from {plan.users} users, {plan.returning} returning "
                  f"users ({plan.returning_share:.0%} of messages), /forget {plan.forget_share:.0%}, /reload every "
                  f"{plan.reload_every:g} min by user {ADMIN}; resources added up over the bot processes", flush=True)
            print(table_header(), flush=True)
            soaked = soak(run, plan, lambda row: print(table_line(row), flush=True))
        report_end(soaked, title, plan.rate, args.out / f"soak-{plan.minutes}min")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def report_end(soaked: Soaked, title: str, rate: float, stem: Path) -> None:
    """The totals, the /reloads and the trends; the CSV and the chart as `stem`.csv and .png."""
    driver = soaked.driver
    print(f"total: {driver.sent} messages ({', '.join(f'{n} {kind}' for kind, n in soaked.kinds.items())}), "
          f"{len(driver.latencies)} answered, p50 {percentile(driver.latencies, .5) * 1000:.0f} ms, "
          f"p95 {percentile(driver.latencies, .95) * 1000:.0f} ms, errors {driver.errors}", flush=True)
    print_if(late_line(soaked.late))
    print_reloads(soaked.reloads)
    print_trends(soaked.rows)
    stem.parent.mkdir(parents=True, exist_ok=True)
    write_csv(soaked.rows, stem.with_suffix(".csv"))
    write_chart(soaked.rows, title, rate, stem.with_suffix(".png"))
    print(f"wrote {stem}.csv and {stem}.png", flush=True)


if __name__ == "__main__":
    main()
