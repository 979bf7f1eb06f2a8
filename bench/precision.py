"""The served embedder and its twins with the other query encoders, for side-by-side benchmarks.

All share the loaded model, its documents' encoder and the language means, so they search the same
indexes: only the query encoder differs (indexer/int8_queries.py, indexer/onnx_queries.py).
"""

from __future__ import annotations

from pathlib import Path

from indexer.embedder import Embedder, SentenceTransformerEmbedder
from indexer.int8_queries import Int8QueryEmbedder
from indexer.language_neutral import LanguageNeutralEmbedder
from indexer.onnx_queries import OnnxQueryEmbedder, export_int8


def query_precision(embedder: Embedder) -> str:
    inner = embedder.inner if isinstance(embedder, LanguageNeutralEmbedder) else embedder
    if isinstance(inner, OnnxQueryEmbedder):
        return "ONNX int8"
    return "int8" if isinstance(inner, Int8QueryEmbedder) else "fp32"


def other_encoders(embedder: Embedder, onnx_path: Path | None) -> list[tuple[str, Embedder]]:
    """Every query encoder the service is not using (fp32, PyTorch int8, ONNX int8 when ``onnx_path`` is
    given), sharing the loaded model, its documents' encoder and the language means."""
    neutral = embedder if isinstance(embedder, LanguageNeutralEmbedder) else None
    inner = neutral.inner if neutral else embedder
    loaded = inner.inner if isinstance(inner, Int8QueryEmbedder | OnnxQueryEmbedder) else inner
    if not isinstance(loaded, SentenceTransformerEmbedder) or str(loaded.model.device) != "cpu":
        return []
    twins: list[tuple[str, Embedder]] = []
    if loaded is not inner:
        twins.append(("fp32", loaded))
    if not isinstance(inner, Int8QueryEmbedder):
        twins.append(("int8", Int8QueryEmbedder(loaded)))
    if onnx_path is not None and not isinstance(inner, OnnxQueryEmbedder):
        twins.append(("ONNX int8", OnnxQueryEmbedder(loaded, onnx_path)))
    return [(label, LanguageNeutralEmbedder(twin, neutral.means) if neutral else twin) for label, twin in twins]


def onnx_encoder(embedder: Embedder) -> Path | None:
    """The directory of the ONNX int8 query encoder of the embedder's model (built if missing), or None off
    a CPU."""
    from service.container import onnx_dir

    neutral = embedder.inner if isinstance(embedder, LanguageNeutralEmbedder) else embedder
    loaded = neutral.inner if isinstance(neutral, Int8QueryEmbedder | OnnxQueryEmbedder) else neutral
    if not isinstance(loaded, SentenceTransformerEmbedder) or str(loaded.model.device) != "cpu":
        return None
    return export_int8(loaded.model, onnx_dir(loaded.name))
