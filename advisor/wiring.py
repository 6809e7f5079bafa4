"""Factories: the one place that builds settings, knowledge, index and advisor."""

from __future__ import annotations

import logging

from langchain_core.embeddings import Embeddings

from advisor.advisor import Advisor
from advisor.config import Settings, load_settings
from embeddings.documents import build_documents
from embeddings.index import IndexUnavailable, Progress, ReindexReport, VectorIndex, open_index, reindex
from embeddings.model import load_embeddings
from embeddings.retriever import HybridRetriever
from knowledge.loader import KnowledgeBase, KnowledgeError, load_knowledge

log = logging.getLogger(__name__)


def build_settings() -> Settings:
    """Settings from config.yaml and the environment."""
    return load_settings()


def build_knowledge(settings: Settings) -> KnowledgeBase:
    """The validated knowledge base; raises KnowledgeError listing the problems when it has errors."""
    kb = load_knowledge(settings.resolve(settings.knowledge.path))
    if not kb.ok:
        errors = [str(p) for p in kb.problems if p.severity == "error"]
        raise KnowledgeError("the knowledge base has errors:\n  " + "\n  ".join(errors[:20]))
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
