"""Query vectors of many texts (the intent corpus), remembered on disk so that a start or reload encodes only new ones.

The file is a NumPy .npz of plain arrays (text hashes and float32 vectors) read with allow_pickle=False: it holds
no code. It is named after the model, so a new model starts a new file; a damaged file is ignored and rewritten.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def cached_vectors(texts: Sequence[str], encode: Callable[[list[str]], Sequence[Sequence[float]]],
                   folder: Path | None, model: str, batch: int = 64) -> np.ndarray:
    """One vector per text, in order: from the cache file when known, else encoded in batches and then cached."""
    path = folder / f"query-vectors-{re.sub(r'[^A-Za-z0-9._-]+', '_', model)}.npz" if folder else None
    known = _read(path) if path else {}
    keys = [_digest(t) for t in texts]
    missing = list(dict.fromkeys(t for t, k in zip(texts, keys) if k not in known))
    for start in range(0, len(missing), batch):
        chunk = missing[start:start + batch]
        for text, vector in zip(chunk, encode(chunk)):
            known[_digest(text)] = np.asarray(vector, dtype=np.float32)
    if missing and path:  # everything known is kept: the test part's vectors must not push out the corpus's
        _write(path, known)
    if not keys:
        return np.zeros((0, 0), dtype=np.float32)
    return np.stack([known[k] for k in keys])


def _read(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as data:
            return dict(zip(data["keys"].tolist(), data["vectors"]))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        log.warning("ignoring the damaged vector cache %s (%s); it will be rebuilt", path, exc)
        return {}


def _write(path: Path, vectors: dict[str, np.ndarray]) -> None:
    """Write beside, then rename: a reader never sees half a file."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp.npz")
        np.savez(partial, keys=np.array(list(vectors), dtype="U32"), vectors=np.stack(list(vectors.values())))
        os.replace(partial, path)
    except OSError as exc:  # a read-only folder costs only speed: the vectors are encoded again next time
        log.warning("cannot write the vector cache %s: %s", path, exc)
