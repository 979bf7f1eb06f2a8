"""Shared fixtures: a fake embedder for fast tests, the real model once per session, and the
databases (SQLite in a temporary folder always; PostgreSQL when MATCHMAKER_TEST_POSTGRES_URL is set)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlmodel import SQLModel

from service.container import Services, open_services
from service.settings import Settings
from store.db import make_engine
from tests.fakes import HashingEmbedder

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

os.environ.setdefault("HF_HUB_OFFLINE", "1")

POSTGRES_URL = os.environ.get("MATCHMAKER_TEST_POSTGRES_URL")
REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--screens", action="store_true", help="save the browser tests' pages under bench/results/screens/")


def _reset_postgres(url: str) -> None:
    engine = make_engine(url)
    SQLModel.metadata.drop_all(engine)
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each backend the service supports; PostgreSQL skips cleanly when no server is configured."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    if not POSTGRES_URL:
        pytest.skip("MATCHMAKER_TEST_POSTGRES_URL is not set (CI sets it)")
    _reset_postgres(POSTGRES_URL)
    yield POSTGRES_URL
    _reset_postgres(POSTGRES_URL)


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(home=tmp_path / "home", database_url=database_url)


@pytest.fixture
def embedder() -> HashingEmbedder:
    return HashingEmbedder()


@pytest.fixture
def services(settings: Settings, embedder: HashingEmbedder) -> Iterator[Services]:
    opened = open_services(settings, embedder=embedder)
    yield opened
    opened.engine.dispose()


@pytest.fixture(scope="session")
def raw_embedder():  # type: ignore[no-untyped-def]
    """The bundled multilingual model as built, loaded once for the whole session."""
    from service.container import raw_embedder as load

    return load(Settings(device="cpu"))


@pytest.fixture(scope="session")
def real_embedder(raw_embedder):  # type: ignore[no-untyped-def]
    """The embedder the service matches with (language-neutral), sharing the loaded model."""
    from indexer.language_neutral import load_or_estimate
    from service.container import MODEL_CACHE
    from service.reference import reference_texts

    return load_or_estimate(raw_embedder, reference_texts(), MODEL_CACHE / "language_means")


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    """The API over the builders' suppliers and needs, with an adviser's key."""
    from fastapi.testclient import TestClient

    from api.main import create_app
    from tests.builders import NEEDS, SUPPLIERS, key_headers

    with TestClient(create_app(services=services), headers=key_headers(services)) as c:
        for supplier in SUPPLIERS:
            assert c.post("/suppliers", json=supplier).status_code == 201
        for need in NEEDS:
            assert c.post("/needs", json=need).status_code == 201
        yield c


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh MATCHMAKER_HOME for CLI tests (settings re-read)."""
    from service.settings import get_settings

    monkeypatch.setenv("MATCHMAKER_HOME", str(tmp_path / "home"))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()
