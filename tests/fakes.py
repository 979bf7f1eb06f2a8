"""A deterministic stand-in for the embedding model: hashed stems → unit vectors.

Texts sharing words get similar vectors, so ranking logic can be tested in milliseconds; it knows
nothing across languages, which is exactly what the real-model tests add.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from matcher.analysis import stems


class HashingEmbedder:
    name = "hashing-test-embedder"

    def __init__(self, dim: int = 64) -> None:
        self.dim = dim
        self.calls = 0

    def _vector(self, text: str) -> np.ndarray:
        vector = np.zeros(self.dim, dtype=np.float32)
        for stem in stems(text) or ["<empty>"]:
            digest = hashlib.blake2b(stem.encode(), digest_size=8).digest()
            slot = int.from_bytes(digest[:4], "little") % self.dim
            vector[slot] += 1.0 if digest[4] & 1 else -1.0
        vector += 0.01  # no zero vectors
        return vector / np.linalg.norm(vector)

    def encode_queries(self, texts: Sequence[str], *, language: str | None = None) -> np.ndarray:
        self.calls += 1
        return np.vstack([self._vector(t) for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    def encode_documents(self, texts: Sequence[str], *, progress: bool = False, language: str | None = None) -> np.ndarray:
        return self.encode_queries(texts)
