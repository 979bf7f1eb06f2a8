"""Shortlists: gather candidates from both indexes within the filters, rank them with the matcher,
and explain the top ones. Works in both directions (suppliers for a need, needs for a supplier)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from types import SimpleNamespace
from typing import Any

import numpy as np
from sqlmodel import Session

from indexer.documents import embedding_text, lexical_text
from indexer.key_mask import KeyMask
from indexer.row_facts import cpv_codes_of, location_of
from indexer.side_queries import Hits
from indexer.sync import SideIndex
from matcher.analysis import query_stems
from matcher.cpv_suggest import Neighbour
from matcher.explain import Explanation
from matcher.filters import MatchFilters
from matcher.fusion import DEFAULT_WEIGHTS, FusionWeights
from matcher.geography import Location
from matcher.ranking import Candidate, MatchQuery, RankedCandidate, rank_candidates
from service import explanations, mark_demotion
from service.access import Principal
from service.container import Services
from service.cpv_suggestions import confident_codes
from service.errors import NotFound
from service.timing import NO_TIMER, PhaseTimer
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
    explanation: Explanation | None  # None only when asked not to explain (benchmarks)


@dataclass(frozen=True)
class _Pool:
    """The candidates of one query with what ranking and explaining need."""

    candidates: list[Candidate]
    lexical_bound: float
    vectors: np.ndarray | None  # aligned with candidates, only when diversifying
    nearest: list[Neighbour]  # the closest rows by meaning, best first, with their CPV codes


def _candidate_pool(
    services: Services,
    side: SideIndex,
    vector: np.ndarray,
    stems: list[str],
    *,
    filters: MatchFilters,
    k: int,
    exclude: Sequence[int],
    with_vectors: bool,
    timer: PhaseTimer,
) -> _Pool:
    """The nearest rows by meaning plus the best lexical hits, all within the filters exactly."""
    allowed: KeyMask | list[int] | None
    if services.filters_from_database:  # the reference path: slower, the rows as committed this instant
        with Session(services.engine) as session, timer.phase("filters"):
            allowed = repository.allowed_keys(session, side.kind, filters)
    else:
        with timer.phase("filters"):
            allowed = side.allowed(filters)
    hits = side.search(
        vector,
        stems,
        allowed,
        dense_k=max(DENSE_POOL, 5 * k),
        lexical_k=max(LEXICAL_POOL, 2 * k),
        exclude=exclude,
        with_vectors=with_vectors,
        phase=timer.phase,
    )
    facts = hits.facts
    # Evidence for suggested codes, which readers see: rows matched on private text are left out.
    nearest = [
        Neighbour(score, facts[key].cpv_codes) for key, score in hits.cosines.items() if key in facts and not facts[key].private
    ]
    return _Pool(_candidates(hits), hits.lexical.bound, hits.vectors, nearest)


def _candidates(hits: Hits) -> list[Candidate]:
    return [
        Candidate(
            key,
            hits.facts[key].cpv_codes,
            hits.facts[key].location,
            hits.cosines[key],
            hits.lexical.score(key),
            hits.facts[key].awards,
        )
        for key in hits.keys
    ]


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
    explain: bool = True,
    suggest_missing_cpv: bool = True,
    timer: PhaseTimer = NO_TIMER,
) -> list[MatchResult]:
    """The ``k`` best rows of ``side`` for ``query`` that pass ``filters``, explained.

    A need without CPV codes is matched with the codes suggested from its text, when they are clear
    (``service/cpv_suggestions.py``); explanations mark them as suggested. Track records are as of
    ``query.on``, today unless the caller says otherwise.
    """
    query = _dated(query)
    with timer.phase("encode"):
        vector = services.query_vector(query.text)
    with timer.phase("lexical"):
        stems = query_stems(query.lexical_text)
    pool = _candidate_pool(
        services, side, vector, stems, filters=filters, k=k, exclude=exclude, with_vectors=diversity > 0, timer=timer
    )
    if suggest_missing_cpv and side is services.suppliers and not query.cpv_codes:
        # The pool's nearest suppliers are the suggestion's neighbours when nothing narrowed the search.
        unnarrowed = not filters.active and not exclude
        with timer.phase("cpv suggestion"):
            suggested = confident_codes(services, query.text, nearest_suppliers=pool.nearest if unnarrowed else None)
        query = replace(query, cpv_codes=suggested, suggested_cpv=suggested)
    with timer.phase("fusion + explanations"):
        ranked = rank_candidates(
            query,
            pool.candidates,
            k=k,
            lexical_bound=pool.lexical_bound,
            weights=weights,
            diversity=diversity,
            vectors=pool.vectors,
        )
    return _served(services, side, ranked, query, stems, vector, explain=explain, filters=filters, timer=timer)


def _served(
    services: Services,
    side: SideIndex,
    ranked: Sequence[RankedCandidate],
    query: MatchQuery,
    stems: list[str],
    vector: np.ndarray,
    *,
    explain: bool,
    filters: MatchFilters | None = None,
    timer: PhaseTimer = NO_TIMER,
) -> list[MatchResult]:
    """Ranked candidates with their rows (read now, in one query) and, when asked, explanations.

    The filters were applied to the rows as this process last saw them; a row changed through another
    process a moment ago (its country, say) is held to them again as it is now."""
    with timer.phase("database"):
        rows, evidence = side.rows([r.candidate.key for r in ranked], with_evidence=explain)
        ranked = [
            r
            for r in ranked
            if r.candidate.key in rows  # deleted since the search
            and (filters is None or not filters.active or _passes(filters, rows[r.candidate.key]))
        ]
    if not explain:
        return [MatchResult(i + 1, rows[r.candidate.key], r.score, None) for i, r in enumerate(ranked)]
    with timer.phase("fusion + explanations"):
        citable = explanations.citable_for(services, side, [rows[r.candidate.key] for r in ranked], evidence)
        return [
            MatchResult(
                i + 1,
                rows[r.candidate.key],
                r.score,
                explanations.explain(
                    services,
                    side,
                    r,
                    rows[r.candidate.key],
                    evidence.get(r.candidate.key, []),
                    citable[r.candidate.key],
                    stems,
                    vector,
                    query,
                ),
            )
            for i, r in enumerate(ranked)
        ]


def _dated(query: MatchQuery) -> MatchQuery:
    return query if query.on is not None else replace(query, on=dt.datetime.now(dt.UTC).date())


def _passes(filters: MatchFilters, row: Any) -> bool:
    location = location_of(row)
    return filters.admits(
        cpv_codes=cpv_codes_of(row),
        country=location.country,
        region=location.region,
        operating_countries=location.operating_countries,
        size=getattr(row, "size", None),
        status=getattr(row, "status", None),
    )


def score_given(services: Services, side: SideIndex, query: MatchQuery, keys: Sequence[int]) -> list[MatchResult]:
    """These rows (and only these) scored and explained for the query, best first: the suppliers an
    adviser marked may lie far below any shortlist, and an export still owes their score and why."""
    query = _dated(query)
    vector = services.query_vector(query.text)
    stems = query_stems(query.lexical_text)
    hits = side.score(vector, stems, keys)
    candidates = _candidates(hits)
    ranked = rank_candidates(query, candidates, k=len(candidates), lexical_bound=hits.lexical.bound)
    return _served(services, side, ranked, query, stems, vector, explain=True)


def needs_like(
    services: Services, need: Any, *, filters: MatchFilters, k: int = 10, exclude: Sequence[int] = ()
) -> list[MatchResult]:
    """Needs ranked for a need (stored, or a draft's fields), as suppliers are: the same matcher and
    explanations, over the needs' side."""
    return shortlist(services, services.needs, _stored_query(need, services), filters=filters, k=k, exclude=exclude)


def _stored_query(row: Any, services: Services, evidence: Sequence[Any] = ()) -> MatchQuery:
    """A stored (or batch) need or supplier, with its evidence, as the side being matched."""
    return MatchQuery(
        text=embedding_text(row, services.catalog, evidence),
        cpv_codes=cpv_codes_of(row),
        location=location_of(row),
        keywords=lexical_text(row, evidence),
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
    timer: PhaseTimer = NO_TIMER,
) -> list[MatchResult]:
    """An ad-hoc need: text (any of sv/no/en), optional CPV codes and location."""
    query = MatchQuery(text=text, cpv_codes=tuple(cpv_codes), location=location)
    return shortlist(services, services.suppliers, query, filters=filters, k=k, diversity=diversity, timer=timer)


def suppliers_for_record(
    services: Services,
    values: dict[str, Any],
    *,
    filters: MatchFilters = MatchFilters(),
    k: int = 10,
    diversity: float = 0.0,
    weights: FusionWeights = DEFAULT_WEIGHTS,
    explain: bool = True,
    on: dt.date | None = None,
) -> list[MatchResult]:
    """A need given as validated JSONL fields (batch matching, benchmarks), not stored; matched as of the
    day ``on`` (default today: a benchmark replays a notice on its own date)."""
    query = replace(query_of_record(services, values), on=on)
    return shortlist(
        services, services.suppliers, query, filters=filters, k=k, diversity=diversity, weights=weights, explain=explain
    )


def query_of_record(services: Services, values: dict[str, Any]) -> MatchQuery:
    """A need given as validated fields, as the side being matched."""
    return _stored_query(SimpleNamespace(**values), services)


def scored_pool(services: Services, values: dict[str, Any], *, k: int = 10, on: dt.date | None = None) -> list[RankedCandidate]:
    """Every candidate a shortlist of ``k`` for this need (validated fields, not stored) would consider,
    each with its score components as of the day ``on``: what fusion weights are learned from (benchmarks)."""
    query = _dated(replace(query_of_record(services, values), on=on))
    vector = services.query_vector(query.text)
    stems = query_stems(query.lexical_text)
    side = services.suppliers
    pool = _candidate_pool(
        services, side, vector, stems, filters=MatchFilters(), k=k, exclude=(), with_vectors=False, timer=NO_TIMER
    )
    return rank_candidates(query, pool.candidates, k=len(pool.candidates), lexical_bound=pool.lexical_bound)


def suppliers_for_need(
    services: Services,
    need_id: str,
    *,
    filters: MatchFilters = MatchFilters(),
    k: int = 10,
    diversity: float = 0.0,
    weights: FusionWeights = DEFAULT_WEIGHTS,
    suggest_missing_cpv: bool = True,
    explain: bool = True,
    reader: Principal | None = None,
) -> tuple[Any, list[MatchResult]]:
    """``reader``: who is shown the shortlist. When they may read the need's marks, a supplier marked not
    relevant comes after the ``k`` others (service/mark_demotion.py); without one, the matcher's order alone."""
    need = stored_need(services, need_id)
    marks = mark_demotion.marks_against(services, need, reader)
    query = _stored_query(need, services)
    ranked = shortlist(
        services,
        services.suppliers,
        query,
        filters=filters,
        k=k + len(marks),
        diversity=diversity,
        weights=weights,
        suggest_missing_cpv=suggest_missing_cpv,
        explain=explain,
    )
    return need, mark_demotion.demote(ranked, marks, k)


def stored_need(services: Services, need_id: str) -> Any:
    with Session(services.engine) as session:
        need = repository.get(session, NEEDS, need_id)
    if need is None:
        raise NotFound("need", need_id)
    return need


def given_suppliers_for_need(services: Services, need_id: str, supplier_keys: Sequence[int]) -> list[MatchResult]:
    """These suppliers scored and explained for the stored need, best first (exports of marked suppliers)."""
    need = stored_need(services, need_id)
    query = _stored_query(need, services)
    if not query.cpv_codes:  # the same suggested codes its shortlist used
        suggested = confident_codes(services, query.text)
        query = replace(query, cpv_codes=suggested, suggested_cpv=suggested)
    return score_given(services, services.suppliers, query, supplier_keys)


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
    query = _stored_query(supplier, services, services.suppliers.evidence([supplier.key]).get(supplier.key, ()))
    return supplier, shortlist(services, services.needs, query, filters=filters, k=k, diversity=diversity)
