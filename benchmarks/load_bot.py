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

The bot is started by a launcher (LAUNCHERS, --launcher): a function that starts the bot process(es) against the
fake server and returns their pids, how to deliver an update and how to stop them: `polling` (one process) or
`workers` (two webhook workers sharing Redis and PostgreSQL, the script playing the proxy).
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import itertools
import json
import math
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from advisor.evaluation import load_cases
from fake_telegram import FakeTelegram, stop_process

REPLY_TIMEOUT = 30.0
APOLOGY = ("Извините, что-то пошло не так", "Кешіріңіз, бірдеңе дұрыс болмады")
STATS_DIR_VARIABLE = "LOAD_BOT_STATS_DIR"  # where an instrumented bot process writes its counters
STATS_EVERY = 0.5  # seconds between two writes of the counters

SendText = Callable[[int, str, str], None]  # user id, text, language code
NextQuestion = Callable[[], str]


def percentile(values: list[float], share: float) -> float:
    """The value below which `share` of the values lie (nearest rank); NaN for none."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


# --- questions ------------------------------------------------------------------------------------------------------

def eval_questions() -> list[str]:
    """The 240 evaluation questions."""
    return [c.q for c in load_cases(ROOT / "tests" / "eval" / "questions.yaml")]


def repeating_questions(questions: list[str], rng: random.Random) -> NextQuestion:
    """Questions drawn at random from a fixed set: after a while most are answered from the query cache."""
    return lambda: rng.choice(questions)


# Short, as people type in a chat: the encoder's cost grows with a question's length.
RU_TEMPLATES = (
    "хочу стать {profession}, где учиться",
    "{profession} после {grade} куда поступать",
    "на кого учиться на {profession}",
    "колледж в {city} на {speciality}",
    "сколько учиться на {speciality}",
    "нравится {interest}, кем стать",
    "люблю {subject}, какую профессию выбрать",
    "бесплатно на {speciality} в {city}?",
    "я из {city}, хочу {keyword}",
    "{keyword} куда идти после {grade}",
)
KK_TEMPLATES = (
    "{profession} болғым келеді, қайда оқимын",
    "{grade} сыныптан кейін {speciality} бола ма",
    "маған {interest} ұнайды, кім болам",
    "{city} {speciality} колледж бар ма",
    "{subject} ұнайды, қандай мамандық",
    "{keyword} қызық, қайда барамын",
)
FILLERS_RU = ("пожалуйста", "срочно", "хз", "короче", "ну", "помогите")
FILLERS_KK = ("өтінемін", "көмектесіңіз", "рахмет", "жалпы")


@dataclass
class Vocabulary:
    """Words to build questions from, in Russian and Kazakh."""

    professions: tuple[list[str], list[str]]
    specialities: tuple[list[str], list[str]]
    keywords: tuple[list[str], list[str]]
    interests: tuple[list[str], list[str]]
    subjects: tuple[list[str], list[str]]
    cities: list[str]


def vocabulary() -> Vocabulary:
    """Names, keywords and places from the knowledge base, with the schema's interest and subject labels."""
    from knowledge.loader import load_knowledge
    from knowledge.vocabulary import LABELS

    kb = load_knowledge(ROOT / "knowledge" / "data")
    # Official names run to a dozen words; people type short ones, and the encoder's cost grows with the length.

    def short(names: Iterator[str]) -> list[str]:
        return [n.lower() for n in names if n and len(n.split()) <= 3]

    professions = (short(p.name_ru for p in kb.professions), short(p.name_kk for p in kb.professions))
    specialities = (short(s.name_ru for s in kb.specialities), short(s.name_kk for s in kb.specialities))
    records = [*kb.professions, *kb.specialities]
    keywords = ([k for r in records for k in r.keywords_ru], [k for r in records for k in r.keywords_kk])
    interests = {i for s in kb.specialities for i in s.interests}
    subjects = {i for s in kb.specialities for i in s.subjects}

    def labelled(values: set[Any], lang: int) -> list[str]:
        names = (str(getattr(v, "value", v)) for v in values)  # enum members or plain strings
        return sorted(LABELS[n][lang] for n in names if n in LABELS)

    cities = sorted({c.city for c in kb.colleges if c.city} | set(kb.regions()))
    return Vocabulary(professions, specialities, keywords, (labelled(interests, 0), labelled(interests, 1)),
                      (labelled(subjects, 0), labelled(subjects, 1)), cities)


