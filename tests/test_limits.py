"""Limits on hostile or careless input: each refused with a clear 4xx naming the field or the limit."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.limits import IMPORT_BODY_LIMIT, JSON_BODY_LIMIT
from api.main import create_app
from service.container import Services
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
