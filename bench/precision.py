"""The served embedder and its twin with the other query precision, for side-by-side benchmarks.

Both share the loaded model, its documents' encoder and the language means, so they search the same
indexes: only the query encoder differs (indexer/int8_queries.py).
"""

from __future__ import annotations

from indexer.embedder import Embedder, SentenceTransformerEmbedder
from indexer.int8_queries import Int8QueryEmbedder
from indexer.language_neutral import LanguageNeutralEmbedder


def query_precision(embedder: Embedder) -> str:
    inner = embedder.inner if isinstance(embedder, LanguageNeutralEmbedder) else embedder
    return "int8" if isinstance(inner, Int8QueryEmbedder) else "fp32"


def other_precision(embedder: Embedder) -> tuple[str, Embedder] | None:
    """``(precision, embedder)`` with the query precision the service is not using, when it runs a local model."""
    neutral = embedder if isinstance(embedder, LanguageNeutralEmbedder) else None
    inner = neutral.inner if neutral else embedder
    twin: Embedder
    if isinstance(inner, Int8QueryEmbedder):
        label, twin = "fp32", inner.inner
    elif isinstance(inner, SentenceTransformerEmbedder) and str(inner.model.device) == "cpu":
        label, twin = "int8", Int8QueryEmbedder(inner)
    else:
        return None
    return label, (LanguageNeutralEmbedder(twin, neutral.means) if neutral else twin)
