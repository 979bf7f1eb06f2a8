import pytest

from matcher.cpv_suggest import Neighbour, neighbour_distribution, suggest_codes


def test_labels_alone_rank_by_similarity_with_confidences_summing_below_one() -> None:
    suggestions = suggest_codes({"90620000": 0.62, "90600000": 0.55, "45000000": 0.30}, [], k=3)
    assert [s.code for s in suggestions] == ["90620000", "90600000", "45000000"]
    assert suggestions[0].confidence > 0.9 and sum(s.confidence for s in suggestions) == pytest.approx(1.0, abs=1e-3)


def test_neighbours_share_their_weight_among_their_codes() -> None:
    votes = neighbour_distribution([Neighbour(0.9, ("A", "B")), Neighbour(0.9, ("A",))])
    assert votes["A"] == pytest.approx(0.75) and votes["B"] == pytest.approx(0.25)


def test_agreeing_neighbours_overrule_a_slightly_closer_generic_label() -> None:
    labels = {"45000000": 0.50, "45233141": 0.49}
    neighbours = [Neighbour(0.8, ("45233141",)), Neighbour(0.79, ("45233141",)), Neighbour(0.5, ("45000000",))]
    assert suggest_codes(labels, neighbours, k=1)[0].code == "45233141"
    assert suggest_codes({}, neighbours, k=1)[0].code == "45233141"
    assert suggest_codes({}, [], k=3) == []
