"""The ONNX Runtime int8 query encoder against the fp32 model it is built from (real model)."""

from pathlib import Path

import numpy as np
import pytest

from indexer.int8_queries import Int8QueryEmbedder
from indexer.onnx_queries import FILE, SPEC, TOKENIZER, OnnxQueryEmbedder, export_int8
from service.reference import reference_texts

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def onnx_file(raw_embedder) -> Path:  # type: ignore[no-untyped-def]
    """The encoder's directory, as ``matchmaker model build`` leaves it."""
    from service.container import onnx_dir

    return export_int8(raw_embedder.model, onnx_dir(raw_embedder.name))


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
    weights = onnx_file / FILE
    before = weights.stat().st_mtime_ns
    assert export_int8(raw_embedder.model, onnx_file) == onnx_file and weights.stat().st_mtime_ns == before
    assert (onnx_file / SPEC).exists() and (onnx_file / TOKENIZER).exists() and not list(onnx_file.glob("*.tmp"))
    assert 50e6 < weights.stat().st_size < 200e6  # int8 weights: a quarter of the fp32 model's


def test_its_own_tokenizer_cuts_queries_into_the_models_tokens(raw_embedder, onnx_file: Path) -> None:  # type: ignore[no-untyped-def]
    """Queries are tokenised without the model's Python tokenizer (nor PyTorch): the same ids and masks,
    padding and truncation at the model's limit included."""
    texts = [*list(reference_texts())[:120], "snö", "ordet " * 900]
    onnx = OnnxQueryEmbedder(raw_embedder, onnx_file)
    ids, mask = onnx.tokens(texts)
    limit = raw_embedder.model.max_seq_length
    expected = raw_embedder.model.tokenizer(
        ["query: " + t for t in texts], padding=True, truncation=True, max_length=limit, return_tensors="np"
    )
    assert ids.shape[1] == limit
    np.testing.assert_array_equal(ids, expected["input_ids"])
    np.testing.assert_array_equal(mask, expected["attention_mask"])


def test_a_serving_process_with_the_onnx_encoder_loads_neither_the_model_nor_pytorch(tmp_path: Path) -> None:
    """Until a document is embedded: then the model is loaded, once, and embeds as the model does."""
    script = """
import sys
from pathlib import Path
from service.container import open_services
from service.settings import Settings
from service import shortlists
services = open_services(Settings(home=Path(sys.argv[1]), query_encoder="onnx-int8"))
shortlists.suppliers_for_text(services, "fossilfri snöröjning", k=5)
print("torch" in sys.modules, "sentence_transformers" in sys.modules)
services.embedder.encode_documents(["snöröjning"])
print("torch" in sys.modules)
"""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, timeout=300, check=True)
    assert done.stdout.split() == ["False", "False", "True"], done.stderr[-2000:]
