"""Benchmark of the intent model (not a test): run `python benchmarks/intent_bench.py`.

Prints how long training takes at start or /reload (corpus vectors cached beside the index) and what the model adds
to one question: the prediction from the vector retrieval has already computed, p50/p95 over the dev messages.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.wiring import (  # noqa: E402
    build_corpus,
    build_embeddings,
    build_home,
    build_index,
    build_intent_model,
    build_knowledge,
    build_retriever,
    build_settings,
)


def main() -> None:
    settings = build_settings()
    kb = build_knowledge(settings)
    index, _ = build_index(kb, build_home(settings, build_embeddings(settings)))
    retriever = build_retriever(settings, kb, index)
    corpus = build_corpus(settings)
    started = time.perf_counter()
    model = build_intent_model(settings, retriever, corpus)
    print(f"training on {len(corpus.examples('train')) + len(corpus.examples('dev'))} messages: "
          f"{time.perf_counter() - started:.1f} s (vectors from the cache after the first start)")
    questions = [e.text for e in corpus.examples("dev")]
    vectors = [retriever.query_vector(q) for q in questions]  # computed by retrieval anyway: not timed
    for question, vector in zip(questions[:50], vectors):  # warm-up
        model.predict(question, vector)
    timings = []
    for question, vector in zip(questions, vectors):
        started = time.perf_counter()
        model.predict(question, vector)
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    print(f"prediction per question over {len(timings)} messages: p50 {statistics.median(timings):.2f} ms, "
          f"p95 {timings[int(0.95 * len(timings))]:.2f} ms")


if __name__ == "__main__":
    main()
