"""Persistent Chroma vector index: generations built aside, swapped atomically, shared safely between processes.

The index root holds:

    CURRENT    the name of the live generation, replaced in one atomic rename
    PREVIOUS   the generation CURRENT named before the last swap: kept one more round so that searches already
               under way on it (in this process or another) can finish
    LOCK       flock'ed by the one process that builds, swaps or deletes generations
    gen-<ns>/  one generation: a Chroma database holding one collection, and manifest.json (model, record hashes)

A folder, and so a Chroma client, per generation rather than one database with a collection per generation:
chromadb 1.5 keeps every collection it has opened in an HNSW cache that `delete_collection` does not evict (four
open files and the vectors per dropped collection, until about RLIMIT_NOFILE / 5 of them), and it leaves a dropped
collection's files on disk (chroma-core/chroma#5520). A retired generation's client is closed, which releases its
files and threads, and its folder is deleted whole.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

import chromadb
import numpy as np
from chromadb import ClientAPI, Collection
from chromadb.config import Settings as ChromaSettings
from langchain_chroma import Chroma
from langchain_core.embeddings import Embeddings

from embeddings.documents import Document
from embeddings.model import model_name

log = logging.getLogger(__name__)

COLLECTION = "knowledge"
CURRENT = "CURRENT"
PREVIOUS = "PREVIOUS"
LOCK = "LOCK"
MANIFEST = "manifest.json"
GENERATION_PREFIX = "gen-"
BATCH = 64
COPY_BATCH = 256

Progress = Callable[[int, int], None]


class IndexUnavailable(Exception):
    """The vector index is missing, unreadable or built with another model; reindexing rebuilds it."""


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
    """One generation: its Chroma collection and the manifest of the records it holds."""

    def __init__(self, generation: str, directory: Path, collection: Collection, manifest: dict[str, Any],
                 embeddings: Embeddings):
        self.generation = generation
        self.directory = directory
        self.collection = collection
        self.manifest = manifest
        self.embeddings = embeddings
        self._embed_cached = lru_cache(maxsize=512)(lambda query: tuple(embeddings.embed_query(query)))
        self._matrix_lock = threading.Lock()
        self._matrix: tuple[list[str], np.ndarray] | None = None

    @property
    def model(self) -> str:
        """The embedding model the vectors were made with."""
        return str(self.manifest.get("model", ""))

    @property
    def hashes(self) -> dict[str, str]:
        """Content hash of every record in the index, by record id."""
        return dict(self.manifest.get("hashes", {}))

    def count(self) -> int:
        """How many vectors the collection holds."""
        return self.collection.count()

    def embed(self, query: str) -> tuple[float, ...]:
        """The query's vector; a question is searched and classified several times, so it is remembered."""
        return self._embed_cached(query)

    def search(self, query: str, k: int) -> list[tuple[str, float]]:
        """Record ids most similar to the query, with cosine similarity, best first.

        Exact, over the generation's vectors held in memory: with a few hundred records one matrix product takes
        microseconds, where a Chroma query (HNSW, then building its result) took about 5 ms of CPU per question.
        The vectors never change within a generation, so they are read from Chroma once.
        """
        ids, matrix = self._vectors()
        vector = np.asarray(self.embed(query), dtype=np.float32)
        similarity = matrix @ (vector / (np.linalg.norm(vector) or 1.0))
        best = np.argsort(-similarity, kind="stable")[:k]
        return [(ids[i], float(similarity[i])) for i in best]

    def _vectors(self) -> tuple[list[str], np.ndarray]:
        """The generation's record ids and unit vectors (one row each), read on first use."""
        with self._matrix_lock:
            if self._matrix is None:
                stored = self.collection.get(include=["embeddings"])
                matrix = np.asarray(stored["embeddings"], dtype=np.float32).reshape(len(stored["ids"]), -1)
                norms = np.linalg.norm(matrix, axis=1, keepdims=True)
                self._matrix = list(stored["ids"]), matrix / np.where(norms == 0, 1.0, norms)
            return self._matrix


