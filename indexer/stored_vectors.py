"""Turning embeddings into database rows and back: a row's document vector and its passages' int8
codes travel as bytes (store/index_models.py ``RowVector``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from indexer.passage_vectors import quantise
from store.index_models import RowVector


@dataclass(frozen=True)
class Embedded:
    """What embedding one row revision produced."""

    key: int
    revision: int
    vector: np.ndarray  # (dim,) float32
    passages: np.ndarray  # (n, dim) float32


def to_row(model: str, kind: str, embedded: Embedded, stamp: int) -> RowVector:
    codes, scales = quantise(np.asarray(embedded.passages, dtype=np.float32).reshape(-1, len(embedded.vector)))
    return RowVector(
        model=model,
        kind=kind,
        row_key=int(embedded.key),
        revision=int(embedded.revision),
        stamp=int(stamp),
        vector=np.asarray(embedded.vector, dtype="<f4").tobytes(),
        passage_codes=codes.astype(np.int8).tobytes(),
        passage_scales=scales.astype("<f4").tobytes(),
    )


def vector_of(entry: RowVector) -> np.ndarray:
    return np.frombuffer(entry.vector, dtype="<f4").astype(np.float32)


def passages_of(entry: RowVector, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """The int8 codes (n, dim) and their scales (n,), as indexer/passage_vectors.py keeps them."""
    codes = np.frombuffer(entry.passage_codes, dtype=np.int8).reshape(-1, dim).copy()
    scales = np.frombuffer(entry.passage_scales, dtype="<f4").astype(np.float32)
    return codes, scales
