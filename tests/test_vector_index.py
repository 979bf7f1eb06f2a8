"""A conformance suite every ``VectorIndex`` passes: subclass it and override ``make_index``."""

from pathlib import Path

import numpy as np
import pytest

from indexer.vector_index import FaissVectorIndex, IndexMeta, IndexMismatchError, VectorIndex

DIM = 16


def unit_rows(n: int, seed: int) -> np.ndarray:
    rows = np.random.default_rng(seed).normal(size=(n, DIM)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


class VectorIndexConformance:
    def make_index(self) -> VectorIndex:
        raise NotImplementedError

    @pytest.fixture
    def index(self) -> VectorIndex:
        index = self.make_index()
        index.add([10, 20, 30, 40], unit_rows(4, 1), [1, 2, 3, 4])
        return index

    def test_search_finds_the_exact_vector_first(self, index: VectorIndex) -> None:
        keys, scores = index.search(unit_rows(4, 1)[2], 2)
        assert keys[0] == 30 and scores[0] == pytest.approx(1.0, abs=1e-3)  # stored as float16
        assert scores[0] >= scores[1]

    def test_search_is_restricted_exactly_to_allowed_keys(self, index: VectorIndex) -> None:
        keys, _ = index.search(unit_rows(4, 1)[2], 10, allowed=[10, 40])
        assert sorted(keys.tolist()) == [10, 40]
        assert index.search(unit_rows(4, 1)[2], 10, allowed=[])[0].size == 0

    def test_add_replaces_and_remove_forgets(self, index: VectorIndex) -> None:
        replacement = unit_rows(1, 9)
        index.add([20], replacement, [7])
        assert len(index) == 4 and index.revisions()[20] == 7
        np.testing.assert_allclose(index.vectors([20])[0], replacement[0], atol=1e-3)
        assert index.remove([20, 999]) == 1
        assert 20 not in index.search(replacement[0], 10)[0].tolist()
        assert index.revisions() == {10: 1, 30: 3, 40: 4}

    def test_wrong_shapes_are_refused(self, index: VectorIndex) -> None:
        with pytest.raises(ValueError):
            index.add([1, 2], unit_rows(1, 3), [1, 1])


class TestFaissVectorIndex(VectorIndexConformance):
    def make_index(self) -> VectorIndex:
        return FaissVectorIndex(DIM)

    def test_save_and_load_round_trip(self, index: FaissVectorIndex, tmp_path: Path) -> None:
        path = tmp_path / "idx.npz"
        index.save(path, IndexMeta(model="m", dim=DIM, count=len(index), revision=4))
        loaded, meta = FaissVectorIndex.load(path, expect_model="m", expect_dim=DIM)
        assert meta.revision == 4 and loaded.revisions() == index.revisions()
        assert loaded.search(unit_rows(4, 1)[0], 1)[0].tolist() == [10]
        assert not list(tmp_path.glob(".*.tmp")), "no temporary file is left behind"

    def test_an_index_from_another_model_is_refused(self, index: FaissVectorIndex, tmp_path: Path) -> None:
        path = tmp_path / "idx.npz"
        index.save(path, IndexMeta(model="other-model", dim=DIM, count=len(index), revision=4))
        with pytest.raises(IndexMismatchError, match="other-model"):
            FaissVectorIndex.load(path, expect_model="m", expect_dim=DIM)

    def test_a_failed_save_keeps_the_previous_file(self, index: FaissVectorIndex, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
        path = tmp_path / "idx.npz"
        index.save(path, IndexMeta(model="m", dim=DIM, count=4, revision=4))
        before = path.read_bytes()

        def explode(*_args, **_kwargs):  # type: ignore[no-untyped-def]
            raise OSError("disk full")

        monkeypatch.setattr(np, "savez", explode)
        with pytest.raises(OSError):
            index.save(path, IndexMeta(model="m", dim=DIM, count=4, revision=5))
        assert path.read_bytes() == before
        assert not list(tmp_path.glob(".*.tmp"))


@pytest.mark.model
def test_float16_storage_finds_what_exact_float32_search_finds_on_real_embeddings(real_embedder) -> None:  # type: ignore[no-untyped-def]
    from bench.sample_data import DATA, read_jsonl

    profiles = [f"{s['name']}. {s['description']}" for s in read_jsonl(DATA / "suppliers.jsonl")]
    needs = [f"{n['title']}. {n['description']}" for n in read_jsonl(DATA / "needs.jsonl")]
    documents, queries = real_embedder.encode_documents(profiles), real_embedder.encode_queries(needs)
    index = FaissVectorIndex(documents.shape[1])
    index.add(list(range(len(documents))), documents, [1] * len(documents))
    found = exact = 0
    for query in queries:
        keys, scores = index.search(query, 10)
        truth = np.argsort(-(documents @ query))[:10]
        found += len(set(keys.tolist()) & set(truth.tolist()))
        exact += 10
        assert np.abs(scores - documents[keys] @ query).max() < 2e-3
    assert found / exact >= 0.99
