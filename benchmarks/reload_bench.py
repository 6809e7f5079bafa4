"""Benchmark of repeated reloads (not a test): run `python benchmarks/reload_bench.py [reloads]`.

Builds the advisor the way the bot does, on a copy of the real knowledge base with the configured (or the offline
default) embedding model, then reloads it many times, each time after editing one record's description. Prints
memory (VmRSS), OS and Python threads, open file descriptors and the index's size on disk around every reload,
then a summary line: these must stay flat however many times an admin sends /reload.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.config import load_settings  # noqa: E402
from app.wiring import build_advisor, build_embeddings, build_home, limit_malloc_arenas, reload_advisor  # noqa: E402,E501

# Plain one-line descriptions: appending a sentence to them keeps the YAML valid.
DESCRIPTION = re.compile(r"^(\s*-?\s*description_ru: )([А-ЯЁA-Z][^'\"\n]*)$", re.MULTILINE)


def usage(index: Path) -> dict[str, float]:
    """RSS in MiB, OS threads, Python threads, open file descriptors and index size on disk in MiB."""
    status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    disk = sum(p.stat().st_size for p in index.rglob("*") if p.is_file())
    return {"rss": int(status["VmRSS"].split()[0]) / 1024, "threads": int(status["Threads"]),
            "py": threading.active_count(), "fds": len(os.listdir("/proc/self/fd")), "disk": disk / 2**20}


def show(u: dict[str, float]) -> str:
    return (f"rss {u['rss']:6.1f} MiB, threads {u['threads']:3.0f} (python {u['py']:.0f}), fds {u['fds']:3.0f}, "
            f"index {u['disk']:5.1f} MiB")


def edit_one_record(path: Path, n: int) -> None:
    """Add a sentence to the n-th plain description of the file: exactly one record changes."""
    text = path.read_text(encoding="utf-8")
    matches = list(DESCRIPTION.finditer(text))
    match = matches[n % len(matches)]
    edited = f"{match.group(1)}{match.group(2)} Правка {n}."
    path.write_text(text[:match.start()] + edited + text[match.end():], encoding="utf-8")


def main(reloads: int = 20) -> None:
    limit_malloc_arenas()  # as the bot does at start
    with tempfile.TemporaryDirectory() as folder:
        knowledge, index = Path(folder) / "knowledge", Path(folder) / "index"
        shutil.copytree(ROOT / "knowledge" / "data", knowledge)
        settings = load_settings(knowledge={"path": str(knowledge)}, embeddings={"index_path": str(index)})
        embeddings = build_embeddings(settings)
        started = time.perf_counter()
        home = build_home(settings, embeddings)
        advisor = build_advisor(settings, home=home)
        print(f"model {getattr(embeddings, 'name', type(embeddings).__name__)}; advisor built with a full index in "
              f"{time.perf_counter() - started:.1f} s; {show(usage(index))}")
        first = usage(index)
        times = []
        for n in range(reloads):
            edit_one_record(knowledge / "professions.yaml", n)
            before = usage(index)
            started = time.perf_counter()
            report = reload_advisor(settings, advisor, home)
            times.append(time.perf_counter() - started)
            advisor.ask("хочу стать программистом")  # the reloaded advisor answers
            after = usage(index)
            print(f"reload {n + 1:2d}: {times[-1]:5.2f} s ({report}); before: {show(before)}; after: {show(after)}")
        last = usage(index)
        home.close()
        closed = usage(index)
        print(f"summary over {reloads} reloads: rss {first['rss']:.1f} -> {last['rss']:.1f} MiB, "
              f"threads {first['threads']:.0f} -> {last['threads']:.0f}, fds {first['fds']:.0f} -> {last['fds']:.0f}, "
              f"index {first['disk']:.1f} -> {last['disk']:.1f} MiB on disk, "
              f"{sum(times) / len(times):.2f} s per reload (min {min(times):.2f}, max {max(times):.2f}); "
              f"after close: threads {closed['threads']:.0f}, fds {closed['fds']:.0f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
