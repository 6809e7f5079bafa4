"""Factories: the one place that builds settings, knowledge, index and advisor."""

from __future__ import annotations

import asyncio
import ctypes
import hashlib
import logging
import os
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from functools import partial

import numpy as np
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder
from aiogram.fsm.storage.redis import RedisStorage
from langchain_core.embeddings import Embeddings
from aiohttp import web
from pydantic import BaseModel
from redis.asyncio import Redis

from advisor.advisor import Advisor
from advisor.dialogue import EXPIRES_SECONDS
from advisor.fields import FieldModel, field_texts
from advisor.intents import IntentModel
from app.config import Settings, load_settings
from bot.app import build_bot, build_dispatcher, register_commands
from bot.monitoring import Health, Metrics
from bot.runner import (
    BotApiUnreachable,
    Runtime,
    run_polling,
    run_webhook,
    start_monitoring,
    stop_on_signals,
    wait_for_bot_api,
)
from bot.texts import build_i18n
from embeddings.batching import BatchingEmbeddings, query_encoder
from embeddings.documents import build_documents
from embeddings.index import IndexHome, IndexUnavailable, Progress, ReindexReport, VectorIndex
from embeddings.model import load_embeddings, model_name
from embeddings.retriever import HybridRetriever
from embeddings.vector_cache import cached_vectors
from knowledge.intents import Corpus, load_corpus
from knowledge.loader import KnowledgeBase, KnowledgeError, load_knowledge
from storage.base import UserStore
from storage.console import ConsoleStore, SqliteConsoleStore
from storage.fsm import SqliteStorage
from storage.limits import LocalRateLimiter, RateLimiter
from storage.postgres import PostgresConsoleStore, PostgresStore
from storage.resilient import ResilientFsmStorage, ResilientLimiter, ResilientStore
from storage.shared import Cluster, RedisRateLimiter, WorkerReport
from storage.sqlite import Store
from web.console import Console, ReloadKnowledge, ReloadOutcome
from web.server import CannotServeConsole, start_console

log = logging.getLogger(__name__)
M_ARENA_MAX = -8  # glibc's mallopt parameter number, from malloc.h
FLUSH_SECONDS = 1.0  # how often writes kept during a storage outage are tried again


class StartupLog:
    """One INFO line per start-up stage: what it found and how long it took; silent when `enabled` is False."""

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self.began = time.perf_counter()

    @contextmanager
    def stage(self, name: str) -> Iterator[Callable[[str], None]]:
        """Time a stage; the caller notes what it found through the callable it gets."""
        began, found = time.perf_counter(), []
        yield found.append
        if self.enabled:
            log.info("start: %s: %s (%.1f s)", name, "; ".join(found) or "done", time.perf_counter() - began)

    def ready(self, detail: str) -> None:
        if self.enabled:
            log.info("start: ready: %s (%.1f s in all)", detail, time.perf_counter() - self.began)


def build_settings() -> Settings:
    """Settings from config.yaml and the environment."""
    return load_settings()


def build_knowledge(settings: Settings) -> KnowledgeBase:
    """The validated knowledge base; raises KnowledgeError listing the problems when it has errors."""
    kb = load_knowledge(settings.resolve(settings.knowledge.path))
    if not kb.ok:
        raise KnowledgeError(f"the knowledge base has {kb.error_report()}")
    return kb


def build_embeddings(settings: Settings) -> Embeddings:
    """The configured embedding model, or the bundled offline one; concurrent questions batched unless turned off."""
    cfg = settings.embeddings
    model = load_embeddings(cfg.model, cfg.backend, cfg.query_prefix, cfg.passage_prefix)
    if cfg.batch_window_ms <= 0 or cfg.max_batch <= 1:
        return model
    return BatchingEmbeddings(model, cfg.batch_window_ms / 1000, cfg.max_batch)


def build_home(settings: Settings, embeddings: Embeddings) -> IndexHome:
    """The configured index folder; a long-running process makes one, reuses it and closes it at exit."""
    return IndexHome(settings.resolve(settings.embeddings.index_path), embeddings)


def build_index(kb: KnowledgeBase, home: IndexHome, progress: Progress | None = None
                ) -> tuple[VectorIndex, ReindexReport | None]:
    """The live index of `home`, brought up to date with the knowledge base; rebuilt when missing or damaged."""
    documents = build_documents(kb)
    try:
        index = home.current()
        if index.hashes == {d.id: d.hash for d in documents}:
            return index, None
    except IndexUnavailable as exc:  # the report of the rebuild says what was done; this is why
        log.debug("rebuilding the index: %s", exc)
    return home.reindex(documents, progress)


