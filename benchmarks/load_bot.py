"""Load test of the real bot through the local fake Bot API server (not a test): `python benchmarks/load_bot.py`.

Runs, chosen with --runs (default: realistic, then saturation; with --rate: rate, then saturation):

- realistic: USERS users, each sending PER_USER questions with a random 10–30 s pause after each reply (starts
  spread over the first 20 s): about 50 messages/s offered at peak.
- rate: messages at a fixed rate (--rate, e.g. 30: Telegram's outward cap for one bot) as Poisson arrivals for
  --rate-seconds, from a pool of users, each with at most one question waiting; once per rate given.
- saturation: SATURATION_USERS users, each sending its next question as soon as the reply comes back; what it
  achieves is the saturation rate.

Questions come from the 240 evaluation questions, so most of them are answered from the query cache after the first
minute; with --new-questions every message is a question the bot has not seen (variants built from the knowledge
base and the evaluation questions: professions, specialities, interests, cities, grades, phrasings, typos, word
order), and the bot process counts how often a dense search was served by a vector computed for an earlier question.

Prints offered and achieved messages per second, p50/p95/p99 time from update to reply, errors, and the bot's query
cache and encoder batches. Everything runs on 127.0.0.1; each run stops by itself.

The bot is started by a launcher (--launcher): `polling` (one process) or `workers` (two webhook workers sharing
Redis and PostgreSQL, the script playing the proxy); see load_launchers.py.

With --baseline REF a second bot runs from a temporary git worktree of REF (with a copy of var/: the search index
and caches), on the same machine with its own fake server; each run goes to one bot at a time, in the order
current, baseline, baseline, current, … (--repeat pairs), so drift hits both alike. A side-by-side table ends it,
with the bot's CPU per question counted in encodes of one question by the same model in this process.
"""

from __future__ import annotations

import argparse
import itertools
import math
import random
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from load_harness import (
    EncodeTiming,
    Run,
    RunResult,
    measured,
    one_encode,
    rate_run,
    realistic_run,
    saturation_run,
    warm_up,
)
from load_launchers import LAUNCHERS, BotUnderLoad, serve_instrumented, started_bot
from load_questions import NextQuestion, eval_questions, new_questions, repeating_questions
from load_report import late_line, print_comparison, print_if, print_run

PlannedRun = tuple[str, Callable[[Run], RunResult]]  # a run's name, and how to do it on a bot
ENCODED_QUESTIONS = 33  # questions encoded alone to time one encode: 3 to warm up, 30 timed


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", help="comma-separated: realistic, rate, saturation (default: realistic,saturation; "
                                       "rate,saturation when --rate is given)")
    parser.add_argument("--new-questions", action="store_true",
                        help="every message a question the bot has not seen, so the query cache cannot help")
    parser.add_argument("--rate", type=float, nargs="+", default=[],
                        help="messages per second of the rate run(s), e.g. 30 (Telegram's outward cap per bot) 100")
    parser.add_argument("--rate-seconds", type=float, default=60)
    parser.add_argument("--rate-users", type=int, default=2000, help="users the rate run's messages come from")
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--per-user", type=int, default=5)
    parser.add_argument("--saturation-users", type=int, default=200)
    parser.add_argument("--saturation-seconds", type=float, default=60)
    parser.add_argument("--send-rate", type=float, default=1000,
                        help="the bot's outgoing pace (flood.max_per_second); the default measures the bot itself, "
                             "25 is what it allows itself against Telegram")
    parser.add_argument("--launcher", choices=sorted(LAUNCHERS), default="polling")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="extra environment of the bot, e.g. EMBEDDINGS__BATCH_WINDOW_MS=0 (repeatable)")
    parser.add_argument("--stock-fake-server", action="store_true",
                        help="the tests' fake Bot API, which hands updates out in 50-ms steps (as figures before "
                             "this option were measured)")
    parser.add_argument("--baseline", metavar="REF",
                        help="also run the bot of this commit (e.g. HEAD~3), alternating with the current one, and "
                             "print both side by side")
    parser.add_argument("--repeat", type=int, default=2,
                        help="with --baseline: pairs of each run (current then baseline, then the other way round)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--serve-instrumented", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)  # the checkout a bot runs from
    args = parser.parse_args()
    runs = args.runs or ("rate,saturation" if args.rate else "realistic,saturation")
    args.runs = [r.strip() for r in runs.split(",") if r.strip()]
    unknown = set(args.runs) - {"realistic", "rate", "saturation"}
    if unknown:
        parser.error(f"unknown run(s): {', '.join(sorted(unknown))}")
    if "rate" in args.runs and not args.rate:
        parser.error("the rate run needs --rate")
    if any(rate <= 0 or math.isnan(rate) for rate in args.rate):
        parser.error("--rate must be positive")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    return args


def planned_runs(args: argparse.Namespace) -> list[PlannedRun]:
    """The runs asked for, in order, one per rate for the rate run."""
    plan: list[PlannedRun] = []
    for name in args.runs:
        if name == "realistic":
            plan.append(("realistic", lambda run: realistic_run(run, args.users, args.per_user)))
        elif name == "rate":
            plan += [(f"rate {rate:g}/s", lambda run, rate=rate: rate_run(run, rate, args.rate_seconds,
                                                                          args.rate_users)) for rate in args.rate]
        else:
            plan.append(("saturation", lambda run: saturation_run(run, args.saturation_users,
                                                                  args.saturation_seconds)))
    return plan


