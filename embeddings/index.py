"""Persistent Chroma vector index with incremental, atomic reindexing."""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

import chromadb
from chromadb.config import Settings as ChromaSettings
from langchain_chroma import Chroma
from langchain_core.embeddings import Embeddings

from embeddings.documents import Document
from embeddings.model import model_name

log = logging.getLogger(__name__)

COLLECTION = "knowledge"
CURRENT = "CURRENT"
MANIFEST = "manifest.json"
BATCH = 64

Progress = Callable[[int, int], None]


class IndexUnavailable(Exception):
    """The vector index is missing or unreadable; reindexing rebuilds it."""


@dataclass(frozen=True)
class ReindexReport:
    """What a reindex did."""

    added: int
    changed: int
    removed: int
    unchanged: int
    seconds: float
    model: str
    full_rebuild: bool

    def __str__(self) -> str:
        kind = "full rebuild" if self.full_rebuild else "incremental"
        return (f"{kind} with {self.model}: added {self.added}, changed {self.changed}, removed {self.removed}, "
                f"unchanged {self.unchanged}, took {self.seconds:.1f} s")


class VectorIndex:
    """One generation of the index on disk: a Chroma collection plus a manifest of record hashes."""

    def __init__(self, directory: Path, embeddings: Embeddings):
        self.directory = directory
        self.embeddings = embeddings
        self._embed_cached = lru_cache(maxsize=512)(lambda query: tuple(embeddings.embed_query(query)))
        manifest_path = directory / MANIFEST
        try:
            self.manifest: dict[str, Any] = json.loads(manifest_path.read_text(encoding="utf-8"))
            self.store = _open_store(directory, embeddings)
            count = self.store._collection.count()
        except Exception as exc:  # chromadb raises many kinds of errors on a damaged folder
            raise IndexUnavailable(f"index at {directory} is unreadable ({exc.__class__.__name__}: {exc})") from exc
        if count != len(self.manifest.get("hashes", {})):
            raise IndexUnavailable(f"index at {directory} holds {count} vectors but its manifest lists "
                              f"{len(self.manifest.get('hashes', {}))}")

    @property
    def model(self) -> str:
        return str(self.manifest.get("model", ""))

    def search(self, query: str, k: int) -> list[tuple[str, float]]:
        """Record ids most similar to the query, with cosine similarity, best first."""
        # A question is often searched several times, so its vector is remembered. Ids and distances
        # only: building langchain Documents for every hit costs more than the search.
        vector = list(self._embed_cached(query))
        result = self.store._collection.query(query_embeddings=[vector], n_results=k, include=["distances"])
        return [(doc_id, 1.0 - float(distance)) for doc_id, distance in zip(result["ids"][0], result["distances"][0])]


def open_index(root: Path, embeddings: Embeddings) -> VectorIndex:
    """The live generation named by root/CURRENT; raises IndexUnavailable when it is missing or damaged."""
    pointer = root / CURRENT
    if not pointer.exists():
        raise IndexUnavailable(f"no index at {root} yet")
    index = VectorIndex(root / pointer.read_text(encoding="utf-8").strip(), embeddings)
    if index.model != model_name(embeddings):
        raise IndexUnavailable(f"index was built with {index.model!r}, the configured model is {model_name(embeddings)!r}")
    return index


def reindex(root: Path, documents: list[Document], embeddings: Embeddings,
            progress: Progress | None = None) -> tuple[VectorIndex, ReindexReport]:
    """Build a new generation beside the live one, embedding only changed records, then swap atomically."""
    started = time.perf_counter()
    root.mkdir(parents=True, exist_ok=True)
    _remove_stale_generations(root)
    try:
        previous: VectorIndex | None = open_index(root, embeddings)
    except IndexUnavailable as exc:
        log.info("full reindex: %s", exc)
        previous = None
    old_hashes: dict[str, str] = previous.manifest["hashes"] if previous else {}
    wanted = {d.id: d for d in documents}
    unchanged = [i for i, d in wanted.items() if old_hashes.get(i) == d.hash]
    to_embed = [d for i, d in wanted.items() if old_hashes.get(i) != d.hash]

    generation = f"gen-{time.time_ns()}"
    target = root / generation
    store = _open_store(target, embeddings)
    total = len(unchanged) + len(to_embed)
    done = 0
    if previous and unchanged:
        done = _copy_vectors(previous, store, unchanged, progress, total)
    for start in range(0, len(to_embed), BATCH):
        batch = to_embed[start:start + BATCH]
        store.add_texts([d.text for d in batch], metadatas=[{**d.metadata, "record_id": d.id} for d in batch],
                        ids=[d.id for d in batch])
        done += len(batch)
        if progress:
            progress(done, total)
    manifest = {"model": model_name(embeddings), "hashes": {d.id: d.hash for d in documents},
                "built_at": time.strftime("%Y-%m-%dT%H:%M:%S")}
    (target / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    _swap_current(root, generation)
    report = ReindexReport(
        added=sum(1 for d in to_embed if d.id not in old_hashes),
        changed=sum(1 for d in to_embed if d.id in old_hashes),
        removed=sum(1 for i in old_hashes if i not in wanted),
        unchanged=len(unchanged), seconds=time.perf_counter() - started,
        model=model_name(embeddings), full_rebuild=previous is None)
    return VectorIndex(target, embeddings), report


def _open_store(directory: Path, embeddings: Embeddings) -> Chroma:
    client = chromadb.PersistentClient(path=str(directory), settings=ChromaSettings(anonymized_telemetry=False))
    return Chroma(collection_name=COLLECTION, embedding_function=embeddings, client=client,
                  collection_metadata={"hnsw:space": "cosine"})


def _copy_vectors(previous: VectorIndex, store: Chroma, ids: list[str], progress: Progress | None,
                  total: int) -> int:
    """Carry unchanged records' vectors over without embedding them again."""
    done = 0
    for start in range(0, len(ids), 256):
        chunk = ids[start:start + 256]
        got = previous.store._collection.get(ids=chunk, include=["embeddings", "documents", "metadatas"])
        store._collection.add(ids=got["ids"], embeddings=got["embeddings"], documents=got["documents"],
                              metadatas=got["metadatas"])
        done += len(chunk)
        if progress:
            progress(done, total)
    return done


def _swap_current(root: Path, generation: str) -> None:
    """Point CURRENT at the new generation in one atomic rename."""
    tmp = root / f"{CURRENT}.tmp"
    tmp.write_text(generation, encoding="utf-8")
    os.replace(tmp, root / CURRENT)


def _remove_stale_generations(root: Path) -> None:
    """Delete generations no longer live: leftovers of interrupted or superseded builds."""
    pointer = root / CURRENT
    live = pointer.read_text(encoding="utf-8").strip() if pointer.exists() else ""
    for path in root.glob("gen-*"):
        if path.name != live:
            shutil.rmtree(path, ignore_errors=True)
