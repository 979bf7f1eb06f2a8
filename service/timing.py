"""Where a request's time goes, by phase, for the speed benchmark (a no-op unless asked for)."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager

PHASES = ("encode", "cpv suggestion", "filters", "database", "vector search", "lexical", "fusion + explanations")


class PhaseTimer:
    """Accumulates seconds per phase; ``phase()`` blocks may repeat and nest in different phases."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] += time.perf_counter() - started


class _NoTimer(PhaseTimer):
    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        yield


NO_TIMER: PhaseTimer = _NoTimer()
