"""Joint market dialogues over HTTP: several buyers' needs in one dialogue, with one shortlist, one
invitation list and one audit trail (rules in service/joint_dialogues.py and service/joint_shortlists.py)."""

from typing import Any

from fastapi import APIRouter, Depends, status
from fastapi.responses import Response

from api.consistency import read_after
from api.deps import PrincipalDep, ServicesDep
from api.dialogue_schemas import (
    DialogueCreate,
    DialogueMarksOut,
    DialogueNeedAdd,
    DialogueOut,
    DialogueSummary,
    GroupMatchOut,
    GroupShortlistOut,
)
from api.routes.dialogue import csv_response
from api.routes.matching import K
from api.schemas import AuditEventOut
from service import joint_dialogues, joint_shortlists
from service.container import Services
from service.joint_dialogues import Dialogue
from store.models import FeedbackCreate

router = APIRouter(prefix="/dialogues", tags=["joint market dialogue"])


def _out(services: Services, dialogue: Dialogue) -> DialogueOut:
    return DialogueOut.of(dialogue, joint_shortlists.invitations(services, dialogue))


@router.post("", response_model=DialogueOut, status_code=status.HTTP_201_CREATED, summary="Group needs into a joint dialogue")
def create_dialogue(payload: DialogueCreate, services: ServicesDep, principal: PrincipalDep) -> Any:
    """Advisers: at least two needs, none already in another joint dialogue (409 names the one that is).
    Each need's audit trail records the grouping."""
    dialogue = joint_dialogues.create_dialogue(services, principal, title=payload.title, need_ids=payload.need_ids)
    return _out(services, dialogue)


@router.get("", response_model=list[DialogueSummary], summary="Joint dialogues, newest first")
def list_dialogues(services: ServicesDep, principal: PrincipalDep) -> Any:
    """All of them for advisers; for a buyer, those holding one of its needs."""
    return [DialogueSummary.of(row, n) for row, n in joint_dialogues.list_dialogues(services, principal)]


@router.get("/{dialogue_id}", response_model=DialogueOut, summary="A joint dialogue: its needs and invitation list")
def get_dialogue(dialogue_id: str, services: ServicesDep, principal: PrincipalDep) -> Any:
    return _out(services, joint_dialogues.get_dialogue(services, principal, dialogue_id))


@router.post("/{dialogue_id}/needs", response_model=DialogueOut, summary="Add a need to the joint dialogue")
def add_need(dialogue_id: str, payload: DialogueNeedAdd, services: ServicesDep, principal: PrincipalDep) -> Any:
    """A need already in it changes nothing; one in another joint dialogue is refused (409)."""
    return _out(services, joint_dialogues.add_need(services, principal, dialogue_id, payload.need_id))


@router.delete("/{dialogue_id}/needs/{need_id}", response_model=DialogueOut, summary="Take a need out of the joint dialogue")
def remove_need(dialogue_id: str, need_id: str, services: ServicesDep, principal: PrincipalDep) -> Any:
    """Its marks and audit trail stay with the need."""
    return _out(services, joint_dialogues.remove_need(services, principal, dialogue_id, need_id))


@router.get(
    "/{dialogue_id}/shortlist",
    response_model=GroupShortlistOut,
    summary="One shortlist for all the dialogue's needs",
    dependencies=[Depends(read_after)],
)
def group_shortlist(dialogue_id: str, services: ServicesDep, principal: PrincipalDep, k: K = 10) -> Any:
    """Ranked by the mean score over the member needs (a supplier that fits every buyer's need first), with
    each need's score and the explanation for the need it fits best. Recorded in each need's audit trail."""
    dialogue = joint_dialogues.get_dialogue(services, principal, dialogue_id)
    matches = joint_shortlists.group_shortlist(services, principal, dialogue, k=k)
    return GroupShortlistOut(
        dialogue=dialogue.id,
        needs=[n.id for n in dialogue.needs],
        count=len(matches),
        results=[GroupMatchOut.of(m, for_advisers=principal.is_staff) for m in matches],
    )


@router.post(
    "/{dialogue_id}/feedback",
    response_model=DialogueMarksOut,
    status_code=status.HTTP_201_CREATED,
    summary="Mark a supplier for every need of the dialogue",
)
def mark_supplier(dialogue_id: str, payload: FeedbackCreate, services: ServicesDep, principal: PrincipalDep) -> Any:
    """Advisers: the same marks as `/needs/{id}/feedback`, stored for each member need (all or none), each
    with its audit event naming the dialogue."""
    return DialogueMarksOut.of(dialogue_id, joint_shortlists.mark_for_dialogue(services, principal, dialogue_id, payload))


@router.get(
    "/{dialogue_id}/invitations.csv",
    summary="The dialogue's invitation list as CSV",
    response_class=Response,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
def invitation_list(dialogue_id: str, services: ServicesDep, principal: PrincipalDep) -> Response:
    """Suppliers invited for any member need, once each, with the group score and the needs they are
    invited for. The export is recorded in each need's audit trail."""
    dialogue, rows = joint_shortlists.export_invitations(services, principal, dialogue_id)
    return csv_response(rows, joint_shortlists.INVITATION_COLUMNS, f"invitations-{dialogue.id}")


@router.get("/{dialogue_id}/audit", response_model=list[AuditEventOut], summary="The dialogue's record: its needs' trails merged")
def dialogue_audit(dialogue_id: str, services: ServicesDep, principal: PrincipalDep) -> Any:
    """Every member need's events (groupings, shortlists, marks, exports), in time order, each with its need."""
    dialogue = joint_dialogues.get_dialogue(services, principal, dialogue_id)
    return [AuditEventOut.model_validate(e, from_attributes=True) for e in joint_dialogues.audit_trail(services, dialogue)]
