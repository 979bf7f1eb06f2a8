"""Queries through ONNX Runtime with an int8 copy of the model; documents through the original (fp32).

The transformer of the loaded sentence-transformers model is exported to ONNX once (``torch.onnx``) and its
weights quantised to int8 (onnxruntime's dynamic quantisation, per channel), kept beside the model with
the model's own tokenizer definition and what a query needs of its configuration (``encoder.json``).
``matchmaker bench speed`` times a shortlist's encode at 100,000 suppliers at 18.2 ms mean (the model's own
run 16.1) against 36.8 for PyTorch's int8 copy and 44.7 for fp32 (bench/results/speed.md). It is also
closer to fp32 than PyTorch's int8
copy (tests/test_onnx_queries.py checks it on the reference texts), and the int8 file is 118 MB. Stored
vectors stay fp32-encoded, so switching needs no re-indexing. Pooling (the mean over the tokens) and
normalising happen here, as the model's own modules do.

Encoding a query needs neither PyTorch nor the fp32 model: a serving process that embeds no documents
never loads them (the documents' embedder is loaded on its first use), which keeps about 600 MB out of it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from indexer.embedder import Embedder, Spans, encode_with_spans

log = logging.getLogger(__name__)

FILE = "query-int8.onnx"
TOKENIZER = "tokenizer.json"
SPEC = "encoder.json"  # written last: its presence says the directory is complete


def is_built(directory: Path) -> bool:
    return all((directory / name).exists() for name in (FILE, TOKENIZER, SPEC))


def declared_dimension(directory: Path) -> int | None:
    """The vectors' dimension, read from a built encoder without loading anything."""
    return int(json.loads((directory / SPEC).read_text())["dim"]) if is_built(directory) else None


def export_int8(model: Any, directory: Path) -> Path:
    """The model's transformer as an int8 ONNX file under ``directory``, with its tokenizer and the query
    settings (made once; ≈ 15 s here). Returns the directory."""
    if is_built(directory):
        return directory
    target = directory / FILE
    _export_transformer(model, directory, target)
    _write_spec(model, directory)
    return directory


def _export_transformer(model: Any, directory: Path, target: Path) -> None:
    if target.exists():
        return
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


def _write_spec(model: Any, directory: Path) -> None:
    """The fast tokenizer's own definition and what encoding a query needs of the model's settings."""
    tokenizer = model[0].tokenizer
    partial = directory / f"{TOKENIZER}.tmp"
    tokenizer.backend_tokenizer.save(str(partial))
    partial.replace(directory / TOKENIZER)
    get_dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    spec = {
        "dim": int(get_dim()),
        "max_tokens": int(model[0].max_seq_length),
        "query_prefix": (model.prompts or {}).get("query", ""),
        "pad_token": tokenizer.pad_token,
        "pad_id": int(tokenizer.pad_token_id),
    }
    partial = directory / f"{SPEC}.tmp"
    partial.write_text(json.dumps(spec, indent=2))
    partial.replace(directory / SPEC)


class OnnxQueryEmbedder:
    """``encode_queries`` through ONNX Runtime (int8); documents through ``documents`` (the fp32 model)."""

    def __init__(self, documents: Embedder, directory: Path, *, threads: int = 2) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        spec = json.loads((directory / SPEC).read_text())
        if int(spec["dim"]) != documents.dim:
            raise ValueError(f"{directory} encodes {spec['dim']}-dimensional queries; the documents have {documents.dim}")
        self.inner = documents
        self.dim = documents.dim
        self.name = documents.name  # documents are the inner model's: the indexes stay valid
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # No memory arena: it keeps the largest batch's activations for good (in a trial here, one batch of
        # 32 texts of 512 tokens left 2.4 GB resident, against 0.5 GB without it; a short query ran no
        # slower without it).
        options.enable_cpu_mem_arena = False
        self.session = ort.InferenceSession(str(directory / FILE), options, providers=["CPUExecutionProvider"])
        # The model's fast tokenizer itself, set once as the model calls it (truncate, pad to the longest):
        # settings fixed before any query, so threads may share it.
        self.tokenizer = Tokenizer.from_file(str(directory / TOKENIZER))
        self.tokenizer.enable_truncation(max_length=int(spec["max_tokens"]))
        self.tokenizer.enable_padding(pad_id=int(spec["pad_id"]), pad_token=str(spec["pad_token"]))
        self.prefix = str(spec["query_prefix"])

    def tokens(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Input ids and attention mask of a batch, as the model's tokenizer makes them."""
        encoded = self.tokenizer.encode_batch([self.prefix + t for t in texts])
        ids = np.array([e.ids for e in encoded], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
        return ids, mask

    def encode_queries(self, texts: Sequence[str], *, language: str | None = None) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        ids, mask = self.tokens(texts)
        hidden = self.session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
        pooled = (hidden * mask[..., None]).sum(axis=1) / np.maximum(mask.sum(axis=1, keepdims=True), 1)
        pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return np.ascontiguousarray(pooled, dtype=np.float32)

    def encode_documents(self, texts: Sequence[str], *, progress: bool = False, language: str | None = None) -> np.ndarray:
        return self.inner.encode_documents(texts, progress=progress)

    def encode_documents_with_spans(
        self, texts: Sequence[str], spans: Sequence[Spans], *, progress: bool = False
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        return encode_with_spans(self.inner, texts, spans, progress=progress)
