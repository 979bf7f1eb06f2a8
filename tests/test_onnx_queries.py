"""The ONNX Runtime int8 query encoder against the fp32 model it is built from (real model)."""

from pathlib import Path

import numpy as np
import pytest

from indexer.int8_queries import Int8QueryEmbedder
from indexer.onnx_queries import FILE, OnnxQueryEmbedder, export_int8
from service.reference import reference_texts

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def onnx_file(raw_embedder) -> Path:  # type: ignore[no-untyped-def]
    from service.container import onnx_dir

    return export_int8(raw_embedder.model, onnx_dir(raw_embedder))


def test_onnx_int8_queries_are_closer_to_fp32_than_torch_int8(raw_embedder, onnx_file: Path) -> None:  # type: ignore[no-untyped-def]
    texts = list(reference_texts())[:120]  # the mixed sv/no/en texts
    onnx = OnnxQueryEmbedder(raw_embedder, onnx_file)
    fp32 = raw_embedder.encode_queries(texts)
    onnx_cosines = (fp32 * onnx.encode_queries(texts)).sum(axis=1)
    torch_cosines = (fp32 * Int8QueryEmbedder(raw_embedder).encode_queries(texts)).sum(axis=1)
    assert onnx_cosines.min() > 0.99 and onnx_cosines.max() < 0.99999  # close, and really quantized
    assert np.median(onnx_cosines) > np.median(torch_cosines)
    assert onnx.name == raw_embedder.name and onnx.dim == raw_embedder.dim  # the same indexes serve it


def test_a_batch_moves_a_query_less_than_torch_int8_does(raw_embedder, onnx_file: Path) -> None:  # type: ignore[no-untyped-def]
    """Padding is masked out of the mean, but dynamic int8 scales activations per batch: a query's vector
    moves a little with its batch-mates (fp32: not at all). Measured: ONNX ≥ 0.996, PyTorch int8 ≈ 0.991."""
    texts = ["snöröjning", "Automatisk varsling av fall hos hjemmeboende eldre, uten kamera og uten mikrofon i stua"]

    def moved(encoder: object) -> np.ndarray:
        together = encoder.encode_queries(texts)  # type: ignore[attr-defined]
        alone = np.vstack([encoder.encode_queries([t]) for t in texts])  # type: ignore[attr-defined]
        return (together * alone).sum(axis=1)

    onnx = OnnxQueryEmbedder(raw_embedder, onnx_file)
    assert moved(onnx).min() > 0.99 and moved(onnx).min() > moved(Int8QueryEmbedder(raw_embedder)).min()
    assert onnx.encode_queries([]).shape == (0, raw_embedder.dim)


def test_the_file_is_built_once_and_whole(raw_embedder, onnx_file: Path) -> None:  # type: ignore[no-untyped-def]
    before = onnx_file.stat().st_mtime_ns
    assert export_int8(raw_embedder.model, onnx_file.parent) == onnx_file and onnx_file.stat().st_mtime_ns == before
    assert onnx_file.name == FILE and not list(onnx_file.parent.glob("*.tmp"))
    assert 50e6 < onnx_file.stat().st_size < 200e6  # int8 weights: a quarter of the fp32 model's
