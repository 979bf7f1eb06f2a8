"""Real publishers' OCDS habits: empty award statuses (MTender), tenders left `active` for years, ocids that
already carry the `ocds-` prefix, and bulk files shipped gzipped. Nothing is dropped without a word."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session
from typer.testing import CliRunner

from service.container import Services, open_services
from service.ocds_import import import_ocds
from service.settings import Settings
from store import repository
from store.db import session_scope
from store.repository import NEEDS, SUPPLIERS
from tests.fakes import HashingEmbedder

FIXTURES = Path(__file__).parent / "fixtures" / "ocds"
TODAY = dt.date(2026, 11, 29)
WINNER = {
    "id": "MD-IDNO-1003600012345",
    "name": "Drumuri Curate SRL",
    "identifier": {"scheme": "MD-IDNO", "id": "1003600012345"},
    "roles": ["supplier"],
}


def award(award_id: str, status: str, title: str | None = "Deszăpezirea drumurilor locale") -> dict[str, Any]:
    return {"id": award_id, "status": status, "title": title, "suppliers": [{"id": WINNER["id"], "name": WINNER["name"]}]}


def release(ocid: str, **fields: Any) -> dict[str, Any]:
    return {"ocid": ocid, "id": f"{ocid}-1", "date": "2026-10-01T00:00:00Z", "tag": ["tender"], **fields}


def package(*releases: dict[str, Any]) -> str:
    return json.dumps({"version": "1.1", "releases": list(releases)}, ensure_ascii=False)


def tender(status: str, ends: str | None = None) -> dict[str, Any]:
    period = {"tenderPeriod": {"endDate": ends}} if ends else {}
    return {"title": "Snow clearing of municipal roads", "description": "Winter maintenance.", "status": status, **period}


def need_row(services: Services, need_id: str) -> Any:
    with Session(services.engine) as session:
        return repository.get(session, NEEDS, need_id)


def test_an_award_with_an_empty_status_is_won_and_what_is_skipped_is_counted(services: Services) -> None:
    awards = [award("A1", ""), award("A2", "pending"), award("A3", "unsuccessful"), award("A4", "active", title=None)]
    mtender = release("ocds-b3wdp1-MD-1600000000001", parties=[WINNER], awards=awards, tag=["award"])
    report = import_ocds(services, package(mtender), today=TODAY)
    assert report.evidence_added == 1, "the award published with status '' is a contract won"
    assert report.skipped == {"award status pending": 1, "award status unsuccessful": 1, "award without a title": 1}
    with Session(services.engine) as session:
        row = repository.get(session, SUPPLIERS, WINNER["id"])
        assert row is not None
        [evidence] = repository.evidence_for(session, [int(row.key or 0)])[int(row.key or 0)]
    assert evidence.title == "Deszăpezirea drumurilor locale"


def test_an_award_counts_once_as_its_latest_release_left_it(services: Services) -> None:
    ocid = "ocds-b3wdp1-MD-1600000000002"
    pending = release(ocid, parties=[WINNER], awards=[award("A1", "pending")], date="2026-09-01T00:00:00Z")
    won = release(ocid, parties=[WINNER], awards=[award("A1", "active")], date="2026-10-01T00:00:00Z")
    report = import_ocds(services, package(won, pending), today=TODAY)
    assert (report.evidence_added, report.skipped) == (1, {})


def test_an_active_tender_whose_period_ended_is_a_closed_need(services: Services) -> None:
    ended = release("x-ended", tender=tender("active", ends="2019-03-01T12:00:00Z"))
    running = release("x-running", tender=tender("active", ends="2026-12-15T12:00:00Z"))
    undated_stale = release("x-stale", tender=tender("active"), date="2021-05-01T00:00:00Z")
    undated_recent = release("x-recent", tender=tender("active"), date="2026-11-01T00:00:00Z")
    report = import_ocds(services, package(ended, running, undated_stale, undated_recent), today=TODAY)
    statuses = {n: need_row(services, n).status for n in ("ocds-x-ended", "ocds-x-running", "ocds-x-stale", "ocds-x-recent")}
    assert statuses == {"ocds-x-ended": "closed", "ocds-x-running": "open", "ocds-x-stale": "closed", "ocds-x-recent": "open"}
    assert (report.needs_created, report.needs_closed) == (4, 2)
    assert need_row(services, "ocds-x-ended").deadline == dt.date(2019, 3, 1)


def test_need_ids_carry_the_ocds_prefix_once(services: Services) -> None:
    prefixed = release("ocds-b5fd17-oslo-2026-0001", tender=tender("planning"))
    bare = release("MD-1600000000003", tender=tender("planning"))
    import_ocds(services, package(prefixed, bare), today=TODAY)
    assert need_row(services, "ocds-b5fd17-oslo-2026-0001") is not None
    assert need_row(services, "ocds-MD-1600000000003") is not None
    assert need_row(services, "ocds-ocds-b5fd17-oslo-2026-0001") is None


def test_a_need_imported_under_the_old_doubled_id_is_updated_not_duplicated(services: Services) -> None:
    old_id = "ocds-ocds-b5fd17-oslo-2026-0002"
    with session_scope(services.engine) as session:  # as an import before the fix left it
        repository.upsert(session, NEEDS, {"id": old_id, "title": "Old title", "description": "Old text.", "status": "open"})
    report = import_ocds(services, package(release("ocds-b5fd17-oslo-2026-0002", tender=tender("planning"))), today=TODAY)
    assert (report.needs_created, report.needs_updated) == (0, 1)
    assert need_row(services, old_id).title == "Snow clearing of municipal roads"
    assert need_row(services, "ocds-b5fd17-oslo-2026-0002") is None


@pytest.fixture
def cli_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    from api import cli

    settings = Settings(home=tmp_path / "home", database_url=f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setattr(cli, "_services", lambda **_: open_services(settings, embedder=HashingEmbedder()))
    return settings


def test_the_cli_reads_gzip_files_by_their_content_and_reports_what_it_skipped(cli_settings: Settings, tmp_path: Path) -> None:
    from api import cli

    runner = CliRunner()
    data = (FIXTURES / "release_package.json").read_bytes()
    for name in ("releases.json.gz", "releases.json"):  # gzip whatever the name says
        (tmp_path / name).write_bytes(gzip.compress(data))
        result = runner.invoke(cli.app, ["import", "ocds", str(tmp_path / name)])
        assert result.exit_code == 0, result.output
    assert "skipped: 3 (tender status cancelled: 1, tender status complete: 1, award status cancelled: 1)" in result.output

    suppliers = '{"id": "SE-BLV-5560000009", "description": "Vi röjer snö med eldrivna maskiner."}\n'
    (tmp_path / "suppliers.jsonl.gz").write_bytes(gzip.compress(suppliers.encode()))
    result = runner.invoke(cli.app, ["import", "suppliers", str(tmp_path / "suppliers.jsonl.gz")])
    assert result.exit_code == 0 and "1 created" in result.output, result.output

    (tmp_path / "cut.json.gz").write_bytes(gzip.compress(data)[:500])
    result = runner.invoke(cli.app, ["import", "ocds", str(tmp_path / "cut.json.gz")])
    assert result.exit_code == 2 and "damaged gzip file" in result.output and "Traceback" not in result.output
