"""``matchmaker bench marks``: advisers' marks as judgements (fake embedder; SQLite and PostgreSQL)."""

import math
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api import cli_bench
from api.cli import app
from api.main import create_app
from bench.marks import Judgements, need_scores, served_rankings, stored_judgements, todays_rankings
from service.container import Services, open_services
from service.settings import get_settings
from tests.builders import NEEDS, SUPPLIERS, key_headers
from tests.fakes import HashingEmbedder

FALL_SENSOR, SNOW, MATHS = (s["id"] for s in SUPPLIERS)


def log2_gain(rank: int) -> float:
    return 1 / math.log2(rank + 1)


def test_scores_of_a_hand_made_ranking_full_and_condensed() -> None:
    # a, b, c relevant; n marked not relevant; x, y unmarked.
    scores = need_scores(["a", "x", "b", "n", "y"], Judgements(frozenset("abc"), frozenset("n")), 4)
    ideal = log2_gain(1) + log2_gain(2) + log2_gain(3)
    assert scores["nDCG@4"] == pytest.approx((log2_gain(1) + log2_gain(3)) / ideal)  # 0.704
    assert scores["recall@4"] == pytest.approx(2 / 3)
    assert scores["MRR@4"] == 1.0
    assert scores["P@4"] == 0.5  # x counts as wrong here
    assert scores["judged@4"] == 0.75
    # condensed: [a, b, n]
    assert scores["nDCG'@4"] == pytest.approx((log2_gain(1) + log2_gain(2)) / ideal)  # 0.765
    assert scores["MRR'@4"] == 1.0
    assert scores["P'@4"] == pytest.approx(2 / 3)

    late = need_scores(["x", "n", "b", "a"], Judgements(frozenset("b"), frozenset("n")), 3)
    assert late["MRR@3"] == pytest.approx(1 / 3) and late["MRR'@3"] == 0.5
    assert late["nDCG@3"] == pytest.approx(0.5) and late["nDCG'@3"] == pytest.approx(log2_gain(2))
    assert late["P@3"] == pytest.approx(1 / 3) and late["P'@3"] == 0.5 and late["recall@3"] == 1.0

    unjudged = need_scores(["x", "y"], Judgements(frozenset("b"), frozenset()), 2)
    assert unjudged["P'@2"] is None and unjudged["nDCG'@2"] == 0.0 and unjudged["judged@2"] == 0.0


def mark(client: TestClient, supplier_id: str, value: str, need: str = "need-1") -> None:
    assert client.post(f"/needs/{need}/feedback", json={"supplier_id": supplier_id, "mark": value}).status_code == 201


def test_marks_become_judgements_and_the_served_list_is_the_one_before_the_first_mark(
    client: TestClient, services: Services
) -> None:
    assert stored_judgements(services.engine) == {}
    assert client.get("/needs/need-1/shortlist", params={"k": 2}).status_code == 200  # served: fall sensor, snow
    mark(client, SNOW, "relevant")
    mark(client, FALL_SENSOR, "not_relevant")
    mark(client, MATHS, "invited")
    mark(client, MATHS, "cleared")  # withdrawn: unjudged again
    client.get("/needs/need-1/shortlist", params={"k": 2})  # after the marks (snow, maths, fall sensor): not the served one
    mark(client, FALL_SENSOR, "invited", need="need-2")  # marked without a shortlist served first

    assert stored_judgements(services.engine) == {
        "need-1": Judgements(frozenset({SNOW}), frozenset({FALL_SENSOR})),
        "need-2": Judgements(frozenset({FALL_SENSOR}), frozenset()),
    }
    assert served_rankings(services.engine, ["need-1", "need-2"]) == {"need-1": [FALL_SENSOR, SNOW]}
    # Today's ranking is the matcher's alone: the not-relevant mark does not move the fall sensor in it.
    assert todays_rankings(services, ["need-1"], 2) == {"need-1": [FALL_SENSOR, SNOW]}


def test_the_command_says_when_there_are_no_marks_without_loading_the_model(
    home: Path, monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    def no_model() -> None:
        raise AssertionError("the model is not needed to find there are no marks")

    monkeypatch.setattr(cli_bench, "real_embedder", no_model)
    monkeypatch.setenv("MATCHMAKER_DATABASE_URL", database_url)
    result = CliRunner().invoke(app, ["bench", "marks"])
    assert result.exit_code == 0, result.output
    assert f"No advisers' marks in {database_url.split(':')[0]}:" in result.output and "nothing to judge" in result.output


def test_the_command_judges_the_configured_database(home: Path, monkeypatch: pytest.MonkeyPatch, database_url: str) -> None:
    monkeypatch.setattr(cli_bench, "real_embedder", HashingEmbedder)
    monkeypatch.setenv("MATCHMAKER_DATABASE_URL", database_url)
    services = open_services(get_settings(), embedder=HashingEmbedder())
    with TestClient(create_app(services=services), headers=key_headers(services)) as c:
        for row in SUPPLIERS:
            assert c.post("/suppliers", json=row).status_code == 201
        for row in NEEDS:
            assert c.post("/needs", json=row).status_code == 201
        c.get("/needs/need-1/shortlist", params={"k": 2})
        mark(c, SNOW, "relevant")
        mark(c, FALL_SENSOR, "not_relevant")
    services.close()

    out = home / "marks.md"
    result = CliRunner().invoke(app, ["bench", "marks", "--k", "2", "--out", str(out)])
    assert result.exit_code == 0, result.output
    report = out.read_text(encoding="utf-8")
    assert report.strip() in result.output
    assert "1 needs carry current marks (1 suppliers marked invited or relevant, 1 not relevant)" in report
    assert "1 of them had their own shortlist served before their first mark" in report
    # served and today: fall sensor (not relevant), then snow (relevant) at rank 2; every place judged
    ndcg = f"{log2_gain(2):.3f} [0.63, 0.63]"
    for label in ("as served (before the first mark)", "today, the same needs", "today, every need with a relevant mark"):
        [row] = [line for line in report.splitlines() if line.startswith(f"| {label} |")]
        assert row.count(ndcg) == 2 and row.count("0.500 [0.50, 0.50]") == 4 and "1.000 [1.00, 1.00]" in row, row
    [delta] = [line for line in report.splitlines() if line.startswith("| today − as served (paired) |")]
    assert delta.count("+0.000 [+0.00, +0.00]") == 8
    assert "| need-1 | 1 | 1 | 0.63 | 0.63 | 0.50 | 0.50 | 0.50 | 0.50 |" in report


def test_the_sample_demo_derives_labelled_marks_and_reports_side_by_side(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli_bench, "real_embedder", HashingEmbedder)
    out = home / "marks.md"
    result = CliRunner().invoke(app, ["bench", "marks", "--sample", "--out", str(out)])
    assert result.exit_code == 0, result.output
    report = out.read_text(encoding="utf-8")
    assert "DERIVED FROM THE SAMPLE'S HAND JUDGEMENTS" in report and "not advisers' marks" in report
    assert "64 needs carry current marks" in report and "64 of them had their own shortlist served" in report
    for label in ("as served (before the first mark)", "today, the same needs", "today − as served (paired)"):
        assert f"| {label} | 64 |" in report
    # The served lists were marked in full, so every place of the served top 10 is judged.
    [served] = [line for line in report.splitlines() if line.startswith("| as served (before the first mark) |")]
    assert served.split(" | ")[6] == "1.000 [1.00, 1.00]"
