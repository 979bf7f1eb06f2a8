import math
import random
import threading

import bm25s
import numpy as np
import pytest

from indexer.lexical import LexicalIndex
from matcher.analysis import query_stems


def test_exact_product_names_and_acronyms_score_and_filters_apply() -> None:
    index = LexicalIndex()
    index.upsert(1, "TrygVakt 3 fallsensor med LoRaWAN for hjemmetjenesten")
    index.upsert(2, "Brøyting og strøing med elektriske maskiner")
    index.upsert(3, "LoRaWAN-nettverk for kommunale bygg")
    result = index.query(query_stems("LoRaWAN sensorer"))
    assert set(result.top(10)) == {1, 3}
    assert result.best > 0 and result.score(2) == 0.0
    assert set(index.query(query_stems("LoRaWAN"), allowed=[3]).top(10)) == {3}


def test_updates_and_removals_are_seen_by_the_next_query() -> None:
    index = LexicalIndex()
    index.upsert(1, "snow clearing")
    assert index.query(query_stems("snow")).top(5) != {}
    index.upsert(1, "school meals")
    assert index.query(query_stems("snow")).top(5) == {}
    index.remove([1])
    assert len(index) == 0 and index.query(query_stems("meals")).top(5) == {}


def test_words_most_profiles_use_are_not_distinctive() -> None:
    index = LexicalIndex()
    for key in range(10):
        index.upsert(key, f"kommune leverandør nummer{key}")
    index.upsert(10, "LoRaWAN kommune")
    assert not index.is_distinctive(query_stems("kommune")[0])
    assert index.is_distinctive(query_stems("LoRaWAN")[0])
    assert index.idf(query_stems("LoRaWAN")[0]) > index.idf(query_stems("kommune")[0])


# ------------------------------------------------------------ agreement with bm25s (the reference)

WORDS = [f"w{i}" for i in range(80)]


def _random_doc(rng: random.Random) -> list[str]:
    """Zipf-like: low-numbered words are common, so IDFs and lengths vary; some documents are empty."""
    return [WORDS[min(int(rng.paretovariate(0.8)) - 1, len(WORDS) - 1)] for _ in range(rng.choice([0, 1, 3, 8, 20]))]


def _random_query(rng: random.Random) -> list[str]:
    # Repeated stems, and stems no document has, are part of what a query may hold.
    return [rng.choice([*WORDS, "unknown"]) for _ in range(rng.randint(1, 6))]


def _bm25s_scores(docs: dict[int, list[str]], query: list[str]) -> dict[int, float]:
    """Scores of a fresh bm25s Lucene index over ``docs`` for the distinct known stems of ``query``."""
    keys = sorted(docs)
    if not any(docs.values()):
        return dict.fromkeys(keys, 0.0)
    reference = bm25s.BM25(method="lucene")
    reference.index([docs[k] for k in keys], show_progress=False)
    known = [s for s in dict.fromkeys(query) if s in reference.vocab_dict]
    scores = reference.get_scores(known) if known else np.zeros(len(keys))
    return dict(zip(keys, map(float, scores), strict=True))


def _assert_agrees_with_bm25s(index: LexicalIndex, docs: dict[int, list[str]], rng: random.Random) -> None:
    assert len(index) == len(docs)
    for _ in range(25):
        query = _random_query(rng)
        expected = _bm25s_scores(docs, query)
        result = index.query(query)
        assert {k: result.score(k) for k in docs} == pytest.approx(expected, rel=1e-5, abs=1e-6)
        assert set(result.top(len(docs) + 1)) == {k for k, s in expected.items() if s > 0}
        assert result.best == pytest.approx(max(expected.values(), default=0.0), rel=1e-5, abs=1e-6)


def test_scores_equal_bm25s_lucene_through_upserts_replacements_and_removals() -> None:
    rng = random.Random(7)
    index, docs = LexicalIndex(), {}
    for key in range(300):
        docs[key] = _random_doc(rng)
        index.upsert_stems(key, docs[key])
    _assert_agrees_with_bm25s(index, docs, rng)
    for _round in range(4):
        for _ in range(150):
            key = rng.randrange(400)
            if rng.random() < 0.6:
                docs[key] = _random_doc(rng)
                index.upsert_stems(key, docs[key])
            else:
                docs.pop(key, None)
                index.remove([key])
        _assert_agrees_with_bm25s(index, docs, rng)


def test_compaction_keeps_scores_identical() -> None:
    rng = random.Random(3)
    index, docs = LexicalIndex(), {}
    for key in range(200):
        docs[key] = _random_doc(rng)
        index.upsert_stems(key, docs[key])
    for key in range(0, 200, 7):  # replacements and removals below the share that compacts by itself
        docs[key] = _random_doc(rng)
        index.upsert_stems(key, docs[key])
    for key in range(3, 200, 11):
        del docs[key]
        index.remove([key])
    queries = [_random_query(rng) for _ in range(30)]
    before = [index.query(q) for q in queries]
    assert index._n_slots > len(index)  # tombstones to drop
    index._compact()
    assert index._n_slots == len(index)  # no tombstones left
    for query, old in zip(queries, before, strict=True):
        new = index.query(query)
        assert new.top(300) == pytest.approx(old.top(300), rel=1e-6)
        assert new.bound == old.bound
    # Removing most documents compacts on its own; the survivors still score as bm25s says.
    removed = [key for key in docs if key % 2]
    index.remove(removed)
    for key in removed:
        del docs[key]
    assert index._n_slots == len(index)
    _assert_agrees_with_bm25s(index, docs, rng)


