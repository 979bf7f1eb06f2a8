"""Filters answered from memory (indexer/filter_index.py) agree with the store's SQL, on both databases,
after creates, changes and deletes; and a row changed through another process since this one last looked
is held to the filters as it is now."""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from sqlmodel import Session

from indexer.filter_index import FilterIndex
from indexer.key_mask import KeyMask
from indexer.lexical import LexicalIndex
from indexer.vector_index import FaissVectorIndex
from matcher.filters import SIZES, MatchFilters
from service import shortlists
from service.container import Services
from store import repository
from store.db import session_scope
from store.repository import NEEDS, SUPPLIERS, EntityKind

CODES = ["33196200", "33100000", "45000000", "45233141", "48000000", "48190000", "72212000", "90620000", "90630000"]
PLACES = {
    "NO": ["NO081", "NO082", "NO060"],
    "SE": ["SE110", "SE331", "SE232"],
    "GB": ["UKD47", "UKD41", "UKI32"],
    "DK": ["DK011"],
}
HOME_ONLY = {"region": None, "operating_countries": []}


def _supplier(rng: random.Random, i: int) -> dict[str, Any]:
    country = rng.choice([*PLACES, None])
    return {
        "id": f"NO-BRC-{900000000 + i}",
        "name": f"Leverandør {i}",
        "description": f"Leverandør nummer {i} av tjenester.",
        "cpv_codes": rng.sample(CODES, rng.randint(0, 3)),
        "country": country,
        "region": rng.choice([*PLACES[country], None]) if country else None,
        "size": rng.choice([*SIZES, None]),
        "operating_countries": rng.sample(list(PLACES), rng.randint(0, 2)),
    }


def _need(rng: random.Random, i: int) -> dict[str, Any]:
    country = rng.choice([*PLACES, None])
    return {
        "id": f"need-{i}",
        "title": f"Behov {i}",
        "description": f"Kommunen trenger løsning nummer {i}.",
        "buyer": "Kommune",
        "cpv_codes": rng.sample(CODES, rng.randint(0, 2)),
        "country": country,
        "region": rng.choice([*PLACES[country], None]) if country else None,
        "status": rng.choice(["planning", "open", "closed"]),
    }


def _random_filters(rng: random.Random, kind: EntityKind) -> MatchFilters:
    def some(values: list[str], most: int) -> list[str]:
        return rng.sample(values, rng.randint(0, most)) if rng.random() < 0.5 else []

    regions = [r[: rng.randint(2, 5)] for r in some([r for rs in PLACES.values() for r in rs], 2)]
    return MatchFilters.build(
        cpv=[c[: rng.choice([2, 3, 4, 5, 8])] for c in some(CODES, 2)],
        countries=some([*PLACES, "FI"], 2),
        regions=regions,
        sizes=some(list(SIZES), 2) if kind is SUPPLIERS else [],
        statuses=some(["planning", "open", "closed"], 2) if kind is NEEDS else [],
    )


def _agree(services: Services, kind: EntityKind, rng: random.Random, rounds: int = 150) -> int:
    """Random filters answered both ways; how many were non-trivial (some rows in, some out)."""
    side = services.side(kind)
    interesting = 0
    with Session(services.engine) as session:
        total = len(repository.revisions(session, kind))
        for _ in range(rounds):
            filters = _random_filters(rng, kind)
            expected = repository.allowed_keys(session, kind, filters)
            got = side.allowed(filters)
            if expected is None:
                assert got is None
                continue
            assert got is not None
            assert set(got.keys().tolist()) == set(expected), filters
            interesting += 0 < len(expected) < total
    return interesting


@pytest.mark.parametrize("kind", [SUPPLIERS, NEEDS], ids=["suppliers", "needs"])
def test_memory_filters_agree_with_the_store_after_creates_changes_and_deletes(services: Services, kind: EntityKind) -> None:
    rng = random.Random(7)
    make = _supplier if kind is SUPPLIERS else _need
    with session_scope(services.engine) as session:
        rows = [repository.upsert(session, kind, make(rng, i))[0] for i in range(90)]
    services.follow()
    assert _agree(services, kind, rng) > 40
    with session_scope(services.engine) as session:
        for i in rng.sample(range(90), 30):  # changed: new codes, another country, no region …
            repository.upsert(session, kind, {**make(rng, i), "id": rows[i].id})
        for row in rng.sample(rows, 15):
            current = repository.get(session, kind, row.id)
            if current is not None:
                repository.delete(session, kind, current)
        for i in range(90, 100):
            repository.upsert(session, kind, make(rng, i))
    services.follow()
    assert _agree(services, kind, rng) > 40


