"""Processes for the crash tests to kill: the API with the fake embedder, a loop of index saves, and an
alert job that stops just before it commits.

``python -m tests.crash_helpers serve HOME PORT`` / ``... save-loop HOME`` / ``... alert-hang HOME``
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


def alert_hang(home: Path) -> None:
    """Claim the alert jobs with a 1 s lease, write their alerts, mail and audit entry, and hang before the
    commit: the kill lands with everything written and nothing committed."""
    import datetime as dt
    import time

    from service import alerts
    from store import alert_queries

    services = open_services(Settings(home=home), embedder=HashingEmbedder())
    alerts.LEASE = dt.timedelta(seconds=1)

    def hang(*_args: object) -> bool:
        print("recording", flush=True)
        time.sleep(120)
        return True

    alert_queries.finish_job = hang  # type: ignore[assignment]
    alerts.run_pending(services)


if __name__ == "__main__":
    command, home = sys.argv[1], Path(sys.argv[2])
    if command == "serve":
        serve(home, int(sys.argv[3]))
    elif command == "alert-hang":
        alert_hang(home)
    else:
        save_loop(home)
