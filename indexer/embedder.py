"""The ``Embedder`` protocol and its sentence-transformers implementation.

Queries (the side being matched) get the model's ``query`` prompt, indexed documents its
``passage`` prompt. Models without such prompts are used as they are.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

log = logging.getLogger(__name__)


@runtime_checkable
class Embedder(Protocol):
    name: str
    dim: int

    def encode_queries(self, texts: Sequence[str], *, language: str | None = None) -> np.ndarray: ...

    def encode_documents(self, texts: Sequence[str], *, progress: bool = False, language: str | None = None) -> np.ndarray:
        """``language`` (sv/no/en), when the caller knows it, overrides per-text detection where an
        embedder uses it (short sentences of one profile share the profile's language)."""
        ...


class SentenceTransformerEmbedder:
    """Any sentence-transformers model by name or path, loaded once, offline."""

    def __init__(self, model: str, *, device: str | None = None, batch_size: int = 32) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # the weight-loading bar would pollute --json output

        self._model = SentenceTransformer(model, device=device or _best_device())
        self.name = _model_identity(model)
        get_dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        dim = get_dim()
        if dim is None:
            raise ValueError(f"{model} does not declare its embedding dimension")
        self.dim = int(dim)
        self._prompts = self._model.prompts or {}
        self._batch_size = batch_size
        self._lock = threading.Lock()  # one forward pass at a time: torch already uses every core
        log.info("loaded embedding model %s (dim %d) on %s", self.name, self.dim, self._model.device)

    def _encode(self, texts: Sequence[str], prompt: str, progress: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        prompt_name = prompt if self._prompts.get(prompt) else None
        with self._lock:
            # sentence-transformers sorts each call's texts by length before batching.
            vectors = self._model.encode(
                list(texts),
                prompt_name=prompt_name,
                batch_size=self._batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=progress,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def encode_queries(self, texts: Sequence[str], *, language: str | None = None) -> np.ndarray:
        return self._encode(texts, "query", False)

    def encode_documents(self, texts: Sequence[str], *, progress: bool = False, language: str | None = None) -> np.ndarray:
        return self._encode(texts, "passage", progress)


def _best_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _model_identity(model: str) -> str:
    """A stable name for index metadata: the directory name for local models, else the hub name."""
    path = Path(model)
    return path.name if path.exists() else model
