"""Weights learned from award history respect time: a profile holds no award from its need's future,
and nothing of the test years, nor of the validation year beyond choosing, reaches a learned weight."""

import datetime as dt
import importlib.util
import random
from pathlib import Path

import pytest

from bench.award_history import CandidateFeatures, NeedCandidates, yearly
from bench.fusion_learning import (
    LinearRanker,
    evaluate,
    fit_pairwise,
    fit_pointwise,
    learn,
    ranked_ids,
    served_weights,
    write_weights,
)
from bench.uk_awards import AwardNotice
from matcher.fusion import FusionWeights

NAMES = ("dense", "lexical", "cpv")


def notice(id_: str, winner: str, on: str, buyer: str = "Chorley Council") -> AwardNotice:
    return AwardNotice(id_, f"Contract {id_}", "", buyer, ("45000000",), dt.date.fromisoformat(on), (winner,))


NOTICES = [
    notice("a", "Casey Ltd", "2019-05-01"),
    notice("b", "Casey Ltd", "2020-02-01"),
    notice("c", "Tarmac Ltd", "2020-09-01"),
    notice("d", "Tarmac Ltd", "2021-03-01"),
    notice("e", "Casey Ltd", "2021-11-01"),
    notice("f", "Casey Ltd", "2022-04-01"),
]


def test_each_years_store_holds_only_awards_from_before_that_year() -> None:
    for year, split, tests in yearly(NOTICES, 2020, 2022):
        cut = dt.date(year, 1, 1)
        assert all(a.awarded_on and a.awarded_on < cut for h in split.suppliers.values() for a in h.awards)
        assert all(n.awarded_on and n.awarded_on.year == year for n, _ in tests)
    plan = {year: [n.id for n, _ in tests] for year, _, tests in yearly(NOTICES, 2020, 2022)}
    assert plan == {2020: ["b"], 2021: ["d", "e"], 2022: ["f"]}, "Tarmac's first win (c) has no earlier profile to find"


def _need(seed: int, year: int, lexical_matters: bool = True) -> NeedCandidates:
    """A need whose winner stands out on lexical (or, when not ``lexical_matters``, on cpv) evidence."""
    rng = random.Random(seed)
    candidates = []
    for i in range(20):
        won = i == 0
        features = {name: rng.random() * 0.5 for name in NAMES}
        features["dense"] = 0.5 + rng.random() * 0.1
        if won:
            features["lexical" if lexical_matters else "cpv"] += 0.6
            features["dense"] += 0.05
        candidates.append(CandidateFeatures(f"s{i}", features, won))
    need = AwardNotice(f"n{seed}", "t", "", "b", (), dt.date(year, 6, 1), ("w",))
    return NeedCandidates(need, frozenset({"s0"}), candidates, cleaned=True, new_entrant=True)


def _history(test_lexical: bool) -> dict[int, list[NeedCandidates]]:
    history = {year: [_need(year * 100 + i, year) for i in range(15)] for year in (2019, 2020, 2021, 2022)}
    history[2023] = [_need(9000 + i, 2023, lexical_matters=test_lexical) for i in range(15)]
    return history


def test_weights_are_fit_before_the_validation_year_and_never_see_the_test_years() -> None:
    learned = learn(_history(True), 2022, [NAMES])
    assert learned.fit_years == (2019, 2020, 2021) and learned.validation_year == 2022
    weights = learned.ranker.per_dense()
    assert weights["lexical"] > weights["cpv"], "the winners stood out on lexical evidence"
    flipped = learn(_history(False), 2022, [NAMES])  # the test years now reward something else entirely
    assert flipped.ranker == learned.ranker


def test_the_validation_year_only_chooses() -> None:
    history = _history(True)
    chosen = learn(history, 2022, [("dense", "cpv"), NAMES])
    assert "lexical" in chosen.ranker.weights, "the set that knows what wins is chosen on 2022"
    history[2022] = [_need(5000 + i, 2022, lexical_matters=False) for i in range(15)]
    rechosen = learn(history, 2022, [NAMES])
    loss, strength = rechosen.ranker.name.split(" C=")
    fit = fit_pointwise if loss == "pointwise" else fit_pairwise
    train = [n for year in (2019, 2020, 2021) for n in history[year]]
    assert fit(train, NAMES, float(strength)) == rechosen.ranker, "its weights come from 2019-2021 alone"


def test_a_winner_outside_the_pool_counts_as_missed() -> None:
    need = _need(1, 2023)
    outside = NeedCandidates(need.need, frozenset({"s0", "elsewhere"}), need.candidates, True, True)
    values = evaluate([outside], LinearRanker("lexical", {"dense": 1.0, "lexical": 5.0}).score)
    assert values["recall@10"] == [0.5]
    assert ranked_ids(need, LinearRanker("x", {"dense": 1.0, "lexical": 5.0}).score)[0] == "s0"


def test_written_weights_are_what_the_service_loads(tmp_path: Path) -> None:
    learned = learn(_history(True), 2022, [NAMES])
    path = tmp_path / "learned_weights.py"
    weights = write_weights(learned, path, model="fake")
    spec = importlib.util.spec_from_file_location("learned_weights", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert FusionWeights(**module.LEARNED) == weights == served_weights(learned.ranker)
    assert weights.dense == 1.0 and weights.lexical == pytest.approx(learned.ranker.per_dense()["lexical"], abs=1e-4)
    assert "2019-2021" in path.read_text() and "chosen on 15 needs of\n2022" in path.read_text()
