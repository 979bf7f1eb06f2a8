"""Explanations cite a profile's passages by vectors stored at index time: they must survive
quantisation, restarts and edits, and always belong to the text they are shown with."""

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from indexer.documents import embedding_document, lexical_text
from indexer.embedder import pool_spans
from indexer.passage_vectors import PassageVectors
from matcher.analysis import sentence_spans
from matcher.catalog import CpvCatalog
from matcher.explain import best_sentence
from service.container import open_services
from service.settings import Settings
from store import repository
from store.db import session_scope
from store.repository import SUPPLIERS
from tests.builders import SUPPLIERS as ROWS
from tests.fakes import HashingEmbedder


def _unit(rows: int, dim: int = 384, seed: int = 0) -> np.ndarray:
    vectors = np.random.default_rng(seed).normal(size=(rows, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_int8_passages_keep_their_cosines_and_zero_rows_stay_unread() -> None:
    store = PassageVectors(384)
    vectors = np.vstack([_unit(50), np.zeros((1, 384), dtype=np.float32)])
    store.put(7, 3, vectors)
    restored = store.get(7)
    assert restored is not None and not restored[-1].any()
    queries = _unit(20, seed=1)
    assert np.abs(restored[:-1] @ queries.T - vectors[:-1] @ queries.T).max() < 0.01
    assert store.get(7, revision=4) is None, "passages of an older revision are never served"


def test_passages_survive_a_save_and_load(tmp_path: Path) -> None:
    store = PassageVectors(384)
    store.put(1, 1, _unit(3))
    store.put(2, 5, np.zeros((0, 384), dtype=np.float32))
    store.put(3, 2, _unit(1, seed=2))
    store.remove([3])
    store.save(tmp_path / "p.npz")
    loaded = PassageVectors.load(tmp_path / "p.npz", 384)
    assert sorted(loaded.keys()) == [1, 2] and loaded.revision(2) == 5
    original, again = store.get(1), loaded.get(1)
    assert original is not None and again is not None and np.array_equal(original, again)
    assert PassageVectors.load(tmp_path / "p.npz", 128).keys() == [], "another model's passages are dropped"


def test_sentence_spans_point_at_the_sentences() -> None:
    text = "We make sensors.  They work at night! Ok.\nDelivered to 40 municipalities."
    assert [text[a:b] for a, b in sentence_spans(text)] == [
        "We make sensors.",
        "They work at night! Ok.",
        "Delivered to 40 municipalities.",
    ]


def test_an_embedding_document_knows_where_its_citable_passages_are() -> None:
    row = SimpleNamespace(name="Brøyt AS", description="Vi brøyter veier. Vi strør også gang- og sykkelveier.", cpv_codes=[])
    won = [SimpleNamespace(title="Vinterdrift Trondheim", buyer="Trondheim kommune", awarded_on=None)]
    document = embedding_document(row, CpvCatalog({}), won)
    sentences, contract = document.passages[:2], document.passages[2]
    assert [document.text[p.start : p.end] for p in sentences] == [p.shown for p in sentences]
    assert document.text[contract.start : contract.end] == "Vinterdrift Trondheim"
    assert contract.shown == "won 'Vinterdrift Trondheim' for Trondheim kommune"


def test_a_private_description_is_embedded_and_searched_but_never_citable() -> None:
    row = SimpleNamespace(
        name="Brøyt AS", description="Vi brøyter veier.", private_description="Vi tester autonome brøytebiler.", cpv_codes=[]
    )
    won = [SimpleNamespace(title="Vinterdrift Trondheim", buyer=None, awarded_on=None, description="")]
    document = embedding_document(row, CpvCatalog({}), won)
    assert "autonome" in document.text and "autonome" in lexical_text(row, won)
    assert all("autonome" not in p.shown for p in document.passages)
    contract = document.passages[-1]
    assert document.text[contract.start : contract.end] == "Vinterdrift Trondheim"  # offsets skip the private text
    assert "autonome" not in lexical_text(row, won, private=False)


def test_pooling_averages_the_tokens_inside_each_span_only() -> None:
    tokens = np.array([[9.0, 9.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0], [9.0, 9.0]], dtype=np.float32)
    offsets = np.array([[0, 0], [0, 3], [4, 6], [6, 9], [0, 0]])  # special tokens have empty offsets
    pooled = pool_spans(tokens, offsets, [(0, 3), (4, 9), (20, 30)])
    assert np.allclose(pooled[0], [1, 0]) and np.allclose(pooled[1], [0, 1])
    assert not pooled[2].any(), "a span the model never read gets no vector"


def test_a_sentence_the_model_never_read_is_never_cited() -> None:
    vectors = np.array([[0.0, 0.0], [0.6, 0.8]], dtype=np.float32)
    assert best_sentence(np.array([1.0, 0.0]), ["unread", "read"], vectors) == ("read", pytest.approx(0.6))
    assert best_sentence(np.array([1.0, 0.0]), ["unread"], vectors[:1]) == (None, None)


def test_an_index_saved_without_passages_is_loaded_from_the_database(settings: Settings) -> None:
    services = open_services(settings, embedder=HashingEmbedder())
    with session_scope(services.engine) as session:
        repository.upsert(session, SUPPLIERS, dict(ROWS[0]))
    services.reconcile()
    services.close()
    assert open_services(settings, embedder=HashingEmbedder()).reconcile()["supplier"].embedded == 0

    services.suppliers.passages_path.unlink()
    reopened = open_services(settings, embedder=HashingEmbedder(), reconcile=False)
    report = reopened.reconcile()["supplier"]
    assert (report.embedded, report.loaded) == (0, 1), "the database has the passages: nothing is embedded again"
    assert len(reopened.suppliers.passages) == 1
    reopened.engine.dispose()
