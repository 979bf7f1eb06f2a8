"""Processes for the crash tests to kill: the API with the fake embedder, and a loop of index saves.

``python -m tests.crash_helpers serve HOME PORT`` / ``python -m tests.crash_helpers save-loop HOME``
"""

from __future__ import annotations

import sys
from pathlib import Path

from service.container import open_services
from service.settings import Settings
from tests.fakes import HashingEmbedder


def serve(home: Path, port: int) -> None:
    import uvicorn

    from api.main import create_app

    services = open_services(Settings(home=home), embedder=HashingEmbedder())
    uvicorn.run(create_app(services=services), host="127.0.0.1", port=port, log_level="warning")


def save_loop(home: Path) -> None:
    """Write a row, save both indexes, forever: a SIGKILL lands in a save sooner or later."""
    from service import writes
    from store.models import SupplierCreate
    from store.repository import SUPPLIERS

    services = open_services(Settings(home=home), embedder=HashingEmbedder())
    print("ready", flush=True)
    n = 0
    while True:
        n += 1
        writes.create(services, SUPPLIERS, SupplierCreate(id=f"SAVE-{n}-{id(services)}", description=f"Saved row {n} sensors."))
        services.save_indexes()


if __name__ == "__main__":
    command, home = sys.argv[1], Path(sys.argv[2])
    if command == "serve":
        serve(home, int(sys.argv[3]))
    else:
        save_loop(home)
