"""CPV suggestions: buyers often pick wrong or too generic codes."""

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from api.deps import PrincipalDep, ServicesDep
from service import access
from service.cpv_suggestions import suggest_cpv
from store.models import MatchText

router = APIRouter(tags=["cpv"])


class SuggestRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: MatchText = Field(min_length=3, max_length=10_000, description="the need, in any of sv/no/en (with words to match on)")
    k: int = Field(default=5, ge=1, le=20)
    lang: str = Field(default="en", pattern="^(en|sv|no)$", description="language of the labels returned")


class SuggestedCode(BaseModel):
    code: str
    label: str | None
    confidence: float = Field(description="share of the evidence for this code, its group and its division, 0–1")
    label_similarity: float | None = Field(description="cosine between the text and the code's closest label")
    neighbour_share: float = Field(description="share of the nearest known notices' votes")
    neighbour_group_share: float = Field(description="share of the nearest known notices' votes for codes of this group")
    label_group_share: float = Field(description="share of the label evidence for codes of this group")


class SuggestResponse(BaseModel):
    suggestions: list[SuggestedCode]


@router.post("/cpv/suggest", response_model=SuggestResponse, summary="Suggest CPV codes for a need's text")
def suggest(request: SuggestRequest, services: ServicesDep, principal: PrincipalDep) -> Any:
    access.require_key(principal)
    found = suggest_cpv(services, request.text, k=request.k, lang=request.lang)
    return SuggestResponse(suggestions=[SuggestedCode(**vars(s)) for s in found])
