"""A supplier's track record in a need's field: counted from the contracts it won, as of the day the
need is matched, and shown as its own part of the score."""

import datetime as dt
import math

import pytest

from matcher.fusion import FusionWeights
from matcher.geography import Location
from matcher.ranking import Candidate, MatchQuery, rank_candidates
from matcher.track_record import RECENCY_YEARS, award_fact, track_record

ROADS = award_fact(["45233141"], dt.date(2021, 6, 1))  # road maintenance works: group 452
MORE_ROADS = award_fact(["45233142", "90620000"], dt.date(2022, 6, 1))
PARKS = award_fact(["77310000"], dt.date(2022, 1, 1))
LATER_ROADS = award_fact(["45233000"], dt.date(2024, 3, 1))


def test_only_contracts_in_the_needs_cpv_groups_count() -> None:
    record = track_record(["45200000"], [ROADS, MORE_ROADS, PARKS], dt.date(2023, 6, 1))
    assert record.awards == 2 and record.latest == dt.date(2022, 6, 1)
    assert record.group_awards == pytest.approx(math.log1p(2))
    assert record.recent_award == pytest.approx(
        math.exp(-((dt.date(2023, 6, 1) - dt.date(2022, 6, 1)).days / 365.25) / RECENCY_YEARS)
    )
    assert record.reason() == "won 2 contracts in the need's CPV groups (latest 2022)"


def test_a_contract_won_after_the_day_of_matching_is_not_known_yet() -> None:
    record = track_record(["45200000"], [ROADS, LATER_ROADS], dt.date(2023, 6, 1))
    assert record.awards == 1 and record.latest == dt.date(2021, 6, 1)


def test_no_codes_or_no_contracts_mean_no_record() -> None:
    assert track_record([], [ROADS], dt.date(2023, 1, 1)).reason() is None
    assert track_record(["45200000"], [PARKS], dt.date(2023, 1, 1)).group_awards == 0.0


def test_recency_fades_with_time() -> None:
    fresh = track_record(["45200000"], [ROADS], dt.date(2021, 6, 1)).recent_award
    old = track_record(["45200000"], [ROADS], dt.date(2025, 6, 1)).recent_award
    assert fresh == pytest.approx(1.0) and 0 < old < 0.2


def _candidate(key: int, awards: tuple) -> Candidate:  # type: ignore[type-arg]
    return Candidate(key, ("45233141",), Location(), dense=0.8, lexical=1.0, awards=awards)


def test_a_track_record_ranks_an_otherwise_equal_supplier_higher_and_its_share_is_shown() -> None:
    query = MatchQuery("road maintenance", cpv_codes=("45233141",), on=dt.date(2023, 1, 1))
    weights = FusionWeights(dense=1.0, lexical=0.5, cpv=0.2, geography=0.0, group_awards=0.05, recent_award=0.1)
    first, second = rank_candidates(
        query, [_candidate(1, ()), _candidate(2, (ROADS, MORE_ROADS))], k=2, lexical_bound=2.0, weights=weights
    )
    assert first.candidate.key == 2 and first.record.awards == 2
    shares = first.components.shares(first.weights)
    assert sum(shares.values()) == pytest.approx(first.score, abs=1e-3)
    assert shares["group_awards"] == pytest.approx(0.05 * math.log1p(2), abs=1e-4)
    assert second.record.reason() is None and second.components.shares(weights)["recent_award"] == 0.0


def test_without_weight_on_the_record_the_order_is_by_the_other_evidence() -> None:
    query = MatchQuery("road maintenance", cpv_codes=("45233141",), on=dt.date(2023, 1, 1))
    weights = FusionWeights(dense=1.0, lexical=0.5, cpv=0.2, geography=0.0)
    ranked = rank_candidates(query, [_candidate(1, ()), _candidate(2, (ROADS,))], k=2, lexical_bound=2.0, weights=weights)
    assert [r.candidate.key for r in ranked] == [1, 2], "equal scores fall back to the key"
