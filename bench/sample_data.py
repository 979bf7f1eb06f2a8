"""Load the project's sample data into a scratch service, for benchmarks and model tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from indexer.embedder import Embedder
from service.container import Services, open_services
from service.settings import Settings
from service.writes import import_records
from store.repository import NEEDS, SUPPLIERS

DATA = Path(__file__).resolve().parents[1] / "data"


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def relevance_judgements() -> dict[str, set[str]]:
    """need id → the suppliers an adviser would invite (hand-judged, ``data/relevance.jsonl``)."""
    return {row["need_id"]: set(row["relevant"]) for row in read_jsonl(DATA / "relevance.jsonl")}


def load_sample_service(home: Path, embedder: Embedder, *, progress: bool = False) -> Services:
    services = open_services(Settings(home=home), embedder=embedder)
    for kind, name in ((SUPPLIERS, "suppliers.jsonl"), (NEEDS, "needs.jsonl")):
        with (DATA / name).open(encoding="utf-8") as handle:
            import_records(services, kind, handle, progress=progress)
    return services