def build_retriever(settings: Settings, kb: KnowledgeBase, index: VectorIndex) -> HybridRetriever:
    """Hybrid BM25 + vector retrieval over the knowledge base."""
    cfg = settings.retrieval
    return HybridRetriever(build_documents(kb), index, cfg.rrf_k, cfg.dense_weight, cfg.sparse_weight)


def build_corpus(settings: Settings) -> Corpus:
    """The labelled corpus (train and dev); raises KnowledgeError listing its problems."""
    corpus = load_corpus(settings.resolve(settings.intents.corpus_path))
    if not corpus.ok:
        shown = "\n".join(f"- {p}" for p in corpus.problems[:20])
        raise KnowledgeError(f"the intent corpus has {len(corpus.problems)} problem(s):\n{shown}")
    return corpus


def question_vectors(settings: Settings, retriever: HybridRetriever, texts: list[str]) -> np.ndarray:
    """Each text's vector as the retriever embeds a question, batched and cached between starts."""
    embeddings = retriever.index.embeddings
    encode = query_encoder(getattr(embeddings, "inner", embeddings))  # batch whole lists, not one by one
    return cached_vectors([retriever.dense_text(t) for t in texts], encode,
                          settings.resolve(settings.intents.vector_cache), retriever.index.model)


def training_key(settings: BaseModel, model: str, rows: Iterable[Sequence[str]]) -> str:
    """What a model learns from, hashed: its settings, the embedding model and every (text, label) row."""
    digest = hashlib.sha256(f"{model}\n{settings.model_dump_json()}\n".encode())
    for row in rows:
        digest.update(("\x1f".join(row) + "\x1e").encode())
    return digest.hexdigest()


def build_intent_model(settings: Settings, retriever: HybridRetriever, corpus: Corpus | None = None,
                       previous: IntentModel | None = None) -> IntentModel:
    """The intent model, trained on the corpus's train and dev parts (dev chose its settings; it ships with both);
    `previous` is kept when it learnt from exactly the same (a /reload of the knowledge alone retrains nothing)."""
    corpus = corpus or build_corpus(settings)
    examples = corpus.examples("train") + corpus.examples("dev")
    key = training_key(settings.intents, retriever.index.model, ((e.text, *e.labels) for e in examples))
    if previous is not None and previous.trained_on == key:
        return previous
    return IntentModel.train(examples, question_vectors(settings, retriever, [e.text for e in examples]),
                             settings.intents, trained_on=key)


def build_field_model(settings: Settings, kb: KnowledgeBase, retriever: HybridRetriever,
                      corpus: Corpus | None = None, previous: FieldModel | None = None) -> FieldModel:
    """Which field an interest message points to, trained on the corpus's labelled suggest messages (train and
    dev, as the intent model) and the specialities' own names and keywords; `previous` is kept as above."""
    corpus = corpus or build_corpus(settings)
    texts, groups = field_texts(corpus.examples("train") + corpus.examples("dev"), kb)
    key = training_key(settings.fields, retriever.index.model, zip(texts, groups))
    if previous is not None and previous.trained_on == key:
        return previous
    return FieldModel.train(texts, groups, question_vectors(settings, retriever, texts), settings.fields,
                            trained_on=key)


def build_advisor(settings: Settings, home: IndexHome | None = None, startup: StartupLog | None = None) -> Advisor:
    """A ready advisor: knowledge loaded, index opened or built, retrieval and the intent model set up.

    A long-running process passes the home it keeps for reloads (and logs the start-up stages); without one, one
    is opened for the process.
    """
    parts = _answering_parts(settings, home or build_home(settings, build_embeddings(settings)), startup=startup)
    return Advisor(*parts.advisor_args, top_k=settings.retrieval.top_k, max_chars=settings.limits.max_question_chars)


@dataclass(frozen=True)
class _Parts:
    """Everything an advisor answers from, built together at start and at every reload."""

    kb: KnowledgeBase
    retriever: HybridRetriever
    intents: IntentModel
    fields: FieldModel
    report: ReindexReport | None

    @property
    def advisor_args(self) -> tuple[KnowledgeBase, HybridRetriever, IntentModel, FieldModel]:
        return self.kb, self.retriever, self.intents, self.fields