def typo(text: str, rng: random.Random) -> str:
    """One keyboard slip in a word of four letters or more: two letters swapped, one dropped or doubled."""
    words = text.split()
    long_words = [i for i, w in enumerate(words) if len(w) >= 4 and w.isalpha()]
    if not long_words:
        return text
    i = rng.choice(long_words)
    word, at = words[i], rng.randrange(1, len(words[i]) - 1)
    kind = rng.randrange(3)
    if kind == 0:
        word = word[:at] + word[at + 1] + word[at] + word[at + 2:]
    elif kind == 1:
        word = word[:at] + word[at + 1:]
    else:
        word = word[:at] + word[at] + word[at:]
    words[i] = word
    return " ".join(words)


def reordered(text: str, rng: random.Random) -> str:
    """Two words swapped: the same question typed in another order."""
    words = text.split()
    if len(words) < 3:
        return text
    i, j = rng.sample(range(len(words)), 2)
    words[i], words[j] = words[j], words[i]
    return " ".join(words)


def templated(vocab: Vocabulary, rng: random.Random) -> tuple[str, str]:
    """A question from a template filled with knowledge-base words, and its language."""
    lang = rng.choice((0, 0, 1))  # two Russian questions for one Kazakh, roughly as users write
    template = rng.choice(KK_TEMPLATES if lang else RU_TEMPLATES)

    def pick(pair: tuple[list[str], list[str]]) -> str:
        return rng.choice(pair[lang] or pair[0])  # a Russian word where the Kazakh list is empty

    text = template.format(profession=pick(vocab.professions), speciality=pick(vocab.specialities),
                           keyword=pick(vocab.keywords), interest=pick(vocab.interests),
                           subject=pick(vocab.subjects), city=rng.choice(vocab.cities), grade=rng.choice((9, 11)))
    if rng.random() < 0.2:
        text = f"{text} {rng.choice(FILLERS_KK if lang else FILLERS_RU)}"
    return text, ("kk" if lang else "ru")


def varied(question: str, vocab: Vocabulary, rng: random.Random) -> str:
    """An evaluation question changed as another person would ask it: a place, a grade, a slip, another order."""
    kazakh = bool(re.search("[әіңғүұқөһ]", question.lower()))
    extras = (["мен {city} қаласынанмын", "{grade} сыныптан кейін"] if kazakh else
              ["я из {city}", "после {grade} класса", "живу в {city}", "в {city} есть?", "закончу {grade}"])
    text = question
    for change in rng.sample(("extra", "typo", "order", "case"), rng.randint(1, 2)):
        if change == "extra":
            text = f"{text} {rng.choice(extras).format(city=rng.choice(vocab.cities), grade=rng.choice((9, 11)))}"
        elif change == "typo":
            text = typo(text, rng)
        elif change == "order":
            text = reordered(text, rng)
        else:
            text = text.capitalize() if text[:1].islower() else text.lower()
    return text


def new_questions(seed: int = 1) -> Iterator[str]:
    """Endless questions, never the same text twice: half templated, half changed evaluation questions."""
    rng = random.Random(seed)
    vocab = vocabulary()
    base = eval_questions()
    seen: set[str] = set(base)  # the evaluation questions themselves are not new
    while True:
        for _ in range(100):
            text = templated(vocab, rng)[0] if rng.random() < 0.5 else varied(rng.choice(base), vocab, rng)
            text = " ".join(text.split())
            if text not in seen:
                break
        else:  # a hundred collisions in a row: make one unique rather than loop forever
            text = f"{text} ({len(seen)})"
        seen.add(text)
        yield text


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


Launcher = Callable[[FakeTelegram, dict[str, str]], RunningBot]


def instrumented_bot_command() -> list[str]:
    """The command that runs the bot with the load test's counters (see serve_instrumented)."""
    return [sys.executable, str(Path(__file__).resolve()), "--serve-instrumented"]


def launch_polling_bot(server: FakeTelegram, env: dict[str, str]) -> RunningBot:
    """One bot process in polling mode, fed by the fake server's getUpdates."""
    process = subprocess.Popen(instrumented_bot_command(), env=env, cwd=ROOT)
    try:
        server.wait_for(lambda s: s.method == "deleteWebhook", timeout=300)
    except BaseException:
        stop_process(process)
        raise
    return RunningBot([process.pid], [], server.send_text, lambda: stop_process(process))


