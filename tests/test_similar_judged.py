"""The hand-judged similar-need pairs (data/similar_needs_judged.jsonl) that ``matchmaker bench similar``
scores against: they must name sample needs, pair only different buyers (the service never offers a
buyer its own needs), and be judged alike in both directions."""

from collections import Counter
from itertools import combinations

import pytest

from bench.sample_data import DATA, read_jsonl
from bench.similar_sample import JUDGED, MATCHER, K, rankings, read_judgements

NEEDS = {row["id"]: row for row in read_jsonl(DATA / "needs.jsonl")}
ROWS = read_jsonl(JUDGED)


def test_every_line_is_a_graded_pair_of_two_sample_needs_of_different_buyers() -> None:
    for row in ROWS:
        assert set(row) == {"need", "other", "grade", "why"}, row
        assert row["need"] in NEEDS and row["other"] in NEEDS, row
        assert NEEDS[row["need"]]["buyer"] != NEEDS[row["other"]]["buyer"], row
        assert row["grade"] in (0, 1, 2), row
        assert isinstance(row["why"], str) and 10 <= len(row["why"]) <= 200, row


def test_no_pair_is_judged_twice() -> None:
    repeated = [pair for pair, n in Counter((r["need"], r["other"]) for r in ROWS).items() if n > 1]
    assert not repeated


def test_each_pair_is_judged_alike_in_both_directions() -> None:
    judged = read_judgements()
    for need, grades in judged.items():
        for other, grade in grades.items():
            assert judged.get(other, {}).get(need) == grade, (need, other)


def test_needs_that_are_the_same_as_a_third_are_at_least_related() -> None:
    """Two needs that could share one market dialogue with a third cannot be unrelated to each other."""
    judged = read_judgements()
    for need, grades in judged.items():
        same = sorted(other for other, grade in grades.items() if grade == 2)
        for a, b in combinations(same, 2):
            if NEEDS[a]["buyer"] != NEEDS[b]["buyer"]:
                assert judged.get(a, {}).get(b, 0) >= 1, (need, a, b)


def test_every_sample_need_is_judged_against_at_least_the_results_it_would_get() -> None:
    judged = read_judgements()
    assert set(judged) == set(NEEDS)
    assert min(len(grades) for grades in judged.values()) >= K
    with_two = [need for need, grades in judged.items() if 2 in grades.values()]
    assert len(with_two) >= 10  # enough same-need pairs for the benchmark's top-1 share to mean something


@pytest.mark.model
def test_the_matcher_finds_a_same_need_of_another_buyer_in_its_first_five(real_embedder) -> None:  # type: ignore[no-untyped-def]
    """Measured: 14 of the 17 needs with a grade-2 pair have one in the service's top 5 (only 7 have it
    first, so "first" is not asserted); the bound leaves room for the model's small numeric drift."""
    judged = read_judgements()
    found = rankings(real_embedder, list(NEEDS.values()))[MATCHER]
    with_two = [need for need, grades in judged.items() if 2 in grades.values()]
    hits = [need for need in with_two if any(judged[need].get(other) == 2 for other in found[need][:K])]
    assert len(hits) >= 12, sorted(set(with_two) - set(hits))
