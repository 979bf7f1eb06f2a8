"""Queries through an int8 copy of the model, documents through the original.

Query encoding is most of a shortlist's time on a CPU (a need description: ~60 ms of ~70). Dynamic
int8 quantization of the transformer's linear layers (per-channel weights, activations quantized on
the fly) roughly halves it. Stored vectors stay fp32-encoded, so switching it on or off needs no
re-indexing. It moves each query vector a little (cosine to fp32 > 0.97) and, on the sample's
hand-judged needs, left recall@10, MRR and nDCG@10 within 0.013 of fp32 (``matchmaker bench sample``;
``bench speed`` measures the time of both side by side), so it is the default on a CPU;
``MATCHMAKER_QUERY_PRECISION=fp32`` switches it off.

``torch.ao.quantization`` is deprecated upstream but works in the pinned torch 2.13.0 (its warnings are
silenced here); a later torch would need torchao or ONNX Runtime for the same thing.
"""

from __future__ import annotations

import copy
import threading
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from indexer.embedder import SentenceTransformerEmbedder, Spans


def int8_copy(model: Any) -> Any:
    """A copy of a sentence-transformers model whose linear layers run in int8 (the word embeddings
    are shared with the original, not copied)."""
    import torch

    clone = copy.deepcopy(model)
    transformer = clone[0].auto_model
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*(torch.ao.quantization|quantize_per).*")
        torch.ao.quantization.quantize_dynamic(
            transformer, {torch.nn.Linear: torch.ao.quantization.per_channel_dynamic_qconfig}, inplace=True
        )
    transformer.embeddings = model[0].auto_model.embeddings
    return clone


class Int8QueryEmbedder:
    def __init__(self, inner: SentenceTransformerEmbedder) -> None:
        self.inner = inner
        self.dim = inner.dim
        self.name = inner.name  # documents are the inner model's: the indexes stay valid
        self._queries = int8_copy(inner.model)
        self._prompt = "query" if (inner.model.prompts or {}).get("query") else None
        self._lock = threading.Lock()

    def encode_queries(self, texts: Sequence[str], *, language: str | None = None) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            vectors = self._queries.encode(
                list(texts), prompt_name=self._prompt, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def encode_documents(self, texts: Sequence[str], *, progress: bool = False, language: str | None = None) -> np.ndarray:
        return self.inner.encode_documents(texts, progress=progress)

    def encode_documents_with_spans(
        self, texts: Sequence[str], spans: Sequence[Spans], *, progress: bool = False
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        return self.inner.encode_documents_with_spans(texts, spans, progress=progress)