def launch_two_workers(server: FakeTelegram, env: dict[str, str]) -> RunningBot:
    """Two webhook workers on real Redis and PostgreSQL (benchmarks/workers_launcher.py), updates round robin."""
    from workers_launcher import launch_webhook_workers

    return RunningBot(*launch_webhook_workers(server, env, instrumented_bot_command(), count=2))


LAUNCHERS: dict[str, Launcher] = {"polling": launch_polling_bot, "workers": launch_two_workers}


# --- counters inside the bot process ------------------------------------------------------------------------------

def serve_instrumented() -> int:
    """Run the bot (app.cli) while counting query-cache reuse and encoder batches into LOAD_BOT_STATS_DIR.

    A dense search is a query-cache hit when its query's vector was computed for an earlier question: whichever of
    the caches above the encoder served it (retriever results or VectorIndex vectors). Searches repeated within one
    question are not hits. Patches only this process, at start, before anything is built.
    """
    from advisor.advisor import Advisor
    from app.cli import main as cli_main
    from embeddings.index import VectorIndex
    from embeddings.retriever import HybridRetriever

    counters = _Counters()
    for name in ("converse", "ask", "more_suggestions"):
        if hasattr(Advisor, name):
            setattr(Advisor, name, counters.question(getattr(Advisor, name)))
    original_retriever_init = HybridRetriever.__init__
    original_index_init = VectorIndex.__init__

    def retriever_init(self: Any, *args: Any, **kwargs: Any) -> None:
        original_retriever_init(self, *args, **kwargs)
        self._dense_all = counters.dense_lookup(self._dense_all)

    def index_init(self: Any, *args: Any, **kwargs: Any) -> None:
        original_index_init(self, *args, **kwargs)
        counters.indexes.append(self)

    HybridRetriever.__init__ = retriever_init  # type: ignore[method-assign]
    VectorIndex.__init__ = index_init  # type: ignore[method-assign]
    directory = Path(os.environ[STATS_DIR_VARIABLE])
    stop = threading.Event()
    writer = threading.Thread(target=counters.write_every, args=(directory / f"{os.getpid()}.json", stop),
                              daemon=True)
    writer.start()
    try:
        return cli_main([])
    finally:
        stop.set()
        writer.join(5)


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
            info = index._embed_cached.cache_info()
            embed_hits, embed_misses = embed_hits + info.hits, embed_misses + info.misses
            stats = getattr(index.embeddings, "stats", None)
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


# --- driving users ------------------------------------------------------------------------------------------------

class Driver:
    """Sends questions as users and matches each reply to the question that caused it."""

    def __init__(self, server: FakeTelegram, send_text: SendText, next_question: NextQuestion, rng: random.Random):
        self.server = server
        self.send_text = send_text
        self.next_question = next_question
        self.rng = rng
        self.cursor = server.mark()
        self.pending: dict[int, float] = {}  # user -> time the question was pushed
        self.owed: dict[int, int] = {}  # user -> questions not replied to yet, timed out ones too
        self.latencies: list[float] = []
        self.timeline: list[tuple[float, float]] = []  # (time sent, latency)
        self.started = time.monotonic()
        self.errors = 0
        self.sent = 0
        self._last_timeout_check = time.monotonic()

    def send(self, user: int) -> None:
        """The user sends the next question."""
        self.send_text(user, self.next_question(), self.rng.choice(("ru", "kk")))
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

    def settle(self, quiet: float = REPLY_TIMEOUT) -> None:
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
        if time.monotonic() - started > 1 or owed:
            print(f"  after the run the bot still had replies due: waited {time.monotonic() - started:.0f} s"
                  + (f", {owed} never came" if owed else ""), flush=True)


@dataclass
class Run:
    """What the runs share: the fake server, the bot, the questions and where the bot's counters are."""

    server: FakeTelegram
    bot: RunningBot
    next_question: NextQuestion
    counters: Path
    rng: random.Random = field(default_factory=lambda: random.Random(7))

    def driver(self) -> Driver:
        return Driver(self.server, self.bot.send_text, self.next_question, self.rng)


