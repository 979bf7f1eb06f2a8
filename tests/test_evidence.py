"""Won contracts as evidence in a supplier's profile: matched on, filtered on, cited in explanations."""

import datetime as dt

import pytest
from sqlmodel import Session, select

from matcher.filters import MatchFilters
from service import shortlists, writes
from service.container import Services
from store import models, repository
from store.db import session_scope
from store.models import SupplierCreate, SupplierUpdate
from store.repository import SUPPLIERS

WINTER = {
    "source": "uk-cf:1",
    "title": "Winter road maintenance 2021",
    "description": "Gritting and snow ploughing of the district's roads and footways.",
    "buyer": "Lancaster City Council",
    "cpv_codes": ["90620000"],
    "awarded_on": dt.date(2021, 10, 1),
}
PARKS = {
    "source": "uk-cf:2",
    "title": "Grounds maintenance of parks",
    "description": "Grass cutting and hedge trimming.",
    "buyer": "Preston City Council",
    "cpv_codes": ["77310000"],
    "awarded_on": dt.date(2022, 4, 1),
}


def _supplier_with_evidence(services: Services, items: list[dict]) -> int:  # type: ignore[type-arg]
    with session_scope(services.engine) as session:
        row, _ = repository.upsert(session, SUPPLIERS, {"id": "GB-X-1", "name": "Fylde Highways Ltd", "description": ""})
        first_revision = row.revision
        assert repository.add_evidence(session, row, items) == len(items)
        assert row.revision > first_revision
        assert repository.add_evidence(session, row, items) == 0, "adding the same evidence again changes nothing"
        key = int(row.key)
    assert services.wait_indexed(SUPPLIERS, [key])
    return key


def _row(services: Services, key: int) -> models.Supplier:
    with Session(services.engine) as session:
        return repository.get_by_keys(session, SUPPLIERS, [key])[key]


def test_evidence_codes_are_matched_and_filtered_on(services: Services) -> None:
    key = _supplier_with_evidence(services, [WINTER, PARKS])
    row = _row(services, key)
    assert row.evidence_cpv_codes == ["90620000", "77310000"] and row.cpv_codes == []
    with Session(services.engine) as session:
        assert repository.allowed_keys(session, SUPPLIERS, MatchFilters.build(cpv=["9062"])) == [key]


def test_explanation_cites_the_contract_that_matched(services: Services) -> None:
    _supplier_with_evidence(services, [WINTER, PARKS])
    [result] = shortlists.suppliers_for_text(services, "snow ploughing and gritting of roads", cpv_codes=["90620000"], k=1)
    why = result.explanation
    assert why.best_sentence == "won 'Winter road maintenance 2021' for Lancaster City Council (2021)"
    assert {"ploughing", "gritting"} <= set(why.matched_terms)
    assert why.shared_cpv[0].level == "exact"


def test_deleting_a_supplier_deletes_its_evidence(services: Services) -> None:
    key = _supplier_with_evidence(services, [WINTER])
    with session_scope(services.engine) as session:
        repository.delete(session, SUPPLIERS, repository.get(session, SUPPLIERS, "GB-X-1"))
    with Session(services.engine) as session:
        assert not list(session.exec(select(models.Evidence).where(models.Evidence.supplier_key == key)))


def test_a_supplier_known_only_by_name_is_listed_without_a_best_sentence(services: Services) -> None:
    with session_scope(services.engine) as session:
        row, _ = repository.upsert(session, SUPPLIERS, {"id": "NAME-1", "name": "Snow Ploughing Partners", "description": ""})
    assert services.wait_indexed(SUPPLIERS, [int(row.key)])
    [result] = shortlists.suppliers_for_text(services, "snow ploughing", k=1)
    assert result.row.id == "NAME-1" and result.explanation is not None
    assert result.explanation.best_sentence is None and "ploughing" in result.explanation.matched_terms


def test_an_explanation_cites_the_current_text_after_the_profile_changes(services: Services) -> None:
    profile = SupplierCreate(id="SE-X-1", name="Snöfri AB", description="Vi plogar snö med eldrivna maskiner.")
    writes.create(services, SUPPLIERS, profile)
    query = "snow ploughing with electric machines"
    [before] = shortlists.suppliers_for_text(services, query, k=1)
    assert before.explanation.best_sentence == "Vi plogar snö med eldrivna maskiner."

    writes.patch(services, SUPPLIERS, "SE-X-1", SupplierUpdate(description="Snow ploughing with electric machines, all winter."))
    [after] = shortlists.suppliers_for_text(services, query, k=1)

    assert after.explanation.best_sentence == "Snow ploughing with electric machines, all winter."


def test_a_track_record_in_the_needs_field_is_explained(services: Services) -> None:
    _supplier_with_evidence(services, [WINTER, PARKS])
    [result] = shortlists.suppliers_for_text(services, "gritting of footways", cpv_codes=["90620000"], k=1)
    why = result.explanation
    assert why.track_record == "won 1 contract in the need's CPV groups (latest 2021)"
    assert why.components.group_awards > 0 and why.track_record in why.summary()
    assert sum(why.shares.values()) == pytest.approx(result.score, abs=1e-3)


def test_a_supplier_without_contracts_in_the_field_has_no_track_record(services: Services) -> None:
    _supplier_with_evidence(services, [PARKS])
    [result] = shortlists.suppliers_for_text(services, "gritting of footways", cpv_codes=["90620000"], k=1)
    assert result.explanation.track_record is None and result.explanation.components.group_awards == 0.0
