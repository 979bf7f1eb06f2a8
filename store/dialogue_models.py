"""Joint market dialogues (demand pooling): several buyers' needs served by one dialogue.

Members are named by need id (text), like the audit trail: the record outlives a deleted need. A need is
in at most one joint dialogue (``need_id`` is unique), so two advisers grouping the same need at once
cannot both succeed.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from store.models import MAX_NAME, Key, _utcnow


class JointDialogue(SQLModel, table=True):
    __tablename__ = "joint_dialogue"

    key: int | None = Field(default=None, sa_column=Column(Key, primary_key=True, autoincrement=True))
    id: str = Field(index=True, unique=True, max_length=40)
    """``jd-`` and 8 random hex digits: names the dialogue in links and audit rows."""
    title: str = Field(max_length=MAX_NAME)
    created_by: str = Field(max_length=MAX_NAME)
    created_at: dt.datetime = Field(default_factory=_utcnow, index=True)


class JointDialogueNeed(SQLModel, table=True):
    __tablename__ = "joint_dialogue_need"

    key: int | None = Field(default=None, sa_column=Column(Key, primary_key=True, autoincrement=True))
    dialogue_key: int = Field(sa_column=Column(Key, index=True, nullable=False))
    need_id: str = Field(unique=True, max_length=80)
    added_by: str = Field(max_length=MAX_NAME)
    added_at: dt.datetime = Field(default_factory=_utcnow)
