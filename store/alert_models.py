"""Alerts to suppliers: who wants to hear about which needs, who was told, and what is still to deliver.

- ``AlertJob``: a need to alert suppliers about, written in the same transaction as the need (an outbox),
  so a crash between saving a need and ranking suppliers for it loses no alert.
- ``Alert``: one supplier told about one need (unique: however often a job runs, a supplier is told once),
  with the score and the explanation it was told, and what it did (opened, answered).
- ``AlertSettings``: a supplier's own choices; a supplier without a row has the defaults (alerts on, in
  the inbox and the feed, at the readiness threshold).
- ``WebhookDelivery``: one alert to post to a supplier's own system, retried like outgoing mail.

Ids are kept as text beside the keys, as in the audit trail: the record of who was alerted outlives rows.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from store.models import MAX_NAME, Key, _utcnow

CADENCES: tuple[str, ...] = ("immediate", "daily", "weekly")
ANSWERS: tuple[str, ...] = ("interested", "not_interested")


class AlertJob(SQLModel, table=True):
    __tablename__ = "alert_job"
    __table_args__ = (Index("ix_alert_job_ready", "parked", "lease_until"),)

    id: int | None = Field(default=None, sa_column=Column(Key, primary_key=True, autoincrement=True))
    need_key: int = Field(sa_column=Column(Key, nullable=False, index=True))
    revision: int
    """The need's revision when the job was written; the job ranks whatever the need holds when it runs."""
    created_at: dt.datetime = Field(default_factory=_utcnow)
    attempts: int = 0
    claimed_by: str | None = Field(default=None, max_length=64)
    lease_until: dt.datetime | None = None
    done_at: dt.datetime | None = None
    parked: bool = False
    error: str | None = None


class Alert(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("supplier_id", "need_id"),)

    key: int | None = Field(default=None, sa_column=Column(Key, primary_key=True, autoincrement=True))
    supplier_id: str = Field(max_length=80, index=True)
    need_id: str = Field(max_length=80, index=True)
    need_title: str = Field(max_length=MAX_NAME)
    """As it was when the supplier was told."""
    score: float
    why: str = Field(sa_column=Column(Text, nullable=False))
    """The match's explanation in one line, as advisers see it (never the supplier's private text)."""
    created_at: dt.datetime = Field(default_factory=_utcnow, index=True)
    """The same for every supplier told by one run: all were told at once."""
    email_state: str = Field(default="off", max_length=12)
    """``off`` (no confirmed address, or e-mail switched off), ``digest`` (waits for the next digest) or
    ``queued`` (in the outbox: ``mail_keys`` say whether it went)."""
    mail_keys: list[int] = Field(default_factory=list, sa_type=JSON)
    read_at: dt.datetime | None = None
    """Seen in the inbox."""
    opened_at: dt.datetime | None = None
    """The need's page opened by the supplier (signed in, or from the alert's link)."""
    answer: str | None = Field(default=None, max_length=20)
    answer_note: str | None = Field(default=None, max_length=2000)
    answered_at: dt.datetime | None = None


class AlertSettings(SQLModel, table=True):
    __tablename__ = "alert_settings"

    supplier_id: str = Field(primary_key=True, max_length=80)
    enabled: bool = True
    cadence: str = Field(default="immediate", max_length=10)
    """How e-mail is sent: one message per need, or a daily or weekly digest. The inbox, the feed and
    webhooks are told at once whatever the cadence."""
    min_score: float | None = None
    """The lowest match to be told about; None: the service's readiness threshold."""
    countries: list[str] = Field(default_factory=list, sa_type=JSON)
    regions: list[str] = Field(default_factory=list, sa_type=JSON)
    cpv_prefixes: list[str] = Field(default_factory=list, sa_type=JSON)
    email: bool = True
    """E-mail to confirmed addresses; switched off by an unsubscribe link."""
    contact_email: str | None = Field(default=None, max_length=254)
    """A further address confirmed by a link sent to it (the accounts' own addresses need no confirming)."""
    webhook_url: str | None = Field(default=None, max_length=500)
    webhook_secret: str | None = Field(default=None, max_length=64)
    """Signs each post (HMAC-SHA256); shown to the supplier only."""
    feed_version: int = 0
    """Part of the secret feed address: bumped to give the feed a new address (the old one stops working)."""
    last_digest_at: dt.datetime | None = None
    updated_at: dt.datetime = Field(default_factory=_utcnow)


class WebhookDelivery(SQLModel, table=True):
    __tablename__ = "webhook_delivery"
    __table_args__ = (Index("ix_webhook_delivery_ready", "delivered_at", "parked", "lease_until"),)

    id: int | None = Field(default=None, sa_column=Column(Key, primary_key=True, autoincrement=True))
    alert_key: int = Field(sa_column=Column(Key, nullable=False, index=True))
    supplier_id: str = Field(max_length=80, index=True)
    url: str = Field(max_length=500)
    body: str = Field(sa_column=Column(Text, nullable=False))
    """The JSON posted, fixed when the alert was made, so a retry posts the same bytes."""
    idempotency_key: str = Field(max_length=80, unique=True)
    created_at: dt.datetime = Field(default_factory=_utcnow)
    attempts: int = 0
    claimed_by: str | None = Field(default=None, max_length=64)
    lease_until: dt.datetime | None = None
    delivered_at: dt.datetime | None = None
    parked: bool = False
    error: str | None = None
