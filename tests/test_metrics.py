import math

import pytest

from bench.metrics import bootstrap_ci, ndcg_at_k, recall_at_k, reciprocal_rank, summarise


def test_recall_mrr_and_ndcg_on_a_hand_worked_ranking() -> None:
    ranked = ["a", "x", "b", "y"]
    relevant = {"a", "b", "c"}
    assert recall_at_k(ranked, relevant, 2) == pytest.approx(1 / 3)
    assert recall_at_k(ranked, relevant, 10) == pytest.approx(2 / 3)
    assert reciprocal_rank(["x", "y", "b"], relevant) == pytest.approx(1 / 3)
    assert reciprocal_rank(["x"], relevant) == 0.0
    ideal = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert ndcg_at_k(ranked, relevant, 10) == pytest.approx((1 + 1 / math.log2(4)) / ideal)
    assert ndcg_at_k(["a", "b", "c"], relevant, 3) == pytest.approx(1.0)


def test_bootstrap_interval_contains_the_mean_and_narrows_with_more_data() -> None:
    small = [0.0, 1.0] * 10
    large = [0.0, 1.0] * 500
    lo_s, hi_s = bootstrap_ci(small)
    lo_l, hi_l = bootstrap_ci(large)
    assert lo_s < 0.5 < hi_s and lo_l < 0.5 < hi_l
    assert hi_l - lo_l < hi_s - lo_s
    assert bootstrap_ci([0.7] * 5) == pytest.approx((0.7, 0.7))
    assert all(math.isnan(v) for v in bootstrap_ci([]))


def test_summary_gives_mean_and_interval_per_metric() -> None:
    summary = summarise({"MRR": [1.0, 0.5, 0.0]})
    mean, lo, hi = summary["MRR"]
    assert mean == pytest.approx(0.5) and lo <= mean <= hi
