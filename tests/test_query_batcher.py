"""Concurrent queries share model passes, and each caller still gets its own text's vector."""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from indexer.query_batcher import QueryBatcher
from tests.fakes import HashingEmbedder


class SlowEmbedder(HashingEmbedder):
    """A model pass that takes a while, so queries arriving meanwhile have to wait for the next one."""

    def __init__(self) -> None:
        super().__init__()
        self.passes: list[list[str]] = []

    def encode_queries(self, texts: Sequence[str], *, language: str | None = None) -> np.ndarray:
        self.passes.append(list(texts))
        time.sleep(0.05)
        if "explode" in texts:
            raise RuntimeError("model failed")
        return super().encode_queries(texts)


def test_alone_a_query_is_encoded_as_a_batch_of_one() -> None:
    model = SlowEmbedder()
    batcher = QueryBatcher(model)

    vector = batcher.encode("fall detection at home")

    np.testing.assert_array_equal(vector, HashingEmbedder().encode_queries(["fall detection at home"])[0])
    assert model.passes == [["fall detection at home"]]


def test_queries_arriving_during_a_pass_share_the_next_one_and_get_their_own_vectors() -> None:
    model = SlowEmbedder()
    batcher = QueryBatcher(model, max_batch=32)
    texts = [f"need number {i}" for i in range(24)]

    with ThreadPoolExecutor(24) as pool:
        vectors = list(pool.map(batcher.encode, texts))

    expected = HashingEmbedder().encode_queries(texts)
    for vector, want in zip(vectors, expected, strict=True):
        np.testing.assert_array_equal(vector, want)
    assert sorted(t for call in model.passes for t in call) == sorted(texts)  # each text encoded once
    assert len(model.passes) < len(texts) / 2
    assert max(len(call) for call in model.passes) > 1


def test_a_batch_never_exceeds_its_limit() -> None:
    model = SlowEmbedder()
    batcher = QueryBatcher(model, max_batch=4)

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(batcher.encode, [f"q{i}" for i in range(16)]))

    assert max(len(call) for call in model.passes) <= 4
    assert sum(len(call) for call in model.passes) == 16


def test_a_failing_pass_fails_its_callers_and_the_worker_goes_on() -> None:
    model = SlowEmbedder()
    batcher = QueryBatcher(model)

    with ThreadPoolExecutor(3) as pool:
        first = pool.submit(batcher.encode, "first")
        time.sleep(0.01)  # "first" is in the model for 50 ms; the next two wait and share a pass
        failing = pool.submit(batcher.encode, "explode")
        neighbour = pool.submit(batcher.encode, "neighbour")
        assert first.result() is not None
        with pytest.raises(RuntimeError, match="model failed"):
            failing.result()
        with pytest.raises(RuntimeError, match="model failed"):
            neighbour.result()

    assert sorted(model.passes[1]) == ["explode", "neighbour"]
    np.testing.assert_array_equal(batcher.encode("after"), HashingEmbedder().encode_queries(["after"])[0])


def test_the_worker_ends_when_idle_and_a_new_one_starts_for_the_next_query() -> None:
    model = SlowEmbedder()
    batcher = QueryBatcher(model, idle_seconds=0.05)
    batcher.encode("one")
    deadline = time.monotonic() + 5
    while batcher._worker is not None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert batcher._worker is None

    batcher.encode("two")

    assert model.passes == [["one"], ["two"]]
