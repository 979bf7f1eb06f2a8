"""An embedder that remembers what it embedded: benchmarks that rebuild the same profiles at several
points in time (one store per year of award history) embed each distinct text once."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from indexer.embedder import Embedder, Spans, encode_with_spans


class MemoEmbedder:
    """Wraps an embedder; queries and documents (with their span vectors) are cached by text and by the
    language a caller named (a language-neutral embedder removes that language's mean)."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self._queries: dict[tuple[str, str | None], np.ndarray] = {}
        self._named: dict[tuple[str, str], np.ndarray] = {}  # documents embedded in a named language
        self._documents: dict[tuple[str, tuple[tuple[int, int], ...]], tuple[np.ndarray, np.ndarray]] = {}

    def encode_queries(self, texts: Sequence[str], *, language: str | None = None) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if (t, language) not in self._queries]
        if missing:
            vectors = self.inner.encode_queries(missing, language=language)
            self._queries.update(zip([(t, language) for t in missing], vectors, strict=True))
        return np.vstack([self._queries[(t, language)] for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    def encode_documents(self, texts: Sequence[str], *, progress: bool = False, language: str | None = None) -> np.ndarray:
        if language is None:
            vectors, _ = self.encode_documents_with_spans(texts, [() for _ in texts], progress=progress)
            return vectors
        missing = [t for t in dict.fromkeys(texts) if (t, language) not in self._named]
        if missing:
            found = self.inner.encode_documents(missing, progress=progress, language=language)
            self._named.update(zip([(t, language) for t in missing], found, strict=True))
        return np.vstack([self._named[(t, language)] for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    def encode_documents_with_spans(
        self, texts: Sequence[str], spans: Sequence[Spans], *, progress: bool = False
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        keys = [(t, tuple((a, b) for a, b in sp)) for t, sp in zip(texts, spans, strict=True)]
        missing = list(dict.fromkeys(k for k in keys if k not in self._documents))
        if missing:
            vectors, pooled = encode_with_spans(self.inner, [k[0] for k in missing], [k[1] for k in missing], progress=progress)
            self._documents.update(zip(missing, zip(vectors, pooled, strict=True), strict=True))
        if not keys:
            return np.zeros((0, self.dim), np.float32), []
        return np.vstack([self._documents[k][0] for k in keys]), [self._documents[k][1] for k in keys]