def questions(args: argparse.Namespace, rng: random.Random) -> NextQuestion:
    """Where the runs' questions come from: all new ones, or the evaluation set drawn with `rng`."""
    if args.new_questions:
        return new_questions(args.seed).__next__
    return repeating_questions(eval_questions(), rng)


def extra_env(args: argparse.Namespace) -> dict[str, str]:
    """The --env settings as a mapping."""
    return dict(item.split("=", 1) for item in args.env)


def describe(args: argparse.Namespace, label: str, under: BotUnderLoad) -> str:
    """The line that says which bot runs how."""
    return (f"{label}: {args.launcher}, pids {under.bot.pids}; "
            f"questions: {'all new' if args.new_questions else 'evaluation set'}; "
            f"fake server: {'stock, 50-ms steps' if args.stock_fake_server else 'prompt'}; "
            f"extra environment: {' '.join(args.env) or 'none'}")


def measure(args: argparse.Namespace, work: Path) -> None:
    """The runs asked for on the current bot."""
    rng = random.Random(args.seed)
    with started_bot(args.launcher, work, args.send_rate, extra_env(args),
                     stock_server=args.stock_fake_server) as under:
        print(describe(args, "bot", under), flush=True)
        run = Run.on(under, questions(args, rng), rng)
        print_if(late_line(warm_up(run)))
        for _, action in planned_runs(args):
            print_run(measured(run, lambda action=action: action(run)))


def git(*args: str) -> str:
    """A git command in this checkout; its output, stripped."""
    return subprocess.run(["git", "-C", str(ROOT), *args], check=True, capture_output=True, text=True).stdout.strip()


@contextmanager
def baseline_checkout(ref: str, path: Path) -> Iterator[Path]:
    """A detached worktree of `ref` at `path`, with copies of var/'s folders (index, caches); removed at exit."""
    git("worktree", "add", "--detach", str(path), ref)
    try:
        # The baseline would rebuild a missing index at start, slowly; a copy is only reindexed where it differs.
        # Folders only (index, caches): the files beside them are the bot's own database.
        for folder in (ROOT / "var").iterdir() if (ROOT / "var").is_dir() else ():
            if folder.is_dir():
                shutil.copytree(folder, path / "var" / folder.name)
        yield path
    finally:
        try:
            git("worktree", "remove", "--force", str(path))
        except subprocess.CalledProcessError:  # half made or already gone: take the folder and forget the entry
            shutil.rmtree(path, ignore_errors=True)
            git("worktree", "prune")


def compare(args: argparse.Namespace, work: Path) -> None:
    """The runs asked for on the current bot and the baseline's, alternating, then both side by side."""
    labels = ("current", f"{args.baseline} ({git('rev-parse', '--short', args.baseline)})")
    with ExitStack() as stack:
        checkout = stack.enter_context(baseline_checkout(args.baseline, work / "baseline-checkout"))
        runs: dict[str, Run] = {}
        for label, root, folder in ((labels[0], ROOT, "current"), (labels[1], checkout, "baseline")):
            under = stack.enter_context(started_bot(args.launcher, work / folder, args.send_rate, extra_env(args),
                                                    root=root, stock_server=args.stock_fake_server))
            print(describe(args, f"{label} bot, from {root}", under), flush=True)
            rng = random.Random(args.seed)  # each bot gets the same questions in the same order
            runs[label] = Run.on(under, questions(args, rng), rng)
        for label, run in runs.items():
            print(f"warming up the {label} bot", flush=True)
            print_if(late_line(warm_up(run)))
        plan = planned_runs(args)
        results: dict[str, dict[str, list[RunResult]]] = {label: {} for label in labels}
        for name, action in plan:
            for repeat in range(args.repeat):
                for label in labels if repeat % 2 == 0 else labels[::-1]:  # A B B A: drift hits both alike
                    print(f"--- {name} on the {label} bot ({repeat + 1} of {args.repeat})", flush=True)
                    run = runs[label]
                    idle = [pid for other, bot in runs.items() if other != label for pid in bot.bot.pids]
                    result = measured(run, lambda action=action, run=run: action(run), idle)
                    print_run(result)
                    results[label].setdefault(name, []).append(result)
        encode = timed_encode(args.seed)
        print_comparison([name for name, _ in plan], results[labels[0]], results[labels[1]], labels, encode)


def timed_encode(seed: int) -> EncodeTiming | None:
    """One encode of a new question in this process, while both bots idle; None when the model cannot load."""
    print("timing one encode in the load script", flush=True)
    try:
        return one_encode(list(itertools.islice(new_questions(seed + 1), ENCODED_QUESTIONS)))
    except Exception as exc:  # noqa: BLE001  # the comparison stands without it
        print(f"  one encode not timed: {exc}", flush=True)
        return None


def main() -> None:
    args = parse_args()
    if args.serve_instrumented:
        sys.exit(serve_instrumented(args.root.resolve()))
    # A plain `kill` must still stop the bots and remove the worktree: exit through the finally blocks.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    work = Path(tempfile.mkdtemp(prefix="load-bot-"))
    try:
        (compare if args.baseline else measure)(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
