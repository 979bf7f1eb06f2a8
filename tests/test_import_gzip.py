"""Bulk imports over the API take gzip, as publishers ship bulk files, within the same limits once inflated."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.limits import IMPORT_BODY_LIMIT
from api.main import create_app
from service.compressed import GzipInflater, TooLarge
from service.container import Services
from tests.builders import SUPPLIERS, key_headers

LINES = "".join(json.dumps(s, ensure_ascii=False) + "\n" for s in SUPPLIERS).encode()


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    with TestClient(create_app(services=services), headers=key_headers(services)) as c:
        yield c


def test_a_gzip_body_is_imported_whether_declared_or_recognised(client: TestClient) -> None:
    sniffed = client.post("/suppliers/import", content=gzip.compress(LINES))
    assert sniffed.status_code == 200, sniffed.text
    assert sniffed.json() == {"created": 3, "updated": 0, "unchanged": 0}
    declared = client.post("/suppliers/import", content=gzip.compress(LINES), headers={"content-encoding": "gzip"})
    assert declared.json() == {"created": 0, "updated": 0, "unchanged": 3}
    two_members = gzip.compress(LINES[:200]) + gzip.compress(LINES[200:])  # as `cat a.gz b.gz` makes
    assert client.post("/suppliers/import", content=two_members).json()["unchanged"] == 3


def test_a_gzip_bomb_is_refused_at_the_limit_and_damaged_gzip_is_named(client: TestClient) -> None:
    bomb = gzip.compress(b" " * (IMPORT_BODY_LIMIT + 1), compresslevel=9)
    assert len(bomb) < IMPORT_BODY_LIMIT // 100
    refused = client.post("/suppliers/import", content=bomb)
    assert refused.status_code == 413 and "once inflated" in refused.json()["detail"]
    many_lines = client.post("/needs/import", content=gzip.compress(b"\n" * 200_001))
    assert many_lines.status_code == 413, "the line limit counts inflated lines"
    cut = client.post("/suppliers/import", content=gzip.compress(LINES)[:-12])
    assert cut.status_code == 422 and "gzip" in cut.json()["detail"][0]["msg"]
    unknown = client.post("/suppliers/import", content=LINES, headers={"content-encoding": "br"})
    assert unknown.status_code == 415


def test_a_gzip_json_body_elsewhere_is_told_to_send_it_plain(client: TestClient) -> None:
    body = gzip.compress(json.dumps(SUPPLIERS[0]).encode())
    response = client.post("/suppliers", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert "gzip-compressed" in response.json()["detail"][0]["msg"]


def test_the_inflater_never_produces_more_than_its_limit() -> None:
    inflater = GzipInflater(limit=1000)
    bomb = gzip.compress(b"\0" * 10_000_000)
    with pytest.raises(TooLarge):
        for start in range(0, len(bomb), 64):
            inflater.feed(bomb[start : start + 64])
    assert inflater.produced <= 1001