def _answering_parts(settings: Settings, home: IndexHome, progress: Progress | None = None,
                     startup: StartupLog | None = None, previous: Advisor | None = None) -> _Parts:
    """Knowledge and corpus validated first (a broken file changes nothing), then the index and the models (the
    `previous` advisor's models are kept when their training data did not change)."""
    startup = startup or StartupLog(enabled=False)
    with startup.stage("knowledge") as found:
        kb = build_knowledge(settings)
        corpus = build_corpus(settings)
        found(f"{settings.resolve(settings.knowledge.path)}: " + ", ".join(f"{kind} {n}" for kind, n in kb.counts().items()))
        found(f"labelled messages {len(corpus.examples('train')) + len(corpus.examples('dev'))}")
    with startup.stage("index") as found:
        index, report = build_index(kb, home, progress)
        found(f"{report}" if report else f"up to date, {index.count()} vectors")
    with startup.stage("intent model") as found:
        retriever = build_retriever(settings, kb, index)
        intents = build_intent_model(settings, retriever, corpus, previous and previous.intents)
        found(f"{len(intents.labels)} intents learnt")
    fields = build_field_model(settings, kb, retriever, corpus, previous and previous.fields)
    return _Parts(kb, retriever, intents, fields, report)


def reload_advisor(settings: Settings, advisor: Advisor, home: IndexHome,
                   progress: Progress | None = None) -> ReindexReport | None:
    """Validate the knowledge files, reindex aside, then swap the advisor to them; on errors keep the old ones.

    `home` is the one the advisor was built with, kept for the life of the process. Raises KnowledgeError
    (listing the problems) when the files do not validate.
    """
    parts = _answering_parts(settings, home, progress, previous=advisor)
    advisor.replace(*parts.advisor_args)
    return parts.report


def limit_malloc_arenas(arenas: int = 2) -> None:
    """Cap glibc's per-thread heaps before threads start: without it each reload's new Chroma threads leave the
    memory they used spread over fresh arenas, and the process grows by a few MiB per /reload."""
    try:
        ctypes.CDLL("libc.so.6").mallopt(M_ARENA_MAX, arenas)
    except (OSError, AttributeError):  # not glibc (macOS, musl): nothing to tune
        log.debug("mallopt is not available; malloc arenas left as they are")


def build_store(settings: Settings) -> Store:
    """The SQLite store of profiles, the question log, feedback and FSM state."""
    return Store.open(settings.resolve(settings.storage.path))


def build_user_store(settings: Settings) -> UserStore:
    """The users' database of this configuration, for commands that run beside the bot: SQLite or PostgreSQL."""
    if settings.scale.mode == "workers" and settings.database_url is not None:
        return PostgresStore.open(settings.database_url.get_secret_value())
    return build_store(settings)


@dataclass
class SharedState:
    """Where users, FSM state, conversations and throttling live: one SQLite file, or Redis and PostgreSQL."""

    store: UserStore
    fsm_storage: BaseStorage
    limiter: RateLimiter
    cluster: Cluster | None = None
    redis: Redis | None = None
    _flushing: asyncio.Task[None] | None = field(default=None, repr=False)

    def keep_flushing(self) -> None:
        """Write what a storage outage kept back, every FLUSH_SECONDS, until closed (workers mode only)."""
        if isinstance(self.store, ResilientStore) and isinstance(self.fsm_storage, ResilientFsmStorage):
            self._flushing = asyncio.create_task(_flush_forever(self.store, self.fsm_storage))

    async def close(self) -> None:
        """Leave the cluster, then close the stores (writing what an outage kept back, if they are back)."""
        if self._flushing is not None:
            self._flushing.cancel()
            with suppress(asyncio.CancelledError):
                await self._flushing
        if self.cluster is not None:
            await self.cluster.stop()
        await self.fsm_storage.close()
        self.store.close()
        if self.redis is not None:
            await self.redis.aclose()


async def _flush_forever(store: ResilientStore, fsm: ResilientFsmStorage) -> None:
    """Try the stores again every FLUSH_SECONDS; the user database in a thread, as its calls block."""
    while True:
        await asyncio.sleep(FLUSH_SECONDS)
        try:
            await asyncio.to_thread(store.flush)
            await fsm.flush()
        except Exception:  # a bug here must not stop the retries for good
            log.exception("writing back after a storage outage failed")


