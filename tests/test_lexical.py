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
