"""The vectors of each row's citable passages (sentences, contract titles), kept for explanations.

Explaining a match means finding the passage of a profile closest to the need. Embedding passages at
query time cost ~400 ms per shortlist on two cores (bench/results/speed.md, before this store), so they
are pooled at index time from the row's own forward pass and kept here as int8 with one scale per
vector: 4× smaller than float32, and the cosine moves by well under 0.01 (tests/test_passage_vectors.py),
which is far finer than the choice between two sentences needs. Like the vector index, it is derived
state: keyed by row, stamped with the row revision it came from, saved atomically beside the index.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np


def quantise(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric int8 per vector: codes and the scale that brings them back."""
    peak = np.abs(vectors).max(axis=1) if len(vectors) else np.zeros(0, dtype=np.float32)
    scales = np.where(peak > 0, peak / 127.0, 1.0).astype(np.float32)
    codes = np.rint(vectors / scales[:, None]).clip(-127, 127).astype(np.int8)
    return codes, scales


class PassageVectors:
    def __init__(self, dim: int) -> None:
        self.dim = dim
        self._rows: dict[int, tuple[int, np.ndarray, np.ndarray]] = {}  # key → (revision, codes, scales)

    def __len__(self) -> int:
        return len(self._rows)

    def put(self, key: int, revision: int, vectors: np.ndarray) -> None:
        if vectors.ndim != 2 or vectors.shape[1] != self.dim:
            raise ValueError(f"expected passage vectors of dimension {self.dim}, got {vectors.shape}")
        codes, scales = quantise(np.asarray(vectors, dtype=np.float32))
        self._rows[int(key)] = (int(revision), codes, scales)

    def put_codes(self, key: int, revision: int, codes: np.ndarray, scales: np.ndarray) -> None:
        """Already quantised passages (as stored in the database)."""
        if codes.ndim != 2 or codes.shape[1] != self.dim or len(scales) != len(codes):
            raise ValueError(f"expected int8 passage codes of dimension {self.dim}, got {codes.shape}")
        self._rows[int(key)] = (int(revision), codes.astype(np.int8, copy=False), scales.astype(np.float32, copy=False))

    def get(self, key: int, revision: int | None = None) -> np.ndarray | None:
        """The passage vectors of a row (at ``revision`` if given), or None when not indexed."""
        found = self._rows.get(int(key))
        if found is None or (revision is not None and found[0] != revision):
            return None
        _, codes, scales = found
        return codes.astype(np.float32) * scales[:, None]

    def keys(self) -> list[int]:
        return list(self._rows)

    def revision(self, key: int) -> int | None:
        found = self._rows.get(int(key))
        return found[0] if found else None

    def remove(self, keys: Iterable[int]) -> None:
        for key in keys:
            self._rows.pop(int(key), None)

    def save(self, path: Path) -> None:
        """One file (written to a temporary name, then renamed) with every row's passages back to back."""
        keys = np.fromiter(self._rows, dtype=np.int64, count=len(self._rows))
        entries = [self._rows[int(k)] for k in keys]
        counts = np.array([len(e[1]) for e in entries], dtype=np.int32)
        codes = np.vstack([e[1] for e in entries]) if entries else np.zeros((0, self.dim), dtype=np.int8)
        scales = np.concatenate([e[2] for e in entries]) if entries else np.zeros(0, dtype=np.float32)
        revisions = np.array([e[0] for e in entries], dtype=np.int64)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                np.savez(handle, keys=keys, revisions=revisions, counts=counts, codes=codes, scales=scales)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: Path, dim: int) -> PassageVectors:
        store = cls(dim)
        with np.load(path) as saved:
            if saved["codes"].shape[1:] != (dim,):
                return store  # another model's passages: everything is re-embedded
            bounds = np.concatenate([[0], np.cumsum(saved["counts"])])
            codes, scales = saved["codes"], saved["scales"]
            for i, (key, revision) in enumerate(zip(saved["keys"].tolist(), saved["revisions"].tolist(), strict=True)):
                lo, hi = bounds[i], bounds[i + 1]
                store._rows[key] = (revision, codes[lo:hi].copy(), scales[lo:hi].copy())
        return store
