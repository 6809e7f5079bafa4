"""Factories: the one place that builds settings, knowledge, index and advisor."""

from __future__ import annotations

import asyncio
import logging

from langchain_core.embeddings import Embeddings

from advisor.advisor import Advisor
from app.config import Settings, load_settings
from bot.app import build_bot, build_dispatcher, register_commands
from bot.monitoring import Health, Metrics
from bot.runner import (BotApiUnreachable, Runtime, run_polling, run_webhook, start_monitoring, stop_on_signals,
                        wait_for_bot_api)
from bot.texts import build_i18n
from embeddings.documents import build_documents
from embeddings.index import IndexUnavailable, Progress, ReindexReport, VectorIndex, open_index, reindex
from embeddings.model import load_embeddings
from embeddings.retriever import HybridRetriever
from knowledge.loader import KnowledgeBase, KnowledgeError, load_knowledge
from storage.sqlite import Store

log = logging.getLogger(__name__)


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
    """The configured embedding model, or the bundled offline one."""
    cfg = settings.embeddings
    return load_embeddings(cfg.model, cfg.backend, cfg.query_prefix, cfg.passage_prefix)


def build_index(settings: Settings, kb: KnowledgeBase, embeddings: Embeddings,
                progress: Progress | None = None) -> tuple[VectorIndex, ReindexReport | None]:
    """The live index, brought up to date with the knowledge base; rebuilt when missing or damaged."""
    root = settings.resolve(settings.embeddings.index_path)
    documents = build_documents(kb)
    try:
        index = open_index(root, embeddings)
        if index.manifest.get("hashes") == {d.id: d.hash for d in documents}:
            return index, None
        log.info("knowledge changed since the index was built: reindexing")
    except IndexUnavailable as exc:
        log.warning("%s: rebuilding the index", exc)
    return reindex(root, documents, embeddings, progress)


def build_retriever(settings: Settings, kb: KnowledgeBase, index: VectorIndex) -> HybridRetriever:
    """Hybrid BM25 + vector retrieval over the knowledge base."""
    cfg = settings.retrieval
    return HybridRetriever(build_documents(kb), index, cfg.rrf_k, cfg.dense_weight, cfg.sparse_weight)


def build_advisor(settings: Settings, embeddings: Embeddings | None = None) -> Advisor:
    """A ready advisor: knowledge loaded, index opened or built, retrieval set up."""
    kb = build_knowledge(settings)
    embeddings = embeddings or build_embeddings(settings)
    index, _ = build_index(settings, kb, embeddings)
    return Advisor(kb, build_retriever(settings, kb, index), settings.retrieval.top_k,
                   settings.limits.max_question_chars)


def reload_advisor(settings: Settings, advisor: Advisor, embeddings: Embeddings,
                   progress: Progress | None = None) -> ReindexReport | None:
    """Validate the knowledge files, reindex aside, then swap the advisor to them; on errors keep the old ones.

    Raises KnowledgeError (listing the problems) when the files do not validate.
    """
    kb = build_knowledge(settings)
    index, report = build_index(settings, kb, embeddings, progress)
    advisor.replace(kb, build_retriever(settings, kb, index))
    return report


def build_store(settings: Settings) -> Store:
    """The SQLite store of profiles, the question log, feedback and FSM state."""
    return Store.open(settings.resolve(settings.storage.path))


async def serve_bot(settings: Settings) -> None:
    """Build everything, run the Telegram bot until SIGTERM or SIGINT, then close storage and index."""
    assert settings.bot_token is not None, "cmd_bot checks the token first"
    metrics, health = Metrics(), Health()
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
    runtime = Runtime(settings.telegram, settings.monitoring, health, metrics, secret)
    stop = asyncio.Event()
    stop_on_signals(stop)
    bot = build_bot(settings.bot_token.get_secret_value(), settings.telegram, settings.flood, metrics)
    monitor = await start_monitoring(runtime) if settings.telegram.mode == "polling" else None
    store = build_store(settings)
    library: Library | None = None
    try:
        library = await asyncio.to_thread(open_library, settings, build_embeddings(settings))
        metrics.generation.set(1)
        health.set("starting", records=sum(library.advisor.kb.counts().values()))
        dispatcher = build_dispatcher(
            advisor=library.advisor, store=store, access=settings.access, throttle=settings.throttle,
            i18n=build_i18n(settings.resolve(settings.storage.path).parent / "locales"),
            reloader=lambda progress: str(library.reload(progress) or "index already up to date"),
            metrics=metrics)
        await wait_for_bot_api(bot, stop, settings.telegram.startup_retry)
        await register_commands(bot)
        run = run_webhook if settings.telegram.mode == "webhook" else run_polling
        await run(bot, dispatcher, runtime, stop)
    except BotApiUnreachable as exc:
        log.info("%s", exc)
    finally:
        await bot.session.close()
        store.close()
        if library is not None:
            library.close()
        if monitor is not None:
            await monitor.cleanup()
        log.info("stopped")
