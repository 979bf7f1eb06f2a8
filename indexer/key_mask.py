"""A set of row keys as a bitmap over the key space: what a filtered search hands to its indexes.

Row keys are the store's integer primary keys, dense from 1, so one byte per possible key (100 kB at
100,000 rows) holds any filter's answer. Both indexes test membership on it without Python loops: the
lexical index looks its slots' keys up at once, and FAISS reads the packed bits through an
``IDSelectorBitmap`` (a lookup per vector, where an ``IDSelectorBatch`` built from a key list first hashes
every allowed key).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class KeyMask:
    """``bits[key]`` is true for the keys in the set; keys past its end are not in it."""

    bits: np.ndarray

    @classmethod
    def of(cls, keys: Iterable[int]) -> KeyMask:
        array = np.fromiter((int(k) for k in keys), dtype=np.int64)
        if len(array) and array.min() < 0:
            raise ValueError("row keys are never negative")
        bits = np.zeros(int(array.max()) + 1 if len(array) else 0, dtype=bool)
        bits[array] = True
        return cls(bits)

    def __len__(self) -> int:
        return int(np.count_nonzero(self.bits))

    def __contains__(self, key: object) -> bool:
        return isinstance(key, int | np.integer) and 0 <= int(key) < len(self.bits) and bool(self.bits[int(key)])

    def keys(self) -> np.ndarray:
        """The keys in the set, ascending."""
        return np.flatnonzero(self.bits)

    def contains_each(self, keys: np.ndarray) -> np.ndarray:
        """A boolean per key of ``keys`` (any integers, negative or past the end included)."""
        keys = np.asarray(keys, dtype=np.int64)
        inside = (keys >= 0) & (keys < len(self.bits))
        out = np.zeros(len(keys), dtype=bool)
        out[inside] = self.bits[keys[inside]]
        return out

    def packed(self) -> np.ndarray:
        """The bits eight to a byte, lowest key in the lowest bit: the layout of FAISS's ``IDSelectorBitmap``."""
        packed = np.packbits(self.bits, bitorder="little")
        return packed if len(packed) else np.zeros(1, dtype=np.uint8)
