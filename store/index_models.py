"""Tables of derived state that is expensive to recompute, and of work still to do.

- ``RowVector``: a row's document vector and the vectors of its citable passages, computed by one model
  from one revision of the row. The system of record for embeddings: a new server loads them instead of
  embedding everything again, and backups hold them.
- ``Tombstone``: a deleted row, at the revision of its deletion, so every server following the change
  log removes it from its indexes.
- ``IndexJob``: a row to embed, written in the same transaction as the row (an outbox): a write never
  waits for the model, and a crash between the commit and the embedding loses nothing.

Every write here takes a revision from the global counter (``stamp``/``revision``): commits that bump it
are serialised by its row lock, so a follower that has applied everything up to revision R has missed
nothing below it.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Column, Index, LargeBinary
from sqlmodel import Field, SQLModel

from store.models import Key, _utcnow


class RowVector(SQLModel, table=True):
    __tablename__ = "row_vector"

    model: str = Field(primary_key=True, max_length=200)
    kind: str = Field(primary_key=True, max_length=10)
    row_key: int = Field(sa_column=Column(Key, primary_key=True, autoincrement=False))
    revision: int
    """The revision of the row that was embedded."""
    stamp: int = Field(index=True)
    """The global revision at which this vector was written: followers apply ``stamp`` > theirs."""
    vector: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    """float32, little-endian."""
    passage_codes: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    """int8, one row of ``dim`` codes per citable passage (indexer/passage_vectors.py)."""
    passage_scales: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    """float32, one scale per passage."""


class Tombstone(SQLModel, table=True):
    revision: int = Field(primary_key=True)
    kind: str = Field(max_length=10)
    row_key: int = Field(sa_column=Column(Key, nullable=False))
    at: dt.datetime = Field(default_factory=_utcnow)


class IndexJob(SQLModel, table=True):
    __tablename__ = "index_job"
    __table_args__ = (Index("ix_index_job_ready", "parked", "lease_until"),)

    id: int | None = Field(default=None, sa_column=Column(Key, primary_key=True, autoincrement=True))
    kind: str = Field(max_length=10)
    row_key: int = Field(sa_column=Column(Key, nullable=False, index=True))
    revision: int
    """The row's revision when the job was written; the worker embeds whatever the row holds then."""
    created_at: dt.datetime = Field(default_factory=_utcnow)
    attempts: int = 0
    claimed_by: str | None = Field(default=None, max_length=64)
    lease_until: dt.datetime | None = None
    """A claimed job whose lease has passed (its worker died) is claimed again."""
    parked: bool = False
    """Failed ``MAX_ATTEMPTS`` times: kept with its error for a person to look at, never retried."""
    error: str | None = None
