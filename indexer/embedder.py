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
from typing import Any, Protocol, runtime_checkable

import numpy as np

from matcher.analysis import detect_language

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


Spans = Sequence[tuple[int, int]]


def encode_with_spans(
    embedder: Embedder, texts: Sequence[str], spans: Sequence[Spans], *, progress: bool = False
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Document vectors, and for each document one unit vector per character span of it.

    Embedders that can pool spans out of the document's own forward pass do (``encode_documents_with_spans``);
    others embed each span's text on its own, in the document's language. A span the model never read
    (past its token limit) gets a zero vector.
    """
    native = getattr(embedder, "encode_documents_with_spans", None)
    if native is not None:
        vectors, pooled = native(texts, spans, progress=progress)
        return vectors, pooled
    vectors = embedder.encode_documents(texts, progress=progress)
    return vectors, [_encode_pieces(embedder, text, text_spans) for text, text_spans in zip(texts, spans, strict=True)]


def _encode_pieces(embedder: Embedder, text: str, spans: Spans) -> np.ndarray:
    if not spans:
        return np.zeros((0, embedder.dim), dtype=np.float32)
    return embedder.encode_documents([text[a:b] for a, b in spans], language=detect_language(text))


class SentenceTransformerEmbedder:
    """Any sentence-transformers model by name or path, loaded once, offline.

    Given its ``dim``, the model is loaded only when first used: a process whose queries another encoder
    makes (indexer/onnx_queries.py) and which embeds no documents never loads it, nor PyTorch.
    """

    def __init__(self, model: str, *, device: str | None = None, batch_size: int = 32, dim: int | None = None) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        self._source = model
        self._device = device
        self._model: Any = None
        self._loading = threading.Lock()
        self.name = model_identity(model)
        self._batch_size = batch_size
        self.forward_lock = threading.Lock()  # one forward pass at a time: torch already uses every core
        if dim is None:
            self._load()
        else:
            self.dim = dim

    def _load(self) -> Any:
        with self._loading:
            if self._model is not None:
                return self._model
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()  # the weight-loading bar would pollute --json output
            loaded = SentenceTransformer(self._source, device=self._device or best_device())
            get_dim = getattr(loaded, "get_embedding_dimension", None) or loaded.get_sentence_embedding_dimension
            dim = get_dim()
            if dim is None:
                raise ValueError(f"{self._source} does not declare its embedding dimension")
            if getattr(self, "dim", int(dim)) != int(dim):
                raise ValueError(f"{self._source} makes {dim}-dimensional vectors, not {self.dim}")
            self.dim = int(dim)
            self._prompts = loaded.prompts or {}
            self._model = loaded
            log.info("loaded embedding model %s (dim %d) on %s", self.name, self.dim, loaded.device)
            return loaded

    @property
    def loaded(self) -> bool:
        return self._model is not None

    @property
    def model(self) -> Any:
        """The loaded sentence-transformers model (loaded now if it was not yet)."""
        return self._model if self._model is not None else self._load()

    def _encode(self, texts: Sequence[str], prompt: str, progress: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        model = self.model
        prompt_name = prompt if self._prompts.get(prompt) else None
        with self.forward_lock:
            # sentence-transformers sorts each call's texts by length before batching.
            vectors = model.encode(
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

    def encode_documents_with_spans(
        self, texts: Sequence[str], spans: Sequence[Spans], *, progress: bool = False
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Passage vectors, and span vectors mean-pooled from the same pass's token embeddings."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32), []
        model = self.model
        prompt = self._prompts.get("passage") or ""
        with self.forward_lock:
            outputs: list[dict[str, Any]] = model.encode(  # type: ignore[assignment]
                list(texts),
                prompt_name="passage" if prompt else None,
                batch_size=self._batch_size,
                normalize_embeddings=True,
                output_value=None,
                show_progress_bar=progress,
            )
        tokenizer = model.tokenizer
        encoded = tokenizer(
            [prompt + t for t in texts], return_offsets_mapping=True, truncation=True, max_length=model.max_seq_length
        )
        vectors = np.vstack([o["sentence_embedding"].float().numpy() for o in outputs]).astype(np.float32)
        pooled = []
        for i, (text, text_spans) in enumerate(zip(texts, spans, strict=True)):
            ids, offsets = encoded["input_ids"][i], np.asarray(encoded["offset_mapping"][i]).reshape(-1, 2)
            tokens = outputs[i]["token_embeddings"][: len(ids)].float().numpy()
            if outputs[i]["input_ids"][: len(ids)].tolist() != list(ids):  # tokenised differently: embed the spans
                log.warning("token offsets do not match the model's input; embedding %d spans separately", len(text_spans))
                pooled.append(_encode_pieces(self, text, text_spans))
                continue
            pooled.append(pool_spans(tokens, offsets - len(prompt), text_spans))
        return np.ascontiguousarray(vectors), pooled


def pool_spans(tokens: np.ndarray, offsets: np.ndarray, spans: Spans) -> np.ndarray:
    """Unit mean of the token vectors overlapping each (start, end) span; zero where none does."""
    pooled = np.zeros((len(spans), tokens.shape[1]), dtype=np.float32)
    real = offsets[:, 1] > offsets[:, 0]  # special and padding tokens have empty offsets
    for j, (start, end) in enumerate(spans):
        inside = real & (offsets[:, 0] < end) & (offsets[:, 1] > start)
        if inside.any():
            mean = tokens[inside].mean(axis=0)
            pooled[j] = mean / max(float(np.linalg.norm(mean)), 1e-12)
    return pooled


def best_device() -> str:
    """cuda when PyTorch sees a GPU. Without an NVIDIA driver there is none, and PyTorch (≈ 250 MB) is not
    imported to learn it."""
    if not Path("/proc/driver/nvidia").exists():
        return "cpu"
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def model_identity(model: str) -> str:
    """A stable name for index metadata: the directory name for local models, else the hub name."""
    path = Path(model)
    return path.name if path.exists() else model
