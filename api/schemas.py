"""Request and response shapes of the matching endpoints."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from matcher.demotion import MarkNote
from matcher.explain import PRIVATE_MATCH_NOTE, Explanation
from matcher.readiness import Readiness
from service.feedback import Mark
from service.shortlists import MatchResult
from store.models import CountryCode, CpvInput, MatchText, NutsCode, Size

MAX_K = 100
T = TypeVar("T")


class Filters(BaseModel):
    """Hard filters: a result must satisfy every given field (any of its values)."""

    model_config = ConfigDict(extra="forbid")
    cpv: list[CpvInput] = Field(default_factory=list, max_length=20, description="CPV code prefixes, e.g. '331' or '33100000'")
    countries: list[CountryCode] = Field(default_factory=list, max_length=30, description="based in or serving these countries")
    regions: list[NutsCode] = Field(default_factory=list, max_length=30, description="NUTS code prefixes, e.g. 'NO08'")
    sizes: list[Size] = Field(default_factory=list, max_length=4)


class MatchRequest(BaseModel):
    """An ad-hoc need: free text in Swedish, Norwegian or English, plus optional evidence and filters."""

    model_config = ConfigDict(extra="forbid")
    text: MatchText = Field(min_length=3, max_length=10_000, description="the need, in any of sv/no/en (with words to match on)")
    cpv_codes: list[CpvInput] = Field(
        default_factory=list, max_length=20, description="the need's CPV codes (evidence, not a filter)"
    )
    country: CountryCode | None = Field(default=None, description="the buyer's country (evidence)")
    region: NutsCode | None = Field(default=None, description="the buyer's NUTS region (evidence)")
    filters: Filters = Field(default_factory=Filters)
    k: int = Field(default=10, ge=1, le=MAX_K)
    diversity: float = Field(default=0.0, ge=0.0, le=1.0, description="0 = pure relevance; higher = fewer look-alikes (MMR)")


class SharedCpvOut(BaseModel):
    query_code: str
    candidate_code: str
    level: str
    shared_code: str
    label: str | None
    suggested: bool = Field(description="the need's code was suggested from its text, not given")


class MarkedOut(BaseModel):
    """Why a supplier comes after the need's others: an adviser's mark (service/mark_demotion.py)."""

    mark: str
    adviser: str
    at: dt.datetime
    rank_before: int | None = Field(description="its place by score alone")
    note: str

    @classmethod
    def of(cls, marked: MarkNote) -> MarkedOut:
        return cls(mark=marked.mark, adviser=marked.adviser, at=marked.at, rank_before=marked.rank_before, note=marked.text())


class ExplanationOut(BaseModel):
    summary: str
    components: dict[str, float] = Field(description="each piece of evidence on its own scale (matcher/fusion.py)")
    shares: dict[str, float] = Field(description="each component's weighted part of the score; they add up to it")
    shared_cpv: list[SharedCpvOut]
    matched_terms: list[str]
    best_sentence: str | None
    best_sentence_similarity: float | None
    location: str | None
    track_record: str | None = Field(
        default=None, description="contracts the supplier won in the need's CPV groups, e.g. 'won 3 contracts … (latest 2021)'"
    )
    note: str | None = Field(
        default=None, description="for advisers: the match rests on details the supplier shared privately with them"
    )
    marked: MarkedOut | None = Field(
        default=None,
        description="in a stored need's shortlist: moved below the others because an adviser marked it not relevant "
        "(shown to readers of the need's marks only; clearing the mark restores its place)",
    )

    @classmethod
    def of(cls, explanation: Explanation | None, *, for_advisers: bool = False) -> ExplanationOut:
        """``for_advisers``: the reader may know that a match rests on a supplier's private details."""
        if explanation is None:
            raise ValueError("shortlists served to users are always explained")
        return cls(
            note=PRIVATE_MATCH_NOTE if for_advisers and explanation.private_match else None,
            summary=explanation.summary(),
            components=explanation.components.as_dict(),
            shares=explanation.shares,
            shared_cpv=[SharedCpvOut(**vars(s)) for s in explanation.shared_cpv],
            matched_terms=explanation.matched_terms,
            best_sentence=explanation.best_sentence,
            best_sentence_similarity=explanation.best_sentence_similarity,
            location=explanation.location,
            track_record=explanation.track_record,
            marked=MarkedOut.of(explanation.marked) if explanation.marked else None,
        )