def test_allowed_keeps_scores_of_allowed_keys_and_zeroes_the_rest() -> None:
    rng = random.Random(5)
    index = LexicalIndex()
    for key in range(100):
        index.upsert_stems(key, _random_doc(rng))
    index.remove([10])
    allowed = [10, 11, 12, 50, 99, 12345]  # a removed key and an unknown one are ignored
    for _ in range(10):
        query = _random_query(rng)
        full, filtered = index.query(query), index.query(query, allowed)
        assert set(filtered.top(100)) <= {11, 12, 50, 99}
        for key in range(100):
            assert filtered.score(key) == (full.score(key) if key in allowed else 0.0)
        assert filtered.bound == full.bound
    assert index.query(["w0"], allowed=[]).top(10) == {}


def test_empty_index_empty_documents_and_unknown_terms() -> None:
    index = LexicalIndex()
    result = index.query(["w0"])
    assert (result.best, result.bound, result.top(5), result.score(1)) == (0.0, 0.0, {}, 0.0)
    assert index.upper_bound(["w0"]) == pytest.approx(math.log(2))  # N = 0, df = 0
    index.upsert_stems(1, [])
    index.upsert(2, "")
    assert len(index) == 2 and index.query(["w0"]).top(5) == {}
    index.upsert_stems(3, ["w0", "w1", "w0"])
    # Only unknown stems: nothing scores and there is no bound to normalise by (as before).
    only_unknown = index.query(["nowhere", "never"])
    assert only_unknown.top(5) == {} and only_unknown.bound == 0.0
    # Unknown stems beside known ones add nothing to scores but count in the bound at the highest IDF.
    mixed, known = index.query(["w0", "nowhere"]), index.query(["w0"])
    assert mixed.score(3) == known.score(3) > 0
    assert mixed.bound == pytest.approx(index.idf("w0") + index.idf("nowhere"))
    assert index.idf("nowhere") == pytest.approx(math.log(1 + 3.5 / 0.5))
    # Each distinct stem counts once, however often the query repeats it.
    assert index.query(["w0", "w0", "w1"]).score(3) == index.query(["w1", "w0"]).score(3)
    # Empty documents count in N and (with length 0) in avgdl: removing them changes the scores.
    alone = LexicalIndex()
    alone.upsert_stems(3, ["w0", "w1", "w0"])
    assert index.query(["w0"]).score(3) != alone.query(["w0"]).score(3)
    index.remove([1, 2])
    assert index.query(["w0"]).score(3) == pytest.approx(alone.query(["w0"]).score(3), rel=1e-6)


def test_idf_bound_and_distinctiveness_follow_live_documents_only() -> None:
    index, fresh = LexicalIndex(), LexicalIndex()
    for key in range(10):
        index.upsert_stems(key, ["common", f"own{key}"])
    for key in range(10, 20):
        index.upsert_stems(key, ["rare"])
    assert not index.is_distinctive("rare")
    index.remove(list(range(10, 19)))
    index.upsert_stems(0, ["common"])  # own0 leaves with the replaced version
    for key in range(10):
        fresh.upsert_stems(key, ["common"] if key == 0 else ["common", f"own{key}"])
    fresh.upsert_stems(19, ["rare"])
    for stem in ("common", "rare", "own0", "own1", "nowhere"):
        assert index.idf(stem) == fresh.idf(stem)
        assert index.is_distinctive(stem) == fresh.is_distinctive(stem)
    assert index.is_distinctive("rare") and not index.is_distinctive("common")
    query = ["common", "rare", "own0"]
    assert index.upper_bound(query) == fresh.upper_bound(query) == index.query(query).bound
    assert index.query(["own0"]).top(5) == {}


def test_queries_see_a_consistent_index_while_another_thread_writes() -> None:
    rng = random.Random(11)
    index, docs = LexicalIndex(), {}
    for key in range(100):
        docs[key] = _random_doc(rng)
        index.upsert_stems(key, docs[key])
    writes = [(rng.randrange(150), _random_doc(rng) if rng.random() < 0.7 else None) for _ in range(2000)]

    def write() -> None:
        for key, doc in writes:
            index.upsert_stems(key, doc) if doc is not None else index.remove([key])

    writer = threading.Thread(target=write)
    writer.start()
    while writer.is_alive():
        result = index.query(["w0", "w1", "w5"])
        top = result.top(20)
        assert all(score > 0 and result.score(key) == score for key, score in top.items())
        assert result.bound > 0
    writer.join()
    for key, doc in writes:
        docs.pop(key, None) if doc is None else docs.__setitem__(key, doc)
    _assert_agrees_with_bm25s(index, docs, rng)
