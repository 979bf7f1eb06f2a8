"""Queries through ONNX Runtime with an int8 copy of the model; documents through the original (fp32).

The transformer of the loaded sentence-transformers model is exported to ONNX once (``torch.onnx``) and its
weights quantised to int8 (onnxruntime's dynamic quantisation, per channel), kept beside the model.
``matchmaker bench speed --quick`` times a shortlist's encode at 14.0 ms mean against 34.5 for PyTorch's
int8 copy and 51.6 for fp32 (bench/results/speed_quick.md). It is also closer to fp32 than PyTorch's int8
copy (tests/test_onnx_queries.py checks it on the reference texts), and the int8 file is 118 MB. Stored
vectors stay fp32-encoded, so switching needs no re-indexing. Pooling (the mean over the tokens) and
normalising happen here, as the model's own modules do.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from indexer.embedder import SentenceTransformerEmbedder, Spans

log = logging.getLogger(__name__)

FILE = "query-int8.onnx"


def export_int8(model: Any, directory: Path) -> Path:
    """The model's transformer as an int8 ONNX file under ``directory`` (made once; ≈ 15 s here)."""
    target = directory / FILE
    if target.exists():
        return target
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    directory.mkdir(parents=True, exist_ok=True)
    transformer = model[0].auto_model.eval()

    class LastHiddenState(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            return self.transformer(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    example = model[0].tokenizer(["query: fossil-free snow clearing"], return_tensors="pt")
    fp32 = directory / "query-fp32.onnx.tmp"
    axes = {"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"}}
    with torch.inference_mode():
        torch.onnx.export(
            LastHiddenState().eval(),
            (example["input_ids"], example["attention_mask"]),
            str(fp32),
            input_names=["input_ids", "attention_mask"],
            output_names=["last_hidden_state"],
            dynamic_axes={**axes, "last_hidden_state": {0: "batch", 1: "tokens"}},
            opset_version=17,
            dynamo=False,
        )
    partial = directory / f"{FILE}.tmp"
    quantize_dynamic(str(fp32), str(partial), weight_type=QuantType.QInt8, per_channel=True)
    fp32.unlink()
    partial.replace(target)  # whole or absent: a crash mid-build leaves no half file to load
    log.info("built the int8 ONNX query encoder: %s (%.0f MB)", target, target.stat().st_size / 1e6)
    return target


class OnnxQueryEmbedder:
    """``encode_queries`` through ONNX Runtime (int8); everything else through the loaded model."""

    def __init__(self, inner: SentenceTransformerEmbedder, path: Path, *, threads: int = 2) -> None:
        import onnxruntime as ort

        self.inner = inner
        self.dim = inner.dim
        self.name = inner.name  # documents are the inner model's: the indexes stay valid
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        transformer = inner.model[0]
        self.tokenizer = transformer.tokenizer
        self.max_tokens = int(transformer.max_seq_length)
        self.prefix = (inner.model.prompts or {}).get("query", "")
        self._tokenizer_lock = threading.Lock()  # a fast tokenizer is not to be shared across threads at once

    def encode_queries(self, texts: Sequence[str], *, language: str | None = None) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._tokenizer_lock:
            tokens = self.tokenizer(
                [self.prefix + t for t in texts], padding=True, truncation=True, max_length=self.max_tokens, return_tensors="np"
            )
        mask = tokens["attention_mask"].astype(np.int64)
        hidden = self.session.run(None, {"input_ids": tokens["input_ids"].astype(np.int64), "attention_mask": mask})[0]
        pooled = (hidden * mask[..., None]).sum(axis=1) / np.maximum(mask.sum(axis=1, keepdims=True), 1)
        pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return np.ascontiguousarray(pooled, dtype=np.float32)

    def encode_documents(self, texts: Sequence[str], *, progress: bool = False, language: str | None = None) -> np.ndarray:
        return self.inner.encode_documents(texts, progress=progress)

    def encode_documents_with_spans(
        self, texts: Sequence[str], spans: Sequence[Spans], *, progress: bool = False
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        return self.inner.encode_documents_with_spans(texts, spans, progress=progress)
