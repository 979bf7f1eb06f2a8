"""The benchmarks' memoising embedder gives what the embedder gives, once per text and named language."""

import numpy as np

from bench.memo_embedder import MemoEmbedder
from tests.fakes import HashingEmbedder


class Counting(HashingEmbedder):
    def __init__(self) -> None:
        super().__init__()
        self.batches: list[tuple[str, ...]] = []

    def encode_documents(self, texts, *, progress=False, language=None):  # type: ignore[no-untyped-def]
        self.batches.append(tuple(texts))
        vectors = super().encode_documents(texts, progress=progress, language=language)
        return vectors + (0.5 if language == "sv" else 0.0)  # a named language changes the vector


def test_each_text_is_embedded_once_and_a_named_language_is_kept_apart() -> None:
    inner = Counting()
    memo = MemoEmbedder(inner)
    first = memo.encode_documents(["snow clearing", "road gritting"])
    again = memo.encode_documents(["road gritting", "snow clearing"])
    np.testing.assert_allclose(again, first[::-1])
    np.testing.assert_allclose(first, HashingEmbedder().encode_documents(["snow clearing", "road gritting"]))
    swedish = memo.encode_documents(["snow clearing"], language="sv")
    assert not np.allclose(swedish[0], first[0]), "a vector embedded in another language is not served from the cache"
    memo.encode_documents(["snow clearing"], language="sv")
    assert sum(len(c) for c in inner.batches) == 3