def test_a_size_filter_on_needs_is_refused_as_the_store_refuses_it(services: Services) -> None:
    with pytest.raises(ValueError, match="a need has no size"):
        services.needs.allowed(MatchFilters.build(sizes=["small"]))


def test_a_row_changed_elsewhere_since_this_process_looked_is_held_to_the_filters_as_it_is_now(services: Services) -> None:
    rng = random.Random(3)
    with session_scope(services.engine) as session:
        for i in range(5):
            repository.upsert(session, SUPPLIERS, {**_supplier(rng, i), **HOME_ONLY, "country": "NO"})
    services.follow()
    services.index_pending(until_empty=True)
    services.follow()
    norway = MatchFilters.build(countries=["NO"])
    before = shortlists.suppliers_for_text(services, "Leverandør av tjenester", filters=norway, k=10)
    assert len(before) == 5
    moved = before[0].row.id
    with session_scope(services.engine) as session:  # another server writes; this one has not followed yet
        repository.upsert(session, SUPPLIERS, {**_supplier(rng, 0), **HOME_ONLY, "id": moved, "country": "SE"})
    after = shortlists.suppliers_for_text(services, "Leverandør av tjenester", filters=norway, k=10)
    assert moved not in [r.row.id for r in after] and len(after) == 4


def test_shortlists_filtered_by_the_store_or_from_memory_are_the_same(services: Services) -> None:
    """MATCHMAKER_FILTERS_FROM=database, the reference path, ranks the same rows."""
    rng = random.Random(11)
    with session_scope(services.engine) as session:
        for i in range(60):
            repository.upsert(session, SUPPLIERS, _supplier(rng, i))
    services.index_pending(until_empty=True)
    services.follow()
    by_store = replace(services, filters_from_database=True)
    for _ in range(20):
        filters = _random_filters(rng, SUPPLIERS)
        memory = shortlists.suppliers_for_text(services, "Leverandør av tjenester", filters=filters, k=10)
        store = shortlists.suppliers_for_text(by_store, "Leverandør av tjenester", filters=filters, k=10)
        assert [(r.row.id, round(r.score, 6)) for r in memory] == [(r.row.id, round(r.score, 6)) for r in store], filters


def test_key_masks_restrict_both_indexes_exactly_as_key_lists_do() -> None:
    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(300, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    keys = list(range(5, 905, 3))
    index = FaissVectorIndex(16)
    index.add(keys, vectors, [1] * len(keys))
    lexical = LexicalIndex()
    for key in keys:
        lexical.upsert(key, "snow clearing" if key % 2 else "snow ploughs and clearing")
    allowed = [k for k in keys if k % 7 < 3] + [10_000]  # a key beyond every row, harmless
    mask = KeyMask.of(allowed)
    assert len(mask) == len(allowed) and 10_000 in mask and 6 not in mask and -1 not in mask
    query = vectors[17]
    by_list, by_mask = index.search(query, 40, allowed), index.search(query, 40, mask)
    assert by_list[0].tolist() == by_mask[0].tolist() and set(by_mask[0].tolist()) <= set(allowed)
    np.testing.assert_allclose(by_list[1], by_mask[1])
    listed, masked = lexical.query(["snow", "plough"], allowed), lexical.query(["snow", "plough"], mask)
    assert listed.top(300) == masked.top(300) and listed.top(300)
    assert index.search(query, 5, KeyMask.of([]))[0].tolist() == []


def test_the_filter_index_forgets_a_removed_row_everywhere() -> None:
    index = FilterIndex()
    index.put(3, cpv_codes=["33196200"], country="NO", region="NO081", operating_countries=["SE", "NO"], size="small")
    index.put(4, cpv_codes=["45000000"], country="SE", region="SE110", size="large")
    serving_sweden = index.allowed(MatchFilters.build(countries=["SE"]))
    assert serving_sweden is not None and serving_sweden.keys().tolist() == [3, 4]
    index.remove(3)
    for filters in (
        MatchFilters.build(countries=["SE"]),
        MatchFilters.build(cpv=["33"]),
        MatchFilters.build(regions=["NO"]),
        MatchFilters.build(sizes=["small"]),
    ):
        allowed = index.allowed(filters)
        assert allowed is not None and 3 not in allowed
    assert index.allowed(MatchFilters()) is None
