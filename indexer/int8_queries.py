"""Queries through an int8 copy of the model, documents through the original.

Query encoding is most of a shortlist's time on a CPU (a need description: ~60 ms of ~70). Dynamic
int8 quantization of the transformer's linear layers (per-channel weights, activations quantized on
the fly) roughly halves it. Stored vectors stay fp32-encoded, so switching it on or off needs no
re-indexing. It moves each query vector a little (cosine to fp32 > 0.97) and, on the sample's
hand-judged needs, left recall@10, MRR and nDCG@10 within 0.013 of fp32 (``matchmaker bench sample``;
``bench speed`` measures the time of both side by side). It was the default on a CPU until ONNX
Runtime's int8 encoder (indexer/onnx_queries.py) proved faster at the same quality;
``MATCHMAKER_QUERY_ENCODER=torch-int8`` still chooses it.

``torch.ao.quantization`` is deprecated upstream but works in the pinned torch 2.13.0 (its warnings are
silenced here); a later torch would need torchao or ONNX Runtime for the same thing.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from indexer.embedder import SentenceTransformerEmbedder, Spans
from indexer.memory import release_freed_memory


def int8_copy(model: Any) -> Any:
    """A copy of a sentence-transformers model whose linear layers run in int8. The word embeddings
    (250,000 × 384, most of the model's 450 MB) and the tokenizer (~290 MB resident) are shared with
    the original, not copied: copying them had the process peak at 2.0 GB and keep 1.6 GB."""
    import torch

    transformer = model[0]
    shared = (transformer.auto_model.embeddings, transformer.tokenizer)
    clone = copy.deepcopy(model, memo={id(part): part for part in shared})
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*(torch.ao.quantization|quantize_per).*")
        torch.ao.quantization.quantize_dynamic(
            clone[0].auto_model, {torch.nn.Linear: torch.ao.quantization.per_channel_dynamic_qconfig}, inplace=True
        )
    release_freed_memory()  # the fp32 linear layers the quantized ones replaced (~90 MB)
    return clone


class Int8QueryEmbedder:
    def __init__(self, inner: SentenceTransformerEmbedder) -> None:
        self.inner = inner
        self.dim = inner.dim
        self.name = inner.name  # documents are the inner model's: the indexes stay valid
        self.query_model = int8_copy(inner.model)
        self._prompt = "query" if (inner.model.prompts or {}).get("query") else None
        self._lock = inner.forward_lock  # one tokenizer for both: a fast tokenizer is not shareable across threads

    def encode_queries(self, texts: Sequence[str], *, language: str | None = None) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            vectors = self.query_model.encode(
                list(texts), prompt_name=self._prompt, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def encode_documents(self, texts: Sequence[str], *, progress: bool = False, language: str | None = None) -> np.ndarray:
        return self.inner.encode_documents(texts, progress=progress)

    def encode_documents_with_spans(
        self, texts: Sequence[str], spans: Sequence[Spans], *, progress: bool = False
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        return self.inner.encode_documents_with_spans(texts, spans, progress=progress)
