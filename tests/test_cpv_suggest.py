import numpy as np
import pytest

from matcher.cpv_suggest import (
    BEFORE_ISSUE_17,
    LABEL_TEMPERATURE,
    Neighbour,
    hierarchical_scores,
    neighbour_distribution,
    suggest_codes,
)
from service.cpv_suggestions import is_confident


def test_labels_alone_rank_by_similarity_with_confidences_in_zero_to_one() -> None:
    suggestions = suggest_codes({"90620000": 0.62, "45233141": 0.55, "79111000": 0.30}, [], k=3)
    assert [s.code for s in suggestions] == ["90620000", "45233141", "79111000"]
    assert 1 >= suggestions[0].confidence > suggestions[1].confidence > suggestions[2].confidence > 0
    alone = 1 / (1 + np.exp(-0.07 / LABEL_TEMPERATURE) + np.exp(-0.32 / LABEL_TEMPERATURE))
    assert suggestions[0].confidence == pytest.approx(alone, abs=1e-3), "alone in its division: its own softmax share"


def test_neighbours_share_their_weight_among_their_codes() -> None:
    votes = neighbour_distribution([Neighbour(0.9, ("A", "B")), Neighbour(0.9, ("A",))])
    assert votes["A"] == pytest.approx(0.75) and votes["B"] == pytest.approx(0.25)


def test_agreeing_neighbours_overrule_a_slightly_closer_generic_label() -> None:
    labels = {"45000000": 0.50, "45233141": 0.49}
    neighbours = [Neighbour(0.8, ("45233141",)), Neighbour(0.79, ("45233141",)), Neighbour(0.5, ("45000000",))]
    assert suggest_codes(labels, neighbours, k=1)[0].code == "45233141"
    assert suggest_codes({}, neighbours, k=1)[0].code == "45233141"
    assert suggest_codes({}, [], k=3) == []


def test_neighbours_that_agree_on_a_group_outvote_one_slightly_closer_neighbour_elsewhere() -> None:
    """Three road-works notices coded at different depths against one legal-advice notice a bit closer:
    the group holds most of the weight, so the top code is a road-works one (the mix before issue 17,
    code by code, put legal advice first)."""
    neighbours = [
        Neighbour(0.52, ("79111000",)),
        Neighbour(0.50, ("45233141",)),
        Neighbour(0.50, ("45233142",)),
        Neighbour(0.50, ("45233120",)),
    ]
    assert suggest_codes({}, neighbours, k=1)[0].code[:3] == "452"
    assert suggest_codes({}, neighbours, k=1, settings=BEFORE_ISSUE_17)[0].code == "79111000"


@pytest.mark.parametrize(
    ("labels", "neighbours", "clear"),
    [
        # the neighbours alone point at a group: labels that are flat across divisions do not move it away
        (
            {"90620000": 0.40, "79111000": 0.40, "33100000": 0.40},
            [Neighbour(0.6, ("45233141",)), Neighbour(0.6, ("45233142",)), Neighbour(0.59, ("45233120",))],
            "452",
        ),
        # the labels alone point at a group: neighbours spread over five unrelated groups do not move it away
        (
            {"90620000": 0.60, "79111000": 0.40, "33100000": 0.40},
            [Neighbour(0.5, (c,)) for c in ("45233141", "79111000", "33100000", "72000000", "15800000")],
            "906",
        ),
    ],
)
def test_the_mix_keeps_the_group_a_single_clear_signal_names_when_the_other_is_flat(
    labels: dict[str, float], neighbours: list[Neighbour], clear: str
) -> None:
    assert suggest_codes(labels, neighbours, k=1)[0].code[:3] == clear


def test_scores_weigh_a_codes_group_and_division_and_stay_within_zero_to_one() -> None:
    scores = hierarchical_scores({"45233141": 0.3, "45233142": 0.3, "45000000": 0.1, "79111000": 0.3}, (0.25, 1.0, 0.5))
    assert scores["45233141"] > scores["79111000"], "the same own mass, but its group holds twice as much"
    assert scores["45233141"] > scores["45000000"]
    assert all(0 <= s <= 1 for s in scores.values())
    assert hierarchical_scores({"45233141": 1.0}, (0.25, 1.0, 0.5))["45233141"] == pytest.approx(1.0)


def test_each_kind_of_evidence_reports_its_own_share_of_the_codes_group() -> None:
    neighbours = [Neighbour(0.5, ("45233141",)), Neighbour(0.5, ("45233142", "79111000")), Neighbour(0.5, ("90620000",))]
    by_code = {s.code: s for s in suggest_codes({"33100000": 0.9, "33110000": 0.9}, neighbours, k=10)}
    assert by_code["33100000"].confidence > 0 and by_code["33100000"].neighbour_group_share == 0.0
    assert by_code["33100000"].label_group_share == pytest.approx(1.0, abs=1e-3), "both labels are in group 331"
    assert by_code["45233141"].neighbour_group_share == pytest.approx(0.5, abs=1e-3), "1/3 + half of 1/3, both in 452"
    assert by_code["45233141"].label_group_share == 0.0
    assert by_code["45233142"].neighbour_group_share == by_code["45233141"].neighbour_group_share
    assert by_code["90620000"].neighbour_group_share == pytest.approx(1 / 3, abs=1e-3)


def test_a_list_of_suggestions_names_each_group_once_before_any_group_twice() -> None:
    neighbours = [Neighbour(0.6, ("45233141", "45233142", "45233120")), Neighbour(0.5, ("79111000",))]
    codes = [s.code for s in suggest_codes({}, neighbours, k=3)]
    assert [c[:3] for c in codes] == ["452", "791", "452"]
    old = [s.code for s in suggest_codes({}, neighbours, k=3, settings=BEFORE_ISSUE_17)]
    assert [c[:3] for c in old] == ["452", "452", "452"]


SPLIT = [Neighbour(0.5, ("45233141",)), Neighbour(0.5, ("79111000",)), Neighbour(0.5, ("90620000",))]
MOSTLY = [Neighbour(0.5, ("45233141",)), Neighbour(0.5, ("45233142",)), Neighbour(0.5, ("79111000",))]


@pytest.mark.parametrize(
    ("labels", "neighbours", "kept"),
    [
        ({"45233141": 0.5, "79111000": 0.5}, SPLIT, []),  # neighbours split three ways: none is clear
        ({"45233141": 0.5, "79111000": 0.5}, MOSTLY, ["452"]),  # most of them in one group, the labels not against
        ({"79111000": 0.6, "33100000": 0.6}, MOSTLY, []),  # most of them in one group the labels give nothing to
        ({"79111000": 0.9}, [], []),  # a close label alone, however close
    ],
)
def test_a_code_stands_in_for_a_needs_codes_only_when_the_neighbours_agree_and_the_labels_do_not_object(
    labels: dict[str, float], neighbours: list[Neighbour], kept: list[str]
) -> None:
    suggestions = suggest_codes(labels, neighbours, k=2)
    assert [s.code[:3] for s in suggestions if is_confident(s)] == kept
