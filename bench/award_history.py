"""Learning material from award history, in time order: for each year, the suppliers as the service would
have known them on its first day (profiles from earlier awards only), and every later-that-year notice's
candidates with their score components and whether they won.

Why yearly stores: a profile must hold no evidence from the future of the notice it is scored for. A
store rebuilt per notice would be exact but costs one embedding pass per notice; one store per year is
still strictly before every notice it serves (at most a year staler), and mirrors the test, where
profiles end on 2023-01-01 and needs run to 2026. Every distinct profile text is embedded once
(``bench/memo_embedder.py``).
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlmodel import Session, select
from tqdm import tqdm

from bench.award_split import AwardSplit, SupplierHistory, load_histories, make_split, need_record
from bench.uk_awards import AwardNotice
from indexer.embedder import Embedder
from service import shortlists
from store.models import Supplier

# The components the service computes for every candidate (matcher/fusion.py, matcher/track_record.py) ...
SERVED = ("dense", "lexical", "cpv", "geography", "group_awards", "recent_award")
# ... the closest single piece of a profile, measured beside them (profiles from evidence) ...
EVIDENCE = ("best_passage", "best_award_text")
# ... and the buyer relationship: measured as an upper reference, never used to rank (equal treatment).
RELATIONSHIP = ("won_from_buyer",)


@dataclass(frozen=True)
class CandidateFeatures:
    supplier_id: str
    features: dict[str, float]
    won: bool


@dataclass(frozen=True)
class NeedCandidates:
    need: AwardNotice
    relevant: frozenset[str]  # winners that existed in the store
    candidates: list[CandidateFeatures]
    cleaned: bool  # not a near-repeat of an earlier notice of the same buyer
    new_entrant: bool  # no winner had won from this buyer before


def won_from_buyer(history: SupplierHistory, need: AwardNotice) -> bool:
    return any(a.buyer_key == need.buyer_key for a in history.awards)


def evidence_features(
    services: Any, embedder: Embedder, history: SupplierHistory, key: int, query_vector: np.ndarray
) -> dict[str, float]:
    """How close the need is to the supplier's closest single piece of evidence, not only to its whole
    profile: the passage vectors the service keeps for explanations (sentences and contract titles pooled
    from the profile's forward pass), and each won contract embedded on its own (title and description)."""
    side = services.suppliers
    passages = side.passage_vectors_of({key: side.facts[key].revision}).get(key)
    best_passage = float((passages @ query_vector).max()) if passages is not None and len(passages) else 0.0
    awards = embedder.encode_documents([award_text(a) for a in history.awards])
    return {"best_passage": best_passage, "best_award_text": float((awards @ query_vector).max())}


def _ids_by_key(services: Any) -> dict[int, str]:
    with Session(services.engine) as session:
        return {row.key: row.id for row in session.exec(select(Supplier)) if row.key is not None}


def award_text(award: AwardNotice) -> str:
    return f"{award.title}. {award.description}"


def score_needs(
    services: Any, embedder: Embedder, split: AwardSplit, tests: Sequence[tuple[AwardNotice, set[str]]], *, desc: str
) -> list[NeedCandidates]:
    """Every test need's candidate pool, as the service gathers it on the notice's date, with all features.
    ``embedder`` should memoise (bench/memo_embedder.py): each candidate's contracts are looked up per need."""
    ids = _ids_by_key(services)
    by_id = {h.id: h for h in split.suppliers.values()}
    # every won contract embedded on its own, in batches (a memoising embedder keeps them for the loop)
    embedder.encode_documents(list(dict.fromkeys(award_text(a) for h in by_id.values() for a in h.awards)), progress=True)
    out = []
    for need, relevant in tqdm(tests, desc=desc, unit="need"):
        record = need_record(need)
        ranked = shortlists.scored_pool(services, record, on=need.awarded_on)
        query_vector = services.query_vector(shortlists.query_of_record(services, record).text)
        candidates = []
        for r in ranked:
            history = by_id[ids[r.candidate.key]]
            features = (
                r.components.as_dict()
                | {"won_from_buyer": float(won_from_buyer(history, need))}
                | evidence_features(services, embedder, history, r.candidate.key, query_vector)
            )
            candidates.append(CandidateFeatures(history.id, features, history.id in relevant))
        incumbent = any(won_from_buyer(by_id[r], need) for r in relevant)
        out.append(NeedCandidates(need, frozenset(relevant), candidates, need.id in split.cleaned, not incumbent))
    return out


YearPlan = tuple[int, AwardSplit, list[tuple[AwardNotice, set[str]]]]


def yearly(notices: Sequence[AwardNotice], first: int, last: int) -> Iterator[YearPlan]:
    """For each year: the store as of its 1 January and that year's notices with a known winner."""
    for year in range(first, last + 1):
        split = make_split(notices, dt.date(year, 1, 1))
        tests = [(n, rel) for n, rel in split.tests if n.awarded_on and n.awarded_on.year == year]
        yield year, split, tests


def collect(embedder: Embedder, notices: Sequence[AwardNotice], *, first: int, last: int) -> dict[int, list[NeedCandidates]]:
    """Needs with candidates for each year ``first``..``last``, each scored against its own store."""
    out: dict[int, list[NeedCandidates]] = {}
    for year, split, tests in yearly(notices, first, last):
        if not tests:
            continue
        with tempfile.TemporaryDirectory() as home:
            services = load_histories(Path(home), embedder, split)
            try:
                out[year] = score_needs(services, embedder, split, tests, desc=f"needs of {year}")
            finally:
                services.engine.dispose()
    return out