def warm_up(run: Run, rate: float = 10, seconds: float = 10) -> None:
    """Questions at a modest rate for a while, not measured: the runs then measure a bot that has answered before."""
    driver = run.driver()
    users = itertools.count(90_000)
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        driver.send(next(users))
        time.sleep(1 / rate)
        driver.collect()
    driver.drain()
    driver.settle()


def realistic_run(run: Run, users: int, per_user: int) -> None:
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
    report("realistic", driver, took, peak)
    driver.settle()


def rate_run(run: Run, rate: float, seconds: float, users: int) -> None:
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
    report(f"rate {rate:g}/s", driver, time.monotonic() - started, driver.sent / sending)
    if overloaded:
        print(f"  overloaded: stopped sending after {sending:.0f} s, with over {rate * 10:.0f} questions waiting",
              flush=True)
    driver.settle()


def saturation_run(run: Run, users: int, seconds: float) -> None:
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
    took = time.monotonic() - started
    report("saturation", driver, took, driver.sent / seconds)
    print(f"  saturation rate: {answered_in_time / seconds:.1f} msg/s answered during the {seconds:g} s of sending",
          flush=True)
    driver.settle()


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
        return float("nan"), float("nan"), float("nan")
    own = os.times()
    return machine, bot, own.user + own.system


def measured(run: Run, action: Callable[[], None]) -> None:
    """Do one run; print what the bot's query cache and encoder did, and who used the CPU, meanwhile."""
    time.sleep(STATS_EVERY * 2.5)  # the bot writes its counters every STATS_EVERY seconds: let them settle
    before, cpu_before, started = read_counters(run.counters), cpu_seconds(run.bot.pids), time.monotonic()
    action()
    cpu_after, took = cpu_seconds(run.bot.pids), time.monotonic() - started
    time.sleep(STATS_EVERY * 2.5)
    print(counters_line(before, read_counters(run.counters)), flush=True)
    machine, bot, own = ((after - before) / took for after, before in zip(cpu_after, cpu_before))
    # Other engineers' tests on the same cores make figures worse: this says how much they took.
    print(f"  CPU, in cores of {os.cpu_count()}: bot {bot:.2f}, load script and fake server {own:.2f}, "
          f"other processes {max(0.0, machine - bot - own):.2f}", flush=True)


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
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--serve-instrumented", action="store_true", help=argparse.SUPPRESS)
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
    return args


def main() -> None:
    args = parse_args()
    if args.serve_instrumented:
        sys.exit(serve_instrumented())
    rng = random.Random(args.seed)
    if args.new_questions:
        next_question: NextQuestion = new_questions(args.seed).__next__
    else:
        next_question = repeating_questions(eval_questions(), rng)
    work = Path(tempfile.mkdtemp(prefix="load-bot-"))
    (work / "counters").mkdir()
    server = (FakeTelegram() if args.stock_fake_server else PromptFakeTelegram()).start()
    env = {**os.environ, "BOT_TOKEN": "123456:LOAD", "TELEGRAM__API_BASE": server.base_url,
           "STORAGE__PATH": str(work / "bot.sqlite3"), "THROTTLE__MESSAGES": "1000", "LOG_LEVEL": "WARNING",
           "FLOOD__MAX_PER_SECOND": str(args.send_rate), "MONITORING__ENABLED": "false",
           STATS_DIR_VARIABLE: str(work / "counters"),
           **dict(item.split("=", 1) for item in args.env)}
    bot = LAUNCHERS[args.launcher](server, env)
    print(f"bot: {args.launcher}, pids {bot.pids}; questions: {'all new' if args.new_questions else 'evaluation set'}; "
          f"fake server: {'stock, 50-ms steps' if args.stock_fake_server else 'prompt'}; "
          f"extra environment: {' '.join(args.env) or 'none'}", flush=True)
    run = Run(server, bot, next_question, work / "counters", rng)
    try:
        warm_up(run)
        for name in args.runs:
            if name == "realistic":
                measured(run, lambda: realistic_run(run, args.users, args.per_user))
            elif name == "rate":
                for rate in args.rate:
                    measured(run, lambda rate=rate: rate_run(run, rate, args.rate_seconds, args.rate_users))
            else:
                measured(run, lambda: saturation_run(run, args.saturation_users, args.saturation_seconds))
    finally:
        bot.stop()
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
