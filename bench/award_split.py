"""The real-award benchmarks' split: suppliers profiled from awards before a date, later notices as needs.

Winner names are normalised (every winner of a multi-winner notice counts); a test need's relevant
suppliers are those of its winners that existed before the split. The cleaned slice drops near-repeats
of an earlier notice by the same buyer (some councils republish the same contract).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from pathlib import Path

from bench.uk_awards import AwardNotice
from indexer.embedder import Embedder
from matcher.names import name_key
from service.container import Services, open_services
from service.settings import Settings
from store import repository
from store.db import session_scope
from store.repository import SUPPLIERS

SPLIT_DATE = dt.date(2023, 1, 1)
NEAR_DUPLICATE_TITLE = 0.8


@dataclass
class SupplierHistory:
    id: str
    spellings: Counter[str] = field(default_factory=Counter)
    awards: list[AwardNotice] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.spellings.most_common(1)[0][0]


@dataclass
class AwardSplit:
    suppliers: dict[str, SupplierHistory]  # by name key
    tests: list[tuple[AwardNotice, set[str]]]  # need, relevant supplier ids
    cleaned: set[str]  # ids of test notices that are not near-repeats of a training notice


def supplier_id(key: str) -> str:
    return "uk-" + hashlib.sha1(key.encode()).hexdigest()[:12]


def _title(notice: AwardNotice) -> str:
    return " ".join(name_key(notice.title).split())


def make_split(notices: Sequence[AwardNotice], split: dt.date = SPLIT_DATE) -> AwardSplit:
    train = [n for n in notices if n.awarded_on and n.awarded_on < split]
    later = [n for n in notices if n.awarded_on and n.awarded_on >= split]
    suppliers: dict[str, SupplierHistory] = {}
    for notice in train:
        for winner in notice.winners:
            history = suppliers.setdefault(name_key(winner), SupplierHistory(supplier_id(name_key(winner))))
            history.spellings[winner] += 1
            if notice not in history.awards:
                history.awards.append(notice)
    tests = []
    for notice in later:
        relevant = {suppliers[k].id for k in notice.winner_keys if k in suppliers}
        if relevant:
            tests.append((notice, relevant))
    by_buyer: dict[str, list[str]] = defaultdict(list)
    for notice in train:
        by_buyer[notice.buyer_key].append(_title(notice))
    cleaned = {
        n.id
        for n, _ in tests
        if not any(SequenceMatcher(None, _title(n), t).ratio() >= NEAR_DUPLICATE_TITLE for t in by_buyer[n.buyer_key])
    }
    return AwardSplit(suppliers, tests, cleaned)


def load_histories(home: Path, embedder: Embedder, split: AwardSplit) -> Services:
    """Suppliers with no description of their own: their profile is their pre-split evidence."""
    services = open_services(Settings(home=home), embedder=embedder)
    with session_scope(services.engine) as session:
        for history in split.suppliers.values():
            row, _ = repository.upsert(session, SUPPLIERS, {"id": history.id, "name": history.name, "description": ""})
            evidence = [
                {
                    "source": f"uk-cf:{a.id}",
                    "title": a.title[:300],
                    "description": a.description,
                    "buyer": a.buyer,
                    "cpv_codes": list(a.cpv_codes),
                    "awarded_on": a.awarded_on,
                }
                for a in history.awards
            ]
            repository.add_evidence(session, row, evidence)
    services.reconcile(progress=True)
    return services


def need_record(notice: AwardNotice) -> dict[str, object]:
    return {
        "id": notice.id,
        "title": notice.title,
        "description": notice.description,
        "cpv_codes": list(notice.cpv_codes),
        "country": "GB",
        "region": None,
    }
