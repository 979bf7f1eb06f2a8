"""The projection trial's time rule: nothing dated in the validation year or later trains the map."""

from __future__ import annotations

import datetime as dt

import numpy as np

from bench.projection_trial import Pair, fit, project, training_pairs


def _pair(on: dt.date, target: str = "store 2021") -> Pair:
    return Pair(on, target, np.eye(4, dtype=np.float32)[0], (0,))


def test_no_pair_from_2022_or_later_enters_training() -> None:
    pairs = [
        _pair(dt.date(2021, 12, 31)),
        _pair(dt.date(2022, 1, 1)),
        _pair(dt.date(2024, 5, 1), "cpv"),
        _pair(dt.date(2020, 6, 1), "cpv"),
    ]
    kept = training_pairs(pairs, 2022)
    assert [p.on for p in kept] == [dt.date(2021, 12, 31), dt.date(2020, 6, 1)]


def test_a_fit_moves_queries_toward_their_positives_and_keeps_them_unit_length() -> None:
    rng = np.random.default_rng(0)
    targets = {"store 2021": np.linalg.qr(rng.normal(size=(4, 4)))[0].astype(np.float32)}
    pairs = [Pair(dt.date(2021, 1, 1), "store 2021", targets["store 2021"][(i + 1) % 4], (i,)) for i in range(4)]
    w = fit(pairs, targets, lam=0.0, temperature=0.1)[25]
    moved = project(np.stack([p.query for p in pairs]), w)
    assert np.allclose(np.linalg.norm(moved, axis=1), 1.0, atol=1e-5)
    before = [float(targets["store 2021"][i] @ pairs[i].query) for i in range(4)]
    after = [float(targets["store 2021"][i] @ moved[i]) for i in range(4)]
    assert all(a > b for a, b in zip(after, before, strict=True))