class SupplierMatch(BaseModel):
    rank: int
    id: str
    name: str | None
    country: str | None
    region: str | None
    size: str | None
    website: str | None
    operating_countries: list[str]
    operating_regions: list[str] = []
    cpv_codes: list[str]
    score: float
    explanation: ExplanationOut

    @classmethod
    def of(cls, result: MatchResult, *, for_advisers: bool = False) -> SupplierMatch:
        row = result.row
        return cls(
            rank=result.rank,
            score=round(result.score, 4),
            explanation=ExplanationOut.of(result.explanation, for_advisers=for_advisers),
            **{
                f: getattr(row, f)
                for f in (
                    "id",
                    "name",
                    "country",
                    "region",
                    "size",
                    "website",
                    "operating_countries",
                    "operating_regions",
                    "cpv_codes",
                )
            },
        )


class NeedMatch(BaseModel):
    rank: int
    id: str
    title: str | None
    buyer: str | None
    country: str | None
    region: str | None
    status: str
    cpv_codes: list[str]
    score: float
    explanation: ExplanationOut

    @classmethod
    def of(cls, result: MatchResult) -> NeedMatch:
        row = result.row
        return cls(
            rank=result.rank,
            score=round(result.score, 4),
            explanation=ExplanationOut.of(result.explanation),
            **{f: getattr(row, f) for f in ("id", "title", "buyer", "country", "region", "status", "cpv_codes")},
        )


class SupplierShortlist(BaseModel):
    need: dict[str, Any] | None = None
    count: int
    results: list[SupplierMatch]


class NeedShortlist(BaseModel):
    """Needs for a supplier (``supplier`` set), or needs like a need (``need`` set, or neither for a draft)."""

    supplier: dict[str, Any] | None = None
    need: dict[str, Any] | None = None
    count: int
    results: list[NeedMatch]


class ImportResult(BaseModel):
    created: int
    updated: int
    unchanged: int


class Page(BaseModel, Generic[T]):
    total: int
    offset: int
    limit: int
    items: list[T]


class MarkOut(BaseModel):
    supplier_id: str
    supplier_name: str | None
    mark: str
    adviser: str
    at: dt.datetime

    @classmethod
    def of(cls, mark: Mark) -> MarkOut:
        supplier = mark.supplier
        return cls(supplier_id=supplier.id, supplier_name=supplier.name, mark=mark.mark, adviser=mark.adviser, at=mark.at)


class GroupOut(BaseModel):
    key: str
    label: str
    count: int
    share: float


class ReadinessOut(BaseModel):
    need_id: str
    threshold: float = Field(description="fused score at or above which a supplier counts as matching (matcher/readiness.py)")
    considered: int = Field(description="suppliers scored for the need (the best ones)")
    matching: int = Field(description="suppliers scoring at or above the threshold")
    capped: bool = Field(description="every supplier considered matched: there may be more")
    verdict: str
    sme_share: float | None = Field(description="share of micro, small and medium firms among matching suppliers of known size")
    by_country: list[GroupOut]
    by_region: list[GroupOut]
    by_size: list[GroupOut]
    by_cpv_division: list[GroupOut]

    @classmethod
    def of(cls, need_id: str, readiness: Readiness) -> ReadinessOut:
        values = asdict(readiness)
        return cls(need_id=need_id, **values)


class AuditEventOut(BaseModel):
    at: dt.datetime
    need_id: str
    action: str = Field(description="shortlist, mark or export")
    actor: str = Field(description="who: the key's holder, role and key prefix")
    role: str
    details: dict[str, Any]


class Problem(BaseModel):
    detail: str


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "no key, or an unknown or revoked one"},
    403: {"model": Problem, "description": "the key's role may not do this"},
    404: {"model": Problem, "description": "no such need or supplier (or not one this key may see)"},
    409: {"model": Problem, "description": "the id is already taken"},
    413: {"model": Problem, "description": "the request body is too large"},
}


class LineProblem(BaseModel):
    loc: list[str | int]
    msg: str
    type: str
    line: int | None = None


class ImportProblems(BaseModel):
    detail: list[LineProblem] = Field(description="the first 100 problems, in line order")
    more: int | None = Field(default=None, description="how many more problems were found (absent when none)")
