"""Request and response shapes of the joint market dialogue endpoints (api/routes/joint_dialogues.py)."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from api.schemas import ExplanationOut
from service.feedback import Mark
from service.joint_dialogues import MAX_NEEDS, Dialogue, Member
from service.joint_shortlists import GroupMatch, Invitation, invitation_rows
from store.dialogue_models import JointDialogue
from store.models import EntityId, Name


class DialogueCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Name | None = Field(default=None, description="default: the first need's title")
    need_ids: list[EntityId] = Field(
        min_length=2, max_length=MAX_NEEDS, description="at least two needs, none in another dialogue"
    )

    @field_validator("title")
    @classmethod
    def _no_nul(cls, value: str | None) -> str | None:
        if value is not None and "\x00" in value:
            raise PydanticCustomError("nul_character", "must not contain NUL characters")
        return value

    @field_validator("need_ids")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        twice = sorted({v for v in value if value.count(v) > 1})
        if twice:
            raise PydanticCustomError("duplicate_need", "the same need twice: {needs}", {"needs": ", ".join(twice)})
        return value


class DialogueNeedAdd(BaseModel):
    model_config = ConfigDict(extra="forbid")

    need_id: EntityId


class MemberOut(BaseModel):
    need_id: str
    stored: bool = Field(description="false when the need was deleted after it joined (its audit trail remains)")
    title: str | None
    buyer: str | None
    status: str | None
    published: dt.date | None
    deadline: dt.date | None
    added_by: str
    added_at: dt.datetime

    @classmethod
    def of(cls, member: Member) -> MemberOut:
        need = member.need
        fields = {f: getattr(need, f, None) for f in ("title", "buyer", "status", "published", "deadline")}
        return cls(need_id=member.need_id, stored=need is not None, added_by=member.added_by, added_at=member.added_at, **fields)


class DialogueSummary(BaseModel):
    id: str
    title: str
    created_by: str
    created_at: dt.datetime
    needs: int

    @classmethod
    def of(cls, row: JointDialogue, needs: int) -> DialogueSummary:
        return cls(id=row.id, title=row.title, created_by=row.created_by, created_at=row.created_at, needs=needs)


class InvitationOut(BaseModel):
    supplier_id: str
    name: str
    country: str
    score: float = Field(description="mean score over the dialogue's needs")
    invited_for: list[str] = Field(description="the member needs it is invited for")
    best_need: str
    why: str
    marked_by: str
    marked_at: str

    @classmethod
    def rows(cls, invitations: list[Invitation]) -> list[InvitationOut]:
        return [
            cls(
                supplier_id=r["id"],
                name=r["name"],
                country=r["country"],
                score=float(r["score"]),
                invited_for=r["invited_for"].split(),
                best_need=r["best_need"],
                why=r["why"],
                marked_by=r["marked_by"],
                marked_at=r["marked_at"],
            )
            for r in invitation_rows(invitations)
        ]


class DialogueOut(BaseModel):
    id: str
    title: str
    created_by: str
    created_at: dt.datetime
    needs: list[MemberOut]
    invitations: list[InvitationOut]

    @classmethod
    def of(cls, dialogue: Dialogue, invitations: list[Invitation]) -> DialogueOut:
        row = dialogue.row
        return cls(
            id=row.id,
            title=row.title,
            created_by=row.created_by,
            created_at=row.created_at,
            needs=[MemberOut.of(m) for m in dialogue.members],
            invitations=InvitationOut.rows(invitations),
        )


class GroupMatchOut(BaseModel):
    rank: int
    id: str
    name: str | None
    country: str | None
    region: str | None
    size: str | None
    website: str | None
    score: float = Field(description="the mean of its scores over the dialogue's needs")
    need_scores: dict[str, float] = Field(description="its score for each member need")
    best_need: str = Field(description="the need it fits best; the explanation is for that need")
    explanation: ExplanationOut

    @classmethod
    def of(cls, match: GroupMatch, *, for_advisers: bool) -> GroupMatchOut:
        row = match.row
        return cls(
            rank=match.rank,
            score=round(match.score, 4),
            need_scores={n: round(s, 4) for n, s in match.per_need.items()},
            best_need=match.best_need,
            explanation=ExplanationOut.of(match.explanation, for_advisers=for_advisers),
            **{f: getattr(row, f) for f in ("id", "name", "country", "region", "size", "website")},
        )


class GroupShortlistOut(BaseModel):
    dialogue: str
    needs: list[str]
    count: int
    results: list[GroupMatchOut]


class DialogueMarkOut(BaseModel):
    need_id: str
    supplier_id: str
    mark: str
    adviser: str
    at: dt.datetime

    @classmethod
    def of(cls, need_id: str, mark: Mark) -> DialogueMarkOut:
        return cls(need_id=need_id, supplier_id=mark.supplier.id, mark=mark.mark, adviser=mark.adviser, at=mark.at)


class DialogueMarksOut(BaseModel):
    dialogue: str
    marks: list[DialogueMarkOut] = Field(description="the mark as stored for each member need")

    @classmethod
    def of(cls, dialogue_id: str, marks: list[tuple[str, Mark]]) -> DialogueMarksOut:
        return cls(dialogue=dialogue_id, marks=[DialogueMarkOut.of(need_id, mark) for need_id, mark in marks])
