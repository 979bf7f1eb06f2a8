"""The importers under malformed input (hypothesis): a bad file is refused whole, naming each bad line,
and leaves the database as it was; a good one imports everything. Nothing else ever happens."""

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, func, select

from service.container import Services
from service.errors import InvalidInput
from service.ocds_import import import_ocds
from service.writes import import_records
from store import models
from store.repository import SUPPLIERS
from tests.builders import SUPPLIERS as SUPPLIER_ROWS

OCDS = Path(__file__).parent / "fixtures" / "ocds"
FUZZ = settings(max_examples=60, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


@st.composite
def damaged_jsonl(draw: st.DrawFn) -> list[str]:
    """The builders' suppliers as JSON lines, one of them damaged in one of several ways."""
    lines = [json.dumps(row, ensure_ascii=False) for row in SUPPLIER_ROWS]
    target = draw(st.integers(0, len(lines) - 1))
    how = draw(st.sampled_from(["truncate", "insert", "field", "drop-field", "not-an-object"]))
    line = lines[target]
    if how == "truncate":
        line = line[: draw(st.integers(0, len(line) - 1))]
    elif how == "insert":
        at = draw(st.integers(0, len(line)))
        line = line[:at] + draw(st.text(min_size=1, max_size=5)) + line[at:]
    elif how == "field":
        row = dict(SUPPLIER_ROWS[target])
        row[draw(st.sampled_from([*row, "extra"]))] = draw(JSON_VALUES)
        line = json.dumps(row)
    elif how == "drop-field":
        row = dict(SUPPLIER_ROWS[target])
        row.pop(draw(st.sampled_from(list(row))))
        line = json.dumps(row)
    else:
        line = json.dumps(draw(JSON_VALUES))
    lines[target] = line
    return lines


def count(services: Services) -> int:
    with Session(services.engine) as session:
        return int(session.exec(select(func.count()).select_from(models.Supplier)).one())


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_jsonl_import_is_all_or_nothing_under_damage(services: Services) -> None:
    @FUZZ
    @given(lines=damaged_jsonl())
    def check(lines: list[str]) -> None:
        before = count(services)
        try:
            report = import_records(services, SUPPLIERS, lines)
        except InvalidInput as exc:
            assert exc.problems and all(p.line is not None and 1 <= p.line <= len(lines) for p in exc.problems)
            assert count(services) == before  # nothing half-way
            return
        assert report.total == sum(1 for line in lines if line.strip()) and count(services) >= before  # blank lines skip

    check()


@st.composite
def damaged_ocds(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(["record_package.json", "release_package.json", "releases_bad_line.jsonl"]))
    text = (OCDS / text).read_text(encoding="utf-8")
    at = draw(st.integers(0, len(text)))
    how = draw(st.sampled_from(["truncate", "insert", "delete"]))
    if how == "truncate":
        return text[:at]
    if how == "insert":
        return text[:at] + draw(st.text(min_size=1, max_size=6)) + text[at:]
    return text[:at] + text[at + draw(st.integers(1, 40)) :]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_ocds_import_is_all_or_nothing_under_damage(services: Services) -> None:
    @FUZZ
    @given(text=damaged_ocds())
    def check(text: str) -> None:
        before = count(services)
        try:
            import_ocds(services, text)
        except InvalidInput as exc:
            assert exc.problems and all(p.msg for p in exc.problems)
            assert count(services) == before
            return
        assert count(services) >= before

    check()
