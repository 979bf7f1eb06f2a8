"""Market readiness as pure arithmetic: who counts, the verdict's bands, the SME share."""

from matcher.readiness import MatchedSupplier, market_readiness


def supplier(score: float, size: str | None = "small", country: str = "SE") -> MatchedSupplier:
    return MatchedSupplier(score, country, country + "11", size, ["33196200", "33100000"])


def test_only_suppliers_at_or_above_the_threshold_count() -> None:
    readiness = market_readiness([supplier(0.9), supplier(0.8), supplier(0.79)], threshold=0.8)
    assert readiness.matching == 2 and readiness.considered == 3
    assert readiness.by_cpv_division[0].count == 2  # one supplier counts once per division


def test_verdict_bands() -> None:
    assert market_readiness([], threshold=0.5).verdict.startswith("no market")
    assert market_readiness([supplier(1.0)] * 2, threshold=0.5).verdict.startswith("thin")
    assert market_readiness([supplier(1.0)] * 3, threshold=0.5).verdict.startswith("emerging")
    assert market_readiness([supplier(1.0)] * 10, threshold=0.5).verdict == "a market exists: 10 suppliers match well"


def test_a_full_pool_is_reported_as_at_least() -> None:
    readiness = market_readiness([supplier(1.0)] * 20, threshold=0.5, capped_at=20)
    assert readiness.capped and "at least 20" in readiness.verdict
    assert not market_readiness([supplier(1.0)] * 19 + [supplier(0.1)], threshold=0.5, capped_at=20).capped


def test_sme_share_ignores_unknown_sizes_and_shares_add_up() -> None:
    readiness = market_readiness(
        [supplier(1.0, "micro"), supplier(1.0, "large"), supplier(1.0, None), supplier(1.0, "medium", "NO")], threshold=0.5
    )
    assert readiness.sme_share == 2 / 3
    assert [g.key for g in readiness.by_size] == ["micro", "medium", "large", "unknown"]
    assert abs(sum(g.share for g in readiness.by_country) - 1.0) < 1e-9
    assert readiness.by_country[0].key == "SE" and readiness.by_country[0].count == 3


def test_threshold_calibration_picks_the_best_f1() -> None:
    import numpy as np

    from bench.readiness_threshold import threshold_table

    scores = np.array([0.9, 0.8, 0.6, 0.5, 0.3, 0.2])
    relevant = np.array([True, True, False, True, False, False])
    rows, best = threshold_table(scores, relevant, grid=(0.25, 0.45, 0.7, 0.95))
    assert best == 0.45  # 3 of 4 above are relevant and all 3 relevant are kept: F1 0.857
    assert rows[0] == ["0.25", 5, "0.600", "1.000", "0.750"]
    assert rows[-1][1:] == [0, "0.000", "0.000", "0.000"]
