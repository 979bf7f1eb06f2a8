"""Limits on hostile or careless input: each refused with a clear 4xx naming the field or the limit."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.limits import IMPORT_BODY_LIMIT, JSON_BODY_LIMIT
from api.main import create_app
from service.container import Services
from service.errors import MAX_PROBLEMS
from service.writes import MAX_IMPORT_LINES
from tests.builders import key_headers


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    with TestClient(create_app(services=services), headers=key_headers(services)) as c:
        yield c


def loc(response) -> list[str]:  # type: ignore[no-untyped-def]
    assert response.status_code == 422, response.text
    return [str(x) for x in response.json()["detail"][0]["loc"]]


def test_oversize_bodies_are_refused_before_parsing(client: TestClient) -> None:
    declared = client.post("/match", content=b"x" * (JSON_BODY_LIMIT + 1), headers={"content-type": "application/json"})
    assert declared.status_code == 413 and "larger than" in declared.json()["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams
        for _ in range(JSON_BODY_LIMIT // 65536 + 2):
            yield b" " * 65536

    streamed = client.post("/match", content=chunks(), headers={"content-type": "application/json"})
    assert streamed.status_code == 413
    assert IMPORT_BODY_LIMIT > JSON_BODY_LIMIT  # bulk imports have their own, larger limit


def test_field_limits_name_the_field(client: TestClient) -> None:
    assert "text" in loc(client.post("/match", json={"text": "x" * 10_001}))
    assert "k" in loc(client.post("/match", json={"text": "snow clearing", "k": 101}))
    assert "limit" in loc(client.get("/suppliers", params={"limit": 501}))
    assert "offset" in loc(client.get("/suppliers", params={"offset": -1}))
    too_many = {"text": "snow clearing", "filters": {"countries": ["NO"] * 31}}
    assert "countries" in loc(client.post("/match", json=too_many))
    long_name = {"id": "X-1", "description": "We clear snow.", "name": "n" * 301}
    assert "name" in loc(client.post("/suppliers", json=long_name))
    bad_email = {"id": "X-1", "description": "We clear snow.", "contact_email": "not an address"}
    assert "contact_email" in loc(client.post("/suppliers", json=bad_email))


def test_an_import_of_more_than_200000_lines_is_refused_before_parsing(client: TestClient) -> None:
    """The README's promise: bulk imports of more than 200,000 lines are refused with 413 before parsing."""
    over = client.post("/suppliers/import", content=b"{}\n" * (MAX_IMPORT_LINES + 1))
    assert over.status_code == 413, over.text
    assert "200,000 lines" in over.json()["detail"]
    no_final_newline = client.post("/needs/import", content=b"\n" * MAX_IMPORT_LINES + b"{}")
    assert no_final_newline.status_code == 413, "the last line counts without its newline"
    at_limit = client.post("/suppliers/import", content=b"\n" * MAX_IMPORT_LINES)
    assert at_limit.status_code == 200, "200,000 lines are allowed"


def test_deeply_nested_json_is_422_with_the_reason(client: TestClient) -> None:
    deep = b"[" * 200_000 + b"]" * 200_000
    for path in ("/match", "/suppliers"):
        response = client.post(path, content=b'{"text": ' + deep + b"}", headers={"content-type": "application/json"})
        assert response.status_code == 422, response.text
        [problem] = response.json()["detail"]
        assert problem["loc"] == ["body"] and "nested too deeply" in problem["msg"]
    line = client.post("/suppliers/import", content=b"[" * 100_000 + b"]" * 100_000)
    assert line.status_code == 422, line.text  # was a 500: the parser's RecursionError escaped
    assert line.json()["detail"][0]["line"] == 1 and "nested too deeply" in line.json()["detail"][0]["msg"]


def test_a_file_of_bad_lines_lists_the_first_100_problems_and_counts_the_rest(client: TestClient) -> None:
    response = client.post("/suppliers/import", content=b"{not json\n" * 1000)
    assert response.status_code == 422
    body = response.json()
    assert [p["line"] for p in body["detail"]] == list(range(1, MAX_PROBLEMS + 1))
    assert body["more"] == 1000 - MAX_PROBLEMS
    assert len(response.content) < 20_000
