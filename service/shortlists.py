"""Shortlists: gather candidates from both indexes within the filters, rank them with the matcher,
and explain the top ones. Works in both directions (suppliers for a need, needs for a supplier)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np
from sqlmodel import Session

from indexer.documents import embedding_text, lexical_text
from indexer.sync import SideIndex
from matcher.analysis import detect_language, matched_terms, query_stems, split_sentences
from matcher.explain import Explanation, best_sentence, describe_cpv_matches
from matcher.filters import MatchFilters
from matcher.fusion import DEFAULT_WEIGHTS, FusionWeights
from matcher.geography import Location
from matcher.ranking import Candidate, MatchQuery, RankedCandidate, rank_candidates
from service.container import Services
from service.errors import NotFound
from store import repository
from store.repository import NEEDS, SUPPLIERS

DENSE_POOL = 100
LEXICAL_POOL = 30
OPEN_STATUSES = ("planning", "open")


@dataclass(frozen=True)
class MatchResult:
    rank: int
    row: Any
    score: float
    explanation: Explanation


def location_of(row: Any) -> Location:
    return Location(row.country, row.region, tuple(getattr(row, "operating_countries", ()) or ()))


def _query_vector(services: Services, text: str) -> np.ndarray:
    return services.query_vectors.get_or_compute(text, lambda: services.embedder.encode_queries([text])[0])


def _sentence_vectors(services: Services, side: SideIndex, row: Any) -> tuple[tuple[str, ...], np.ndarray]:
    def compute() -> tuple[tuple[str, ...], np.ndarray]:
        sentences = split_sentences(row.description)
        language = detect_language(row.description)
        return sentences, services.embedder.encode_documents(list(sentences), language=language)

    return services.sentence_vectors.get_or_compute((side.kind.name, row.key, row.revision), compute)


def shortlist(
    services: Services,
    side: SideIndex,
    query: MatchQuery,
    *,
    filters: MatchFilters,
    k: int,
    diversity: float = 0.0,
    exclude: Sequence[int] = (),
    weights: FusionWeights = DEFAULT_WEIGHTS,
) -> list[MatchResult]:
    """The ``k`` best rows of ``side`` for ``query`` that pass ``filters``, explained."""
    query_vector = _query_vector(services, query.text)
    stems = query_stems(query.text)
    with Session(services.engine) as session:
        allowed = repository.allowed_keys(session, side.kind, filters)
        with side.lock:
            dense_keys, dense_scores = side.vectors.search(query_vector, max(DENSE_POOL, 5 * k), allowed)
            lexical = side.lexical.query(stems, allowed)
        dense = dict(zip(dense_keys.tolist(), dense_scores.tolist(), strict=True))
        excluded = set(exclude)
        pool = [key for key in dict.fromkeys([*dense, *lexical.top(max(LEXICAL_POOL, 2 * k))]) if key not in excluded]
        missing_dense = [key for key in pool if key not in dense]
        if missing_dense:  # lexical-only hits still get their true cosine
            with side.lock:
                dense.update(zip(missing_dense, (side.vectors.vectors(missing_dense) @ query_vector).tolist(), strict=True))
        rows = repository.get_by_keys(session, side.kind, pool)
    candidates = [
        Candidate(key, tuple(rows[key].cpv_codes), location_of(rows[key]), dense[key], lexical.score(key))
        for key in pool
        if key in rows  # deleted between search and read
    ]
    vectors = side.vectors.vectors([c.key for c in candidates]) if diversity > 0 and candidates else None
    ranked = rank_candidates(
        query, candidates, k=k, lexical_bound=lexical.bound, weights=weights, diversity=diversity, vectors=vectors
    )
    return [
        MatchResult(
            i + 1, rows[r.candidate.key], r.score, _explain(services, side, r, rows[r.candidate.key], stems, query_vector)
        )
        for i, r in enumerate(ranked)
    ]


def _explain(
    services: Services, side: SideIndex, ranked: RankedCandidate, row: Any, stems: list[str], query_vector: np.ndarray
) -> Explanation:
    sentences, vectors = _sentence_vectors(services, side, row)
    sentence, similarity = best_sentence(query_vector, sentences, vectors)
    return Explanation(
        components=ranked.components,
        shared_cpv=describe_cpv_matches(ranked.cpv_matches, services.catalog),
        matched_terms=matched_terms(stems, lexical_text(row), weight=side.lexical.idf, distinctive=side.lexical.is_distinctive),
        best_sentence=sentence,
        best_sentence_similarity=round(similarity, 4),
        location=ranked.geo.reason,
    )


def suppliers_for_text(
    services: Services,
    text: str,
    *,
    cpv_codes: Sequence[str] = (),
    location: Location = Location(),
    filters: MatchFilters = MatchFilters(),
    k: int = 10,
    diversity: float = 0.0,
) -> list[MatchResult]:
    """An ad-hoc need: text (any of sv/no/en), optional CPV codes and location."""
    query = MatchQuery(text=text, cpv_codes=tuple(cpv_codes), location=location)
    return shortlist(services, services.suppliers, query, filters=filters, k=k, diversity=diversity)


def suppliers_for_record(
    services: Services, values: dict[str, Any], *, filters: MatchFilters = MatchFilters(), k: int = 10, diversity: float = 0.0
) -> list[MatchResult]:
    """A need given as validated JSONL fields (batch matching), not stored."""
    need = SimpleNamespace(**values)
    query = MatchQuery(text=embedding_text(need, services.catalog), cpv_codes=tuple(need.cpv_codes), location=location_of(need))
    return shortlist(services, services.suppliers, query, filters=filters, k=k, diversity=diversity)


def suppliers_for_need(
    services: Services,
    need_id: str,
    *,
    filters: MatchFilters = MatchFilters(),
    k: int = 10,
    diversity: float = 0.0,
    weights: FusionWeights = DEFAULT_WEIGHTS,
) -> tuple[Any, list[MatchResult]]:
    with Session(services.engine) as session:
        need = repository.get(session, NEEDS, need_id)
    if need is None:
        raise NotFound("need", need_id)
    query = MatchQuery(text=embedding_text(need, services.catalog), cpv_codes=tuple(need.cpv_codes), location=location_of(need))
    return need, shortlist(services, services.suppliers, query, filters=filters, k=k, diversity=diversity, weights=weights)


def needs_for_supplier(
    services: Services, supplier_id: str, *, filters: MatchFilters | None = None, k: int = 10, diversity: float = 0.0
) -> tuple[Any, list[MatchResult]]:
    """The needs most relevant to a supplier; by default only needs still in planning or open."""
    with Session(services.engine) as session:
        supplier = repository.get(session, SUPPLIERS, supplier_id)
    if supplier is None:
        raise NotFound("supplier", supplier_id)
    if filters is None or not filters.statuses:
        base = filters or MatchFilters()
        filters = MatchFilters(base.cpv_prefixes, base.countries, base.regions, base.sizes, OPEN_STATUSES)
    query = MatchQuery(
        text=embedding_text(supplier, services.catalog), cpv_codes=tuple(supplier.cpv_codes), location=location_of(supplier)
    )
    return supplier, shortlist(services, services.needs, query, filters=filters, k=k, diversity=diversity)
