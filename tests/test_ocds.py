"""Importing Open Contracting (OCDS) data: the firms that won or bid become suppliers with their awards as
evidence, tenders still in planning or open become needs, and a bad file imports nothing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, func, select
from typer.testing import CliRunner

from matcher.names import name_key
from service import shortlists
from service.container import Services, open_services
from service.errors import InvalidInput
from service.ocds_import import OcdsReport, import_ocds
from service.ocds_reader import country_of, read_releases, region_of, supplier_id
from service.settings import Settings
from store import models, repository
from store.db import session_scope
from store.repository import NEEDS, SUPPLIERS
from tests.fakes import HashingEmbedder

FIXTURES = Path(__file__).parent / "fixtures" / "ocds"
BRIGHTWAVE, TRYGGHET, SNOFRI = "GB-COH-08123456", "NO-BRC-912345678", "SE-BLV-5560000002"
FALL_AWARD = "Fall sensors and safety alarms for home care"


def _text(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def _row(services: Services, kind: repository.EntityKind, entity_id: str) -> Any:
    with Session(services.engine) as session:
        row = repository.get(session, kind, entity_id)
    assert row is not None, f"{kind.name} {entity_id} missing"
    return row


def _evidence(services: Services, supplier: str) -> list[models.Evidence]:
    key = int(_row(services, SUPPLIERS, supplier).key or 0)
    with Session(services.engine) as session:
        return repository.evidence_for(session, [key])[key]


def _counts(services: Services) -> tuple[int, int, int]:
    with Session(services.engine) as session:
        return tuple(  # type: ignore[return-value]
            int(session.exec(select(func.count()).select_from(table)).one())
            for table in (models.Supplier, models.Need, models.Evidence)
        )


def test_winners_become_suppliers_with_the_award_as_evidence(services: Services) -> None:
    report = import_ocds(services, _text("release_package.json"))
    assert report == OcdsReport(
        releases=3,
        releases_skipped=1,
        suppliers_created=3,
        evidence_added=2,
        needs_created=1,
        invalid_cpv_dropped=1,
        skipped={"tender status cancelled": 1, "tender status complete": 1, "award status cancelled": 1},
    )
    brightwave = _row(services, SUPPLIERS, BRIGHTWAVE)
    assert brightwave.name == "Brightwave Care Ltd"
    assert (brightwave.country, brightwave.region, brightwave.size) == ("GB", "UKD44", "large")
    trygghet = _row(services, SUPPLIERS, TRYGGHET)
    assert (trygghet.country, trygghet.region, trygghet.size) == ("NO", None, "small"), "a free-text region is not a NUTS code"
    assert trygghet.evidence_cpv_codes == ["33196200"], "the 7-digit code was dropped"

    [award] = _evidence(services, TRYGGHET)
    assert award.source == "ocds:ocds-b5fd17-trondheim-2024-0107/2024-0107-A1"
    assert (award.title, award.buyer, award.awarded_on) == (FALL_AWARD, "Trondheim kommune", dt.date(2024, 6, 14))
    assert award.description.startswith("Framework agreement for fall sensors")

    # A tenderer whose only award was cancelled is still a firm active in this market, with no evidence.
    tenderer = _row(services, SUPPLIERS, supplier_id({"name": "Omsorgsteknikk Nord AS"}) or "")
    assert (tenderer.name, tenderer.description) == ("Omsorgsteknikk Nord AS", "")
    assert _evidence(services, tenderer.id) == []


def test_a_known_tenderer_is_enriched(services: Services) -> None:
    tenderer = supplier_id({"name": "Omsorgsteknikk Nord AS"}) or ""
    with session_scope(services.engine) as session:
        repository.upsert(session, SUPPLIERS, {"id": tenderer, "description": "Trygghetsalarmer og velferdsteknologi."})
    assert import_ocds(services, _text("release_package.json")).suppliers_enriched == 1
    row = _row(services, SUPPLIERS, tenderer)
    assert (row.name, row.country, row.description) == ("Omsorgsteknikk Nord AS", "NO", "Trygghetsalarmer og velferdsteknologi.")
    assert _evidence(services, tenderer) == [], "a cancelled award is not a contract won"


def test_a_planning_tender_becomes_a_need(services: Services) -> None:
    import_ocds(services, _text("release_package.json"))
    need = _row(services, NEEDS, "ocds-b5fd17-bergen-2025-0042")
    assert need.title == "Digitalt tilsyn og fallsensorer for hjemmeboende eldre"
    assert need.description.startswith("Bergen kommune planlegger en markedsdialog")
    assert (need.buyer, need.country, need.region, need.status) == ("Bergen kommune", "NO", "NO0A2", "planning")
    assert need.cpv_codes == ["33196200", "85312400"]
    assert (need.published, need.deadline) == (dt.date(2025, 9, 1), dt.date(2025, 11, 30))
    with Session(services.engine) as session:
        assert repository.get(session, NEEDS, "ocds-b5fd17-trondheim-2024-0107") is None, "a complete tender is no need"


def test_a_known_supplier_is_enriched_but_keeps_what_it_wrote(services: Services) -> None:
    own = "Vi utvikler kamerafrie fallsensorer sammen med hjemmetjenesten i Trøndelag."
    with session_scope(services.engine) as session:
        repository.upsert(session, SUPPLIERS, {"id": TRYGGHET, "name": "Trygghetssensor", "description": own})
    report = import_ocds(services, _text("release_package.json"))
    assert (report.suppliers_created, report.suppliers_enriched) == (2, 1)
    row = _row(services, SUPPLIERS, TRYGGHET)
    assert (row.name, row.description) == ("Trygghetssensor", own), "its own name and profile are kept"
    assert (row.country, row.size) == ("NO", "small"), "empty fields are filled"
    assert [e.title for e in _evidence(services, TRYGGHET)] == [FALL_AWARD]


def test_importing_twice_changes_nothing(services: Services) -> None:
    for name in ("release_package.json", "record_package.json"):
        first = import_ocds(services, _text(name))
        with Session(services.engine) as session:
            revision = repository.current_revision(session)
            rows = repository.revisions(session, SUPPLIERS), repository.revisions(session, NEEDS)
        again = import_ocds(services, _text(name))
        assert (again.suppliers_created, again.suppliers_enriched, again.evidence_added) == (0, 0, 0)
        assert (again.needs_created, again.needs_updated) == (0, 0)
        assert again.suppliers_unchanged == first.suppliers_created and again.needs_unchanged == first.needs_created
        with Session(services.engine) as session:
            assert repository.current_revision(session) == revision, "no revision bumped"
            assert (repository.revisions(session, SUPPLIERS), repository.revisions(session, NEEDS)) == rows


def test_record_package_uses_the_compiled_release_else_the_releases_by_date(services: Services) -> None:
    report = import_ocds(services, _text("record_package.json"), today=dt.date(2025, 9, 1))  # Umeå's tender still open
    assert (report.releases, report.suppliers_created, report.evidence_added, report.needs_created) == (3, 1, 1, 1)
    need = _row(services, NEEDS, "ocds-x7q2kd-umea-2025-0007")
    assert (need.status, need.country, need.region, need.deadline) == ("open", "SE", "SE331", dt.date(2025, 10, 31))
    assert need.cpv_codes == ["90620000", "90630000"], "check digit removed, additional classification kept"
    # Luleå's releases are listed newest first: the tender release (active) is read before the award
    # release (complete), so there is no need, and the award takes its title from the earlier tender.
    with Session(services.engine) as session:
        assert repository.get(session, NEEDS, "ocds-x7q2kd-lulea-2024-0031") is None
    [award] = _evidence(services, SNOFRI)
    assert award.title == "Snöröjning med eldrivna maskiner 2024–2027"
    assert (award.buyer, award.cpv_codes, award.awarded_on) == ("Luleå kommun", ["90620000"], dt.date(2024, 3, 28))
    assert _row(services, SUPPLIERS, SNOFRI).size == "medium"


def test_a_malformed_json_line_imports_nothing_and_is_named(services: Services) -> None:
    with pytest.raises(InvalidInput) as caught:
        import_ocds(services, _text("releases_bad_line.jsonl"))
    assert [p.line for p in caught.value.problems] == [2]
    assert "not valid JSON" in caught.value.problems[0].msg
    assert _counts(services) == (0, 0, 0)
    with Session(services.engine) as session:
        assert repository.current_revision(session) == 0


def test_json_lines_hold_releases_or_packages(services: Services) -> None:
    lines = _text("releases_bad_line.jsonl").splitlines()
    report = import_ocds(services, "\n".join([lines[0], lines[2]]))
    assert (report.releases, report.suppliers_created, report.evidence_added) == (2, 1, 2)
    fylde = supplier_id({"name": "Fylde Highways Limited"}) or ""
    assert fylde == supplier_id({"name": "Fylde Highways Ltd"}), "one firm however the notice spells it"
    assert fylde.startswith("NAME-")
    assert {e.buyer for e in _evidence(services, fylde)} == {"Lancaster City Council", "Preston City Council"}
    assert _row(services, SUPPLIERS, fylde).size == "small"


def test_a_malformed_release_or_file_is_named() -> None:
    package = '{"releases": [{"ocid": "ocds-a-1"}, {"ocid": "ocds-a-2", "parties": {"id": "x"}}, {"tag": ["award"]}]}'
    with pytest.raises(InvalidInput) as caught:
        read_releases(package)
    problems = [(p.loc, p.line) for p in caught.value.problems]
    assert problems == [(("releases", 1, "parties"), None), (("releases", 2, "ocid"), None)]
    truncated = _text("release_package.json")[:2000]
    with pytest.raises(InvalidInput) as caught:
        read_releases(truncated)
    [problem] = caught.value.problems
    assert problem.loc == ("file",) and problem.line == truncated.count("\n") + 1


def test_shortlist_cites_the_award_won(services: Services) -> None:
    import_ocds(services, _text("release_package.json"))
    results = shortlists.suppliers_for_text(services, "fall sensors and safety alarms for elderly people at home", k=3)
    found = {r.row.id: r for r in results}
    assert TRYGGHET in found and BRIGHTWAVE in found
    why = found[TRYGGHET].explanation
    assert why is not None and why.best_sentence == f"won '{FALL_AWARD}' for Trondheim kommune (2024)"


def test_party_values_are_mapped_only_where_obvious() -> None:
    assert supplier_id({"identifier": {"scheme": "GB-COH", "id": "01234567"}, "name": "X"}) == "GB-COH-01234567"
    assert supplier_id({"identifier": {"scheme": "NO-BRC", "id": "NO-BRC-912 345 678"}}) == "NO-BRC-912345678"
    assert supplier_id({"identifier": {"id": 912345678}, "name": "The A.B.C. Group Ltd"}) == supplier_id({"name": "abc"})
    assert name_key("The A.B.C. Group Ltd") == "abc"
    addresses = ({"countryName": "Norge"}, {"countryName": "United Kingdom"}, {"country": "uk"}, {"countryName": "Atlantis"})
    assert [country_of(a) for a in addresses] == ["NO", "GB", "GB", None]
    assert [region_of({"region": r}) for r in ("UKD44", "NO0A", "Oslo", "Vestland")] == ["UKD44", "NO0A", None, None]


def test_cli_imports_an_ocds_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from api import cli

    settings = Settings(home=tmp_path / "home", database_url=f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setattr(cli, "_services", lambda **_: open_services(settings, embedder=HashingEmbedder()))
    runner = CliRunner()
    package = str(FIXTURES / "release_package.json")
    result = runner.invoke(cli.app, ["import", "ocds", package])
    assert result.exit_code == 0, result.output
    assert "suppliers: 3 created, 0 enriched, 0 unchanged;" in result.output
    assert "evidence: 2 added; needs: 1 created" in result.output
    again = runner.invoke(cli.app, ["import", "ocds", package]).output
    assert "suppliers: 0 created, 0 enriched, 3 unchanged" in again
    assert "evidence: 0 added; needs: 0 created, 0 updated, 1 unchanged" in again

    bad = runner.invoke(cli.app, ["import", "ocds", str(FIXTURES / "releases_bad_line.jsonl")])
    assert bad.exit_code == 2
    assert "releases_bad_line.jsonl:2:" in bad.output and "nothing imported" in bad.output
