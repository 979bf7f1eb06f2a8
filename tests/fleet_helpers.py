"""Processes for the several-servers tests, with the fake embedder so they start in a second.

``python -m tests.fleet_helpers serve PORT`` — an API server indexing in the background;
``python -m tests.fleet_helpers workers PORT N`` — ``N`` uvicorn worker processes on one port;
``python -m tests.fleet_helpers worker [SECONDS_PER_BATCH]`` — an indexer alone (slowed down, to be killed mid-batch).
The database and home come from ``MATCHMAKER_DATABASE_URL`` and ``MATCHMAKER_HOME``.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Sequence

import numpy as np

from service.container import open_services
from service.settings import Settings
from tests.fakes import HashingEmbedder


class SlowEmbedder(HashingEmbedder):
    """The fake model, taking its time over every document batch (so a kill lands mid-batch)."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds

    def encode_documents(self, texts: Sequence[str], *, progress: bool = False, language: str | None = None) -> np.ndarray:
        time.sleep(self.seconds)
        return super().encode_documents(texts)


def app():  # type: ignore[no-untyped-def]
    """The API over the fake embedder, indexing in the background (an import string for uvicorn's workers)."""
    from api.main import create_app

    services = open_services(Settings(), embedder=HashingEmbedder(), indexing="background")
    return create_app(Settings(), services=services)


def serve(port: int, workers: int = 1) -> None:
    import uvicorn

    uvicorn.run("tests.fleet_helpers:app", factory=True, host="127.0.0.1", port=port, workers=workers, log_level="warning")


def worker(seconds: float) -> None:
    from service.background import BackgroundWork

    services = open_services(Settings(), embedder=SlowEmbedder(seconds), reconcile=False, caches=False, indexing="background")
    BackgroundWork(services, index=True, follow=False).start()
    print("ready", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "serve":
        serve(int(sys.argv[2]))
    elif command == "workers":
        serve(int(sys.argv[2]), int(sys.argv[3]))
    else:
        worker(float(sys.argv[2]) if len(sys.argv) > 2 else 0.0)
