"""The int8 query encoder against the fp32 model it copies (real model)."""

import numpy as np
import pytest

from indexer.int8_queries import Int8QueryEmbedder

pytestmark = pytest.mark.model

TEXTS = [
    "Automatisk varsling av fall hos hjemmeboende eldre, uten kamera",
    "Fossilfri snöröjning av kommunala gator med eldrivna maskiner",
    "Digital remote monitoring of patients with heart failure after discharge",
]


def test_int8_queries_stay_close_to_fp32_and_documents_are_untouched(raw_embedder) -> None:  # type: ignore[no-untyped-def]
    int8 = Int8QueryEmbedder(raw_embedder)
    fp32_queries, int8_queries = raw_embedder.encode_queries(TEXTS), int8.encode_queries(TEXTS)
    cosines = (fp32_queries * int8_queries).sum(axis=1)
    assert cosines.min() > 0.97 and cosines.max() < 0.99999  # close, and really quantized
    assert np.array_equal(int8.encode_documents(TEXTS), raw_embedder.encode_documents(TEXTS))
    assert int8.name == raw_embedder.name and int8.dim == raw_embedder.dim
    # the copy shares the word embeddings and the tokenizer (most of the memory) and changes nothing
    original, copy = raw_embedder.model[0], int8.query_model[0]
    assert copy.auto_model.embeddings is original.auto_model.embeddings and copy.tokenizer is original.tokenizer
    assert copy.auto_model.encoder is not original.auto_model.encoder
    assert np.allclose(raw_embedder.encode_queries(TEXTS), fp32_queries, atol=1e-6)
