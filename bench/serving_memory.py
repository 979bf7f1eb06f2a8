"""Where a serving process's memory goes: its resident size after each step of opening a store.

Run in a fresh process (``python -m bench.serving_memory HOME``, with the environment of the server it
stands for): the interpreter and the service's imports, the query encoder with the language means, the
database and the CPV labels, each side's indexes (vectors, passages, lexical index, row facts, filter
columns), and a first shortlist. Prints one JSON object: step name to the MB it added.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def steps(home: Path) -> dict[str, float]:
    added: dict[str, float] = {}
    before = 0.0

    def note(step: str) -> None:
        nonlocal before
        now = rss_mb()
        added[step] = round(now - before, 1)
        before = now

    import api.main  # noqa: F401  (what a server imports)
    from indexer.memory import release_freed_memory
    from service import shortlists
    from service.container import default_embedder, open_services
    from service.settings import get_settings

    note("interpreter and imports")
    settings = get_settings().model_copy(update={"home": home})
    embedder = default_embedder(settings)
    note(f"query encoder ({settings.chosen_query_encoder}) and language means")
    services = open_services(settings, embedder=embedder, caches=False)
    note("database engine, CPV catalog and label vectors")
    for side in (services.suppliers, services.needs):
        side.load()
        side.reconcile()
        release_freed_memory()
        note(f"{side.kind.name} indexes ({len(side.vectors)} rows)")
    shortlists.suppliers_for_text(services, "Fossilfri snöröjning av kommunala gång- och cykelvägar", k=10)
    release_freed_memory()
    note("first shortlist")
    added["total"] = round(before, 1)
    return added


if __name__ == "__main__":
    print(json.dumps(steps(Path(sys.argv[1]))))
