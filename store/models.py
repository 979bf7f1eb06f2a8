"""Tables and their input/output families (``SupplierBase`` → ``SupplierCreate`` / ``SupplierUpdate``
/ ``Supplier`` / ``SupplierPublic``). Input models refuse unknown fields and oversize text."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    ConfigDict,
    StringConstraints,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError
from sqlalchemy import JSON, BigInteger, Column, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel

from matcher.analysis import has_words
from matcher.countries import country_code, nuts_code

MAX_TEXT = 10_000
MAX_NAME = 300
MAX_CODES = 50

EntityId = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$")
]
# matcher.countries decides, as it does for filters (one check, one reason); the schema shows the shape.
CountryCode = Annotated[
    str, AfterValidator(country_code), WithJsonSchema({"type": "string", "pattern": "^[A-Za-z]{2}$", "examples": ["NO"]})
]
NutsCode = Annotated[
    str,
    AfterValidator(nuts_code),
    WithJsonSchema({"type": "string", "pattern": "^[A-Za-z]{2}[0-9A-Za-z]{0,3}$", "examples": ["NO081"]}),
]
Size = Literal["micro", "small", "medium", "large"]
NeedStatus = Literal["planning", "open", "closed"]
Website = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500, pattern=r"^https?://\S+$")]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_NAME)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_TEXT)]
CpvInput = Annotated[str, StringConstraints(strip_whitespace=True, max_length=12)]
Email = Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_NAME, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, max_length=40, pattern=r"^\+?[0-9 ()-]{5,40}$")]


# 64-bit keys on PostgreSQL; on SQLite only INTEGER PRIMARY KEY autoincrements (and is 64-bit anyway).
Key = BigInteger().with_variant(Integer(), "sqlite")


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def with_words(value: str) -> str:
    """Refuse free text with nothing to match on (only spaces, control characters or emoji)."""
    if not has_words(value):
        raise PydanticCustomError("no_words", "no words to match on")
    return value


# Free text that is matched on: a need's text, or a query's.
MatchText = Annotated[str, AfterValidator(with_words)]


class _Input(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    @field_validator("*")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        """PostgreSQL refuses NUL in text (a 500 there, silently stored on SQLite): refused here, on every backend."""
        for item in value if isinstance(value, list) else (value,):
            if isinstance(item, str) and "\x00" in item:
                raise PydanticCustomError("nul_character", "must not contain NUL characters")
        return value


# ---------------------------------------------------------------- suppliers


class SupplierFields(_Input):
    name: Name | None = None
    description: Text | None = None
    cpv_codes: list[CpvInput] = Field(default_factory=list, max_length=MAX_CODES)
    country: CountryCode | None = None
    region: NutsCode | None = None
    size: Size | None = None
    website: Website | None = None
    operating_countries: list[CountryCode] = Field(default_factory=list, max_length=60)
    operating_regions: list[NutsCode] = Field(default_factory=list, max_length=100)
    """NUTS regions served besides its own: a need there counts as nearby (matcher/geography.py)."""
    # Private: shown to the supplier itself (and contact details and notes to advisers), never to others.
    contact_name: Name | None = None
    contact_email: Email | None = None
    contact_phone: Phone | None = None
    notes: Text | None = None
    private_description: Text | None = None
    """Unpublished capabilities and plans: matched on, never shown to any other role."""


class SupplierCreate(SupplierFields):
    id: EntityId
    description: Text

    @field_validator("description")
    @classmethod
    def _description_has_words(cls, value: str) -> str:
        return with_words(value)  # the capability profile is what the supplier is matched on


class SupplierUpdate(SupplierFields):
    """Partial update: only the fields given change."""


class Supplier(SQLModel, table=True):
    key: int | None = Field(default=None, sa_column=Column(Key, primary_key=True, autoincrement=True))
    id: str = Field(index=True, unique=True, max_length=80)
    name: str | None = Field(default=None, max_length=MAX_NAME)
    description: str
    cpv_codes: list[str] = Field(default_factory=list, sa_type=JSON)
    country: str | None = Field(default=None, index=True, max_length=2)
    region: str | None = Field(default=None, index=True, max_length=5)
    size: str | None = Field(default=None, index=True, max_length=10)
    website: str | None = Field(default=None, max_length=500)
    operating_countries: list[str] = Field(default_factory=list, sa_type=JSON)
    operating_regions: list[str] = Field(default_factory=list, sa_type=JSON)
    contact_name: str | None = Field(default=None, max_length=MAX_NAME)
    contact_email: str | None = Field(default=None, max_length=MAX_NAME)
    contact_phone: str | None = Field(default=None, max_length=40)
    notes: str | None = None
    private_description: str | None = None
    evidence_cpv_codes: list[str] = Field(default_factory=list, sa_type=JSON)
    """Codes of the contracts it won (derived from its evidence), most frequent first."""
    revision: int = Field(default=0, index=True)
    created_at: dt.datetime = Field(default_factory=_utcnow)
    updated_at: dt.datetime = Field(default_factory=_utcnow)

    @property
    def all_cpv_codes(self) -> list[str]:
        return list(dict.fromkeys([*self.cpv_codes, *self.evidence_cpv_codes]))


class SupplierPublic(SQLModel):
    id: str
    name: str | None
    description: str
    cpv_codes: list[str]
    country: str | None
    region: str | None
    size: str | None
    website: str | None
    operating_countries: list[str]
    operating_regions: list[str] = []
    created_at: dt.datetime
    updated_at: dt.datetime


class SupplierForAdvisers(SupplierPublic):
    """What advisers see: the public profile and how to reach the supplier, not its private plans."""

    contact_name: str | None = None
    contact_email: str | None = None
    contact_phone: str | None = None
    notes: str | None = None


class SupplierOwn(SupplierForAdvisers):
    """What the supplier itself sees: everything it wrote. Over the API, each reader gets only the
    fields its role may see (the others are left out)."""

    private_description: str | None = None


class SupplierCpv(SQLModel, table=True):
    """One row per (supplier, CPV code): CPV-prefix filters become exact SQL."""

    supplier_key: int = Field(sa_column=Column(Key, primary_key=True))
    code: str = Field(primary_key=True, max_length=8, index=True)


class SupplierMarket(SQLModel, table=True):
    """Countries a supplier serves, its own included: country filters become exact SQL."""

    supplier_key: int = Field(sa_column=Column(Key, primary_key=True))
    country: str = Field(primary_key=True, max_length=2, index=True)


# ---------------------------------------------------------------- needs


class NeedFields(_Input):
    title: Name | None = None
    description: Text | None = None
    buyer: Name | None = None
    cpv_codes: list[CpvInput] = Field(default_factory=list, max_length=MAX_CODES)
    country: CountryCode | None = None
    region: NutsCode | None = None
    status: NeedStatus | None = None
    published: dt.date | None = None
    deadline: dt.date | None = None

    @field_validator("deadline")
    @classmethod
    def _deadline_after_publication(cls, deadline: dt.date | None, info: ValidationInfo) -> dt.date | None:
        """A deadline before publication is a typo (or swapped fields) that would misdate the dialogue."""
        published = info.data.get("published")
        if deadline is not None and published is not None and deadline < published:
            raise ValueError(f"the deadline {deadline} is before the publication date {published}")
        return deadline


class NeedCreate(NeedFields):
    id: EntityId
    status: NeedStatus = "open"

    @model_validator(mode="after")
    def _has_text(self) -> NeedCreate:
        if not has_words(self.description or "") and not has_words(self.title or ""):
            raise PydanticCustomError("no_words", "no words to match on in the title or the description")
        return self


class NeedUpdate(NeedFields):
    """Partial update: only the fields given change."""


class Need(SQLModel, table=True):
    key: int | None = Field(default=None, sa_column=Column(Key, primary_key=True, autoincrement=True))
    id: str = Field(index=True, unique=True, max_length=80)
    title: str | None = Field(default=None, max_length=MAX_NAME)
    description: str = ""
    buyer: str | None = Field(default=None, max_length=MAX_NAME)
    cpv_codes: list[str] = Field(default_factory=list, sa_type=JSON)
    country: str | None = Field(default=None, index=True, max_length=2)
    region: str | None = Field(default=None, index=True, max_length=5)
    status: str = Field(default="open", index=True, max_length=10)
    published: dt.date | None = None
    deadline: dt.date | None = None
    revision: int = Field(default=0, index=True)
    created_at: dt.datetime = Field(default_factory=_utcnow)
    updated_at: dt.datetime = Field(default_factory=_utcnow)


class NeedPublic(SQLModel):
    id: str
    title: str | None
    description: str
    buyer: str | None
    cpv_codes: list[str]
    country: str | None
    region: str | None
    status: str
    published: dt.date | None
    deadline: dt.date | None
    created_at: dt.datetime
    updated_at: dt.datetime


class NeedCpv(SQLModel, table=True):
    need_key: int = Field(sa_column=Column(Key, primary_key=True))
    code: str = Field(primary_key=True, max_length=8, index=True)


class Counter(SQLModel, table=True):
    """Monotonic counters; ``revision`` is bumped by every write and stamped on the row written,
    so an index knows exactly which rows changed since it was saved."""

    name: str = Field(primary_key=True, max_length=40)
    value: int = 0


# ---------------------------------------------------------------- evidence


class Evidence(SQLModel, table=True):
    """A contract a supplier won (from an award notice): part of its profile, and of the explanation
    ("won 'Winter road maintenance 2021' for Lancaster City Council")."""

    __table_args__ = (UniqueConstraint("supplier_key", "source"),)
    key: int | None = Field(default=None, sa_column=Column(Key, primary_key=True, autoincrement=True))
    supplier_key: int = Field(sa_column=Column(Key, index=True, nullable=False))
    source: str = Field(max_length=200)
    """Where it comes from, unique per supplier (e.g. an OCDS ocid and award id)."""
    title: str = Field(max_length=MAX_NAME)
    description: str = ""
    buyer: str | None = Field(default=None, max_length=MAX_NAME)
    cpv_codes: list[str] = Field(default_factory=list, sa_type=JSON)
    awarded_on: dt.date | None = None


# ---------------------------------------------------------------- advisers' feedback

FeedbackMark = Literal["invited", "relevant", "not_relevant", "cleared"]


class Feedback(SQLModel, table=True):
    """One adviser's mark on one supplier for one need. Rows are never updated: the latest mark per
    (need, supplier) is the current one, and the history is the record of the market dialogue."""

    key: int | None = Field(default=None, sa_column=Column(Key, primary_key=True, autoincrement=True))
    need_key: int = Field(sa_column=Column(Key, index=True, nullable=False))
    supplier_key: int = Field(sa_column=Column(Key, index=True, nullable=False))
    mark: str = Field(max_length=20)
    adviser: str = Field(max_length=MAX_NAME)
    created_at: dt.datetime = Field(default_factory=_utcnow)


class FeedbackCreate(_Input):
    """An adviser's mark; who gave it comes from their key."""

    supplier_id: EntityId
    mark: FeedbackMark