def build_shared_state(settings: Settings) -> SharedState:
    """One process keeps everything in its SQLite file; a worker shares Redis and PostgreSQL with the others."""
    throttle = settings.throttle
    if settings.scale.mode == "single":
        store = build_store(settings)
        return SharedState(store, SqliteStorage(store), LocalRateLimiter(throttle.messages, throttle.per_seconds))
    assert settings.redis_url and settings.database_url, "the settings check both in workers mode"
    redis = Redis.from_url(settings.redis_url.get_secret_value())
    # Quiz progress and conversations expire after a day of silence, like the conversation itself.
    fsm = RedisStorage(redis, key_builder=DefaultKeyBuilder(prefix="kolledzh:fsm", with_bot_id=True, with_destiny=True,
                                                            with_business_connection_id=True),
                       state_ttl=EXPIRES_SECONDS, data_ttl=EXPIRES_SECONDS)
    name = settings.scale.worker_name or f"{socket.gethostname()}-{os.getpid()}"
    # Wrapped so that an outage of either server costs memory and statistics for a while, never an answer.
    limiter = ResilientLimiter(RedisRateLimiter(redis, throttle.messages, throttle.per_seconds),
                               LocalRateLimiter(throttle.messages, throttle.per_seconds))
    return SharedState(ResilientStore(PostgresStore.open(settings.database_url.get_secret_value())),
                       ResilientFsmStorage(fsm), limiter,
                       Cluster(redis, name, settings.scale.reload_timeout, settings.scale.heartbeat_seconds), redis)


def knowledge_generation(kb: KnowledgeBase) -> str:
    """A short fingerprint of the knowledge's content: workers with the same files report the same one."""
    digest = hashlib.sha256()
    for document in sorted(build_documents(kb), key=lambda d: d.id):
        digest.update(f"{document.id}:{document.hash}\n".encode())
    return digest.hexdigest()[:10]


@dataclass
class Reloader:
    """This process's reload (bot.reloading.KnowledgeReloader): one at a time, whether /reload or the console
    asked, since two reindexes into one index folder would trip over each other."""

    settings: Settings
    advisor: Advisor
    home: IndexHome
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, progress: Progress | None = None) -> str:
        """Validate, reindex and swap; returns what the reindex did. Raises KnowledgeError naming the problems."""
        with self.lock:
            return str(reload_advisor(self.settings, self.advisor, self.home, progress) or "index already up to date")


def reload_here(reloader: Reloader, metrics: Metrics, name: str
                ) -> Callable[[Progress | None], Awaitable[WorkerReport]]:
    """What a process does on a reload from any worker or the console: validate, reindex and swap, then report."""
    async def reload(progress: Progress | None = None) -> WorkerReport:
        try:
            ok, detail = True, await asyncio.to_thread(reloader, progress)
            metrics.generation.inc()
        except KnowledgeError as exc:
            ok, detail = False, str(exc)
        except Exception:  # the old knowledge keeps serving; the details go to this worker's log
            log.exception("reload failed")
            ok, detail = False, "error: see the worker's log"
        return WorkerReport(name, ok, knowledge_generation(reloader.advisor.kb), detail)
    return reload


def console_reload(here: Callable[[Progress | None], Awaitable[WorkerReport]], cluster: Cluster | None
                   ) -> ReloadKnowledge:
    """The console's reload: this process alone, or every worker of the cluster, each reporting."""
    async def reload(progress: Progress) -> ReloadOutcome:
        if cluster is None:
            return ReloadOutcome([await here(progress)], 1)
        reports, expected = await cluster.reload_everywhere()
        missing = sorted(set(await cluster.live_workers()) - {r.worker for r in reports}) if len(reports) < expected \
            else []
        return ReloadOutcome(reports, expected, cluster.reload_timeout, missing)
    return reload


def console_store(store: UserStore) -> ConsoleStore:
    """The console's tables where the users are: the SQLite file, or PostgreSQL itself (not through the outage
    queue: a console action either happens or says the database is away)."""
    inner = store.inner if isinstance(store, ResilientStore) else store
    if isinstance(inner, PostgresStore):
        return PostgresConsoleStore(inner)
    assert isinstance(inner, Store), "a user store is SQLite or PostgreSQL"
    return SqliteConsoleStore(inner.db)


def build_console(settings: Settings, advisor: Advisor, store: UserStore, reload: ReloadKnowledge) -> Console:
    """The web console's pages over this process's advisor and the users' store."""
    return Console(advisor, console_store(store), settings.resolve(settings.knowledge.path),
                   settings.resolve(settings.intents.corpus_path), reload, lambda: knowledge_generation(advisor.kb),
                   settings.web, settings.resolve(settings.web.uploads_path))


async def _serve_console(settings: Settings, advisor: Advisor, shared: SharedState,
                         here: Callable[[Progress | None], Awaitable[WorkerReport]]) -> web.AppRunner | None:
    """The console beside the bot when web.enabled; a taken port is logged, and the bot answers regardless."""
    if not settings.web.enabled:
        return None
    try:
        return await start_console(build_console(settings, advisor, shared.store, console_reload(here, shared.cluster)))
    except CannotServeConsole as exc:
        log.error("%s", exc)
        return None