class IndexHome:
    """The index root as one process sees it: opens, builds and retires generations, and owns their Chroma clients.

    Make one per root and process, share it between threads, and close() it at exit.
    """

    def __init__(self, root: Path, embeddings: Embeddings):
        self.root = root
        self.embeddings = embeddings
        self._clients: dict[str, ClientAPI] = {}
        self._indexes: dict[str, VectorIndex] = {}
        self._guard = threading.RLock()  # over the two dictionaries: the bot searches while it reloads
        self._closed = False
        root.mkdir(parents=True, exist_ok=True)
        # Leftovers of a killed build go now, unless a build is running: that build is not a leftover.
        with self._locked(wait=False) as held:
            if held:
                self._retire(keep=self._listed())

    def current(self) -> VectorIndex:
        """The live generation; raises IndexUnavailable when it is missing, damaged or built with another model."""
        generation = self._pointer(CURRENT)
        if not generation:
            raise IndexUnavailable(f"no index at {self.root} yet: run reindex to build it")
        index = self._open(generation)
        if index.model != model_name(self.embeddings):
            raise IndexUnavailable(f"index was built with {index.model!r}, the configured model is "
                                   f"{model_name(self.embeddings)!r}: run reindex to rebuild it")
        # Generations retired since (by another process, say) are no longer read here: let their files go. Reading
        # the pointers and releasing at once keeps a generation this home is just making live.
        with self._guard:
            self._release(keep=self._listed())
        return index

    def reindex(self, documents: list[Document], progress: Progress | None = None) -> tuple[VectorIndex, ReindexReport]:
        """Build a new generation beside the live one, embedding only changed records, then swap atomically.

        Waits while another process reindexes the same root. On any failure the new generation is deleted and
        the live one keeps serving.
        """
        started = time.perf_counter()
        with self._locked(wait=True):
            live = self._pointer(CURRENT)
            try:
                previous: VectorIndex | None = self.current()
            except IndexUnavailable as exc:
                log.debug("full reindex: %s", exc)
                previous = None
            old_hashes = previous.hashes if previous else {}
            wanted = {d.id: d for d in documents}
            unchanged = [i for i, d in wanted.items() if old_hashes.get(i) == d.hash]
            to_embed = [d for i, d in wanted.items() if old_hashes.get(i) != d.hash]
            index, client = self._build(documents, previous, unchanged, to_embed, progress)
            try:
                self._swap(index.generation, live)
            except BaseException:
                _discard(client, index.directory)
                raise
            index = self._remember(index, client)  # after the swap, so current() in another thread keeps it
            self._retire(keep={index.generation, live})
        report = ReindexReport(
            added=sum(1 for d in to_embed if d.id not in old_hashes),
            changed=sum(1 for d in to_embed if d.id in old_hashes),
            removed=sum(1 for i in old_hashes if i not in wanted),
            unchanged=len(unchanged), seconds=time.perf_counter() - started,
            model=model_name(self.embeddings), full_rebuild=previous is None)
        return index, report

    def close(self) -> None:
        """Close every Chroma client this home opened; indexes it returned can no longer be searched."""
        with self._guard:
            self._closed = True
            clients = list(self._clients.values())
            self._clients.clear()
            self._indexes.clear()
        for client in clients:
            _close_client(client)

    def __enter__(self) -> IndexHome:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _open(self, generation: str) -> VectorIndex:
        """A generation's index, opened once and then remembered."""
        with self._guard:
            self._check_open()
            if generation in self._indexes:
                return self._indexes[generation]
        directory = self.root / generation
        if not (directory / MANIFEST).is_file():
            raise IndexUnavailable(f"index generation {directory} is missing or incomplete: run reindex to rebuild it")
        try:
            manifest: dict[str, Any] = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
            client = _client(directory)
        except Exception as exc:  # a damaged folder raises all kinds of errors
            raise IndexUnavailable(f"index at {directory} is unreadable ({exc.__class__.__name__}: {exc}): "
                                   "run reindex to rebuild it") from exc
        try:
            index = VectorIndex(generation, directory, client.get_collection(COLLECTION), manifest, self.embeddings)
            count, listed = index.count(), len(index.hashes)
        except Exception as exc:
            _close_client(client)
            raise IndexUnavailable(f"index at {directory} is unreadable ({exc.__class__.__name__}: {exc}): "
                                   "run reindex to rebuild it") from exc
        if count != listed:
            _close_client(client)
            raise IndexUnavailable(f"index at {directory} holds {count} vectors but its manifest lists {listed}: "
                                   "run reindex to rebuild it")
        return self._remember(index, client)

    def _remember(self, index: VectorIndex, client: ClientAPI) -> VectorIndex:
        """Keep an opened generation; when another thread opened it meanwhile, keep theirs and close ours."""
        with self._guard:
            if not self._closed and index.generation not in self._indexes:
                self._clients[index.generation] = client
                self._indexes[index.generation] = index
                return index
            kept = self._indexes.get(index.generation)
        _close_client(client)
        if kept is None:
            raise self._closed_error()
        return kept

    def _build(self, documents: list[Document], previous: VectorIndex | None, unchanged: list[str],
               to_embed: list[Document], progress: Progress | None) -> tuple[VectorIndex, ClientAPI]:
        """Write a complete new generation and return it with its client, or delete what was written and re-raise."""
        generation = f"{GENERATION_PREFIX}{time.time_ns()}"  # unique: builds take the lock one at a time
        directory = self.root / generation
        client = _client(directory)
        try:
            store = Chroma(collection_name=COLLECTION, embedding_function=self.embeddings, client=client,
                           collection_configuration={"hnsw": {"space": "cosine"}})
            collection = client.get_collection(COLLECTION)
            total = len(unchanged) + len(to_embed)
            done = _copy_vectors(previous.collection, collection, unchanged, progress, total) if previous else 0
            for start in range(0, len(to_embed), BATCH):
                batch = to_embed[start:start + BATCH]
                store.add_texts([d.text for d in batch], metadatas=[{**d.metadata, "record_id": d.id} for d in batch],
                                ids=[d.id for d in batch])
                done += len(batch)
                if progress:
                    progress(done, total)
            manifest = {"model": model_name(self.embeddings), "hashes": {d.id: d.hash for d in documents},
                        "built_at": time.strftime("%Y-%m-%dT%H:%M:%S")}
            _write_atomically(directory / MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=1))
            index = VectorIndex(generation, directory, collection, manifest, self.embeddings)
            if index.count() != len(manifest["hashes"]):
                raise IndexUnavailable(f"the new index at {directory} holds {index.count()} vectors instead of "
                                       f"{len(manifest['hashes'])}; the live index keeps serving")
        except BaseException:
            _discard(client, directory)
            raise
        return index, client

    def _swap(self, generation: str, live: str) -> None:
        """Make the new generation live in one atomic rename, remembering the one it replaces."""
        if live:
            _write_atomically(self.root / PREVIOUS, live)
        else:
            (self.root / PREVIOUS).unlink(missing_ok=True)
        _write_atomically(self.root / CURRENT, generation)

    def _retire(self, keep: set[str]) -> None:
        """Delete every generation but those kept, and temporary files of interrupted swaps; lock held."""
        self._release(keep)
        for path in self.root.iterdir():
            if path.name.startswith(GENERATION_PREFIX) and path.name not in keep:
                log.info("removing old index generation %s", path)
                if path.is_dir():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)
            elif path.name.endswith(".tmp"):
                path.unlink(missing_ok=True)

    def _release(self, keep: set[str]) -> None:
        """Close the clients of generations no longer kept."""
        with self._guard:
            gone = [g for g in self._clients if g not in keep]
            clients = [self._clients.pop(g) for g in gone]
            for generation in gone:
                self._indexes.pop(generation, None)
        for client in clients:
            _close_client(client)

    def _listed(self) -> set[str]:
        """The generations CURRENT and PREVIOUS name."""
        return {name for name in (self._pointer(CURRENT), self._pointer(PREVIOUS)) if name}

    def _pointer(self, name: str) -> str:
        """The generation a pointer file names, or "" when there is none."""
        try:
            return (self.root / name).read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return ""

    def _check_open(self) -> None:
        """Refuse to work once closed."""
        if self._closed:
            raise self._closed_error()

    def _closed_error(self) -> IndexUnavailable:
        return IndexUnavailable(f"the index at {self.root} was closed by this process; open a new IndexHome to use it")

    @contextmanager
    def _locked(self, wait: bool) -> Iterator[bool]:
        """Hold root/LOCK, waiting for it or not; yields whether it is held. The kernel frees it if we die."""
        self._check_open()
        with open(self.root / LOCK, "a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if not wait:
                    yield False
                    return
                log.info("another process is reindexing %s: waiting for it to finish", self.root)
                fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield True
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def open_index(root: Path, embeddings: Embeddings) -> VectorIndex:
    """The live generation, for one-shot scripts and tests; long-running processes keep an IndexHome instead.

    The client stays open as long as the process: nothing here closes it.
    """
    return IndexHome(root, embeddings).current()


def reindex(root: Path, documents: list[Document], embeddings: Embeddings,
            progress: Progress | None = None) -> tuple[VectorIndex, ReindexReport]:
    """Bring the index up to date, for one-shot scripts and tests; long-running processes keep an IndexHome instead."""
    return IndexHome(root, embeddings).reindex(documents, progress)


def _client(directory: Path) -> ClientAPI:
    """A Chroma client on one generation folder (chromadb shares one per folder within a process)."""
    return chromadb.PersistentClient(path=str(directory), settings=ChromaSettings(anonymized_telemetry=False))


def _close_client(client: ClientAPI) -> None:
    """Release a client: chromadb's public close() stops its system once no other client of the folder is left."""
    try:
        client.close()  # type: ignore[attr-defined]  # chromadb 1.5's Client has it; ClientAPI does not declare it
    except Exception:  # closing must not hide the error that led here
        log.warning("could not close the Chroma client of an index generation", exc_info=True)


def _discard(client: ClientAPI, directory: Path) -> None:
    """Close a generation that will not go live and delete its folder."""
    _close_client(client)
    shutil.rmtree(directory, ignore_errors=True)


def _copy_vectors(source: Collection, target: Collection, ids: list[str], progress: Progress | None,
                  total: int) -> int:
    """Carry unchanged records' vectors over without embedding them again."""
    done = 0
    for start in range(0, len(ids), COPY_BATCH):
        chunk = ids[start:start + COPY_BATCH]
        got = source.get(ids=chunk, include=["embeddings", "documents", "metadatas"])
        target.add(ids=got["ids"], embeddings=got["embeddings"], documents=got["documents"],
                   metadatas=got["metadatas"])
        done += len(chunk)
        if progress:
            progress(done, total)
    return done


def _write_atomically(path: Path, text: str) -> None:
    """Replace a file in one rename, so readers see the old text or the new, never half of it."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
