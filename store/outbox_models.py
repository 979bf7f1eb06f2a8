"""Outgoing e-mail, written in the same transaction as whatever caused it (an outbox).

A sign-in link or an invitation is a row here before it is a message on the wire: if the transaction
rolls back, nothing is sent; once it commits, a sender (service/mail_sender.py) delivers it, however
often a process dies in between. Like an index job, a claim is a lease, a failure is retried with
backoff, and a message that cannot be delivered is parked with its error for a person to look at.
Sent messages are kept for a while (``sent_at``) so a duplicate can be traced, then forgotten.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Column, Index, Text
from sqlmodel import Field, SQLModel

from store.models import Key, _utcnow


class OutgoingMail(SQLModel, table=True):
    __tablename__ = "outgoing_mail"
    __table_args__ = (Index("ix_outgoing_mail_ready", "sent_at", "parked", "lease_until"),)

    id: int | None = Field(default=None, sa_column=Column(Key, primary_key=True, autoincrement=True))
    to_address: str = Field(max_length=320, index=True)
    """Indexed: the per-address limit on sign-in messages counts by it."""
    subject: str = Field(max_length=1000)
    body: str = Field(sa_column=Column(Text, nullable=False))
    """Plain text."""
    headers: dict[str, str] = Field(default_factory=dict, sa_type=JSON)
    """Further headers, e.g. ``List-Unsubscribe`` on an alert (checked for line breaks when queued)."""
    created_at: dt.datetime = Field(default_factory=_utcnow)
    """Also the message's Date and part of its Message-ID, so a resend is the same message."""
    attempts: int = 0
    claimed_by: str | None = Field(default=None, max_length=64)
    lease_until: dt.datetime | None = None
    """A claimed message whose lease has passed (its sender died) is claimed again; after a failure, the
    time of the next try."""
    sent_at: dt.datetime | None = None
    parked: bool = False
    """Refused permanently, or failed ``MAX_ATTEMPTS`` times: kept with its error, never retried alone."""
    error: str | None = None