async def serve_bot(settings: Settings) -> None:
    """Build everything, run the Telegram bot until SIGTERM or SIGINT, then close storage and index.

    Raises BotApiUnreachable when Telegram cannot be reached within telegram.startup_timeout.
    """
    assert settings.bot_token is not None, "cmd_bot checks the token first"
    startup = StartupLog()
    with startup.stage("config") as found:
        found(f"{settings.config_file or 'no config file, defaults'}; {settings.telegram.mode}, "
              f"{settings.scale.mode} mode")
    metrics, health = Metrics(), Health()
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
    runtime = Runtime(settings.telegram, settings.monitoring, health, metrics, secret)
    stop = asyncio.Event()
    stop_on_signals(stop)
    bot = build_bot(settings.bot_token.get_secret_value(), settings.telegram, settings.flood, metrics)
    monitor = await start_monitoring(runtime) if settings.telegram.mode == "polling" else None
    shared: SharedState | None = None
    home: IndexHome | None = None
    console: web.AppRunner | None = None
    try:
        with startup.stage("storage") as found:
            shared = build_shared_state(settings)  # here: the SQLite store belongs to this (the loop's) thread
            found("SQLite " + str(settings.resolve(settings.storage.path)) if settings.scale.mode == "single"
                  else "PostgreSQL and Redis")
        with startup.stage("model") as found:
            home = await asyncio.to_thread(lambda: build_home(settings, build_embeddings(settings)))
            found(model_name(home.embeddings))
        advisor = await asyncio.to_thread(build_advisor, settings, home, startup)
        metrics.generation.set(1)
        health.set("starting", records=sum(advisor.kb.counts().values()))
        reloader = Reloader(settings, advisor, home)
        dispatcher = build_dispatcher(
            advisor=advisor, store=shared.store, fsm_storage=shared.fsm_storage, limiter=shared.limiter,
            i18n=build_i18n(settings.resolve(settings.storage.path).parent / "locales"), access=settings.access,
            reloader=reloader, metrics=metrics, cluster=shared.cluster, advisor_threads=settings.scale.advisor_threads)
        here = reload_here(reloader, metrics, shared.cluster.name if shared.cluster else socket.gethostname())
        if shared.cluster is not None:
            await shared.cluster.start(here, knowledge_generation(advisor.kb))
        shared.keep_flushing()
        console = await _serve_console(settings, advisor, shared, here)
        with startup.stage("telegram") as found:
            found("connected as @" + await wait_for_bot_api(bot, stop, settings.telegram.startup_retry,
                                                            settings.telegram.startup_timeout))
            await register_commands(bot)
        run = run_webhook if settings.telegram.mode == "webhook" else run_polling
        await run(bot, dispatcher, runtime, stop, partial(startup.ready, f"taking updates by {settings.telegram.mode}"))
    except BotApiUnreachable as exc:
        if not stop.is_set():
            raise
        log.info("%s", exc)
    finally:
        await bot.session.close()
        if console is not None:
            await console.cleanup()
        if shared is not None:
            await shared.close()
        if home is not None:
            home.close()
        if monitor is not None:
            await monitor.cleanup()
        log.info("stopped")


async def serve_console_alone(settings: Settings) -> None:
    """`run_bot.py web`: the console without the Telegram bot, until SIGTERM or SIGINT.

    In workers mode it joins the cluster, so that its own answers follow a reload like every worker's.
    Raises CannotServeConsole when its port is taken.
    """
    stop = asyncio.Event()
    stop_on_signals(stop)
    name = settings.scale.worker_name or f"console-{socket.gethostname()}-{os.getpid()}"
    shared = build_shared_state(settings.model_copy(update={"scale": settings.scale.model_copy(
        update={"worker_name": name})}))
    home: IndexHome | None = None
    runner: web.AppRunner | None = None
    try:
        home = await asyncio.to_thread(lambda: build_home(settings, build_embeddings(settings)))
        advisor = await asyncio.to_thread(build_advisor, settings, home, StartupLog())
        here = reload_here(Reloader(settings, advisor, home), Metrics(), name)
        if shared.cluster is not None:
            await shared.cluster.start(here, knowledge_generation(advisor.kb))
        shared.keep_flushing()
        runner = await start_console(build_console(settings, advisor, shared.store,
                                                   console_reload(here, shared.cluster)))
        await stop.wait()
    finally:
        if runner is not None:
            await runner.cleanup()
        await shared.close()
        if home is not None:
            home.close()
        log.info("stopped")
