"""Rank candidates for a query from their evidence: the heart of the matcher, free of I/O.

The caller gathers candidates (dense and lexical hits that passed the filters) with their raw
evidence; this module turns evidence into score components, fuses them, optionally diversifies,
and keeps what the explanation needs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from matcher.cpv import CpvMatch, best_cpv_matches
from matcher.diversity import mmr_order
from matcher.fusion import DEFAULT_WEIGHTS, FusionWeights, ScoreComponents, normalise_lexical
from matcher.geography import GeoFit, Location, geo_fit
from matcher.track_record import NO_RECORD, AwardFact, TrackRecord, track_record


@dataclass(frozen=True)
class MatchQuery:
    """The side being matched: a need (to find suppliers) or a supplier (to find needs).

    ``text`` is embedded; ``keywords`` (default: ``text``) is what lexical evidence is sought for,
    without the CPV labels the embedding text carries.
    """

    text: str
    cpv_codes: tuple[str, ...] = ()
    location: Location = field(default_factory=Location)
    keywords: str | None = None
    suggested_cpv: tuple[str, ...] = ()
    """Those of ``cpv_codes`` that were suggested from the text, not given by the buyer."""
    on: dt.date | None = None
    """The day it is matched (today; a benchmark's notice date): a track record is as of this day."""

    @property
    def lexical_text(self) -> str:
        return self.keywords if self.keywords is not None else self.text


@dataclass(frozen=True)
class Candidate:
    """An indexed item that passed the filters, with its raw evidence."""

    key: int
    cpv_codes: tuple[str, ...]
    location: Location
    dense: float
    lexical: float
    awards: tuple[AwardFact, ...] = ()  # contracts a supplier won (needs have none)


@dataclass(frozen=True)
class RankedCandidate:
    candidate: Candidate
    components: ScoreComponents
    score: float
    cpv_matches: list[CpvMatch]
    geo: GeoFit
    record: TrackRecord = NO_RECORD
    weights: FusionWeights = DEFAULT_WEIGHTS  # what the score was fused with (explanations show each part)


def score_candidate(
    query: MatchQuery, candidate: Candidate, lexical_bound: float, weights: FusionWeights = DEFAULT_WEIGHTS
) -> RankedCandidate:
    cpv_matches = best_cpv_matches(query.cpv_codes, candidate.cpv_codes)
    geo = geo_fit(query.location, candidate.location)
    record = track_record(query.cpv_codes, candidate.awards, query.on)
    components = ScoreComponents(
        dense=candidate.dense,
        lexical=normalise_lexical(candidate.lexical, lexical_bound),
        cpv=max((m.credit for m in cpv_matches), default=0.0),
        geography=geo.credit,
        group_awards=record.group_awards,
        recent_award=record.recent_award,
    )
    return RankedCandidate(candidate, components, components.total(weights), cpv_matches, geo, record, weights)


def rank_candidates(
    query: MatchQuery,
    candidates: Sequence[Candidate],
    *,
    k: int,
    lexical_bound: float,
    weights: FusionWeights = DEFAULT_WEIGHTS,
    diversity: float = 0.0,
    vectors: np.ndarray | None = None,
) -> list[RankedCandidate]:
    """The top ``k`` candidates by fused score, diversified by MMR when ``diversity`` > 0.

    ``vectors`` (unit rows aligned with ``candidates``) are required for diversity.
    """
    scored = [score_candidate(query, c, lexical_bound, weights) for c in candidates]
    if diversity > 0.0:
        if vectors is None:
            raise ValueError("diversity needs the candidates' vectors")
        order = mmr_order([r.score for r in scored], vectors, k, diversity)
        return [scored[i] for i in order]
    scored.sort(key=lambda r: (-r.score, r.candidate.key))
    return scored[:k]
