"""Configuration, from ``MATCHMAKER_*`` environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from matcher.readiness import DEFAULT_THRESHOLD


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MATCHMAKER_", env_file=None, extra="ignore")

    home: Path = Path.home() / ".local" / "share" / "matchmaker"
    """Where the SQLite database and the indexes live."""
    database_url: str | None = None
    """SQLAlchemy URL; default ``sqlite:///$MATCHMAKER_HOME/matchmaker.db``."""
    model: str | None = None
    """A sentence-transformers model name or path; default: the bundled multilingual-e5-small build."""
    language_neutral: bool = True
    """Remove each language's mean vector before comparing (see indexer/language_neutral.py)."""
    query_precision: Literal["fp32", "int8"] = "int8"
    """``int8`` (on a CPU): encode queries with int8 weights (``query_encoder`` says which int8 encoder;
    unset, ONNX Runtime's), about 2.5 times as fast as fp32 with the same ranking quality within the
    confidence intervals (bench/results/sample_quality.md, quality.md). ``fp32``: the original model.
    Documents are always fp32."""
    query_encoder: Literal["onnx-int8", "torch-int8", "fp32"] | None = None
    """What encodes queries on a CPU: ``onnx-int8`` (ONNX Runtime, int8 weights: the fastest, and a serving
    process needs neither PyTorch nor the fp32 model until it embeds a document; built once from the model,
    indexer/onnx_queries.py), ``torch-int8`` (PyTorch's int8 copy) or ``fp32``. Unset: ``query_precision``
    decides (``int8`` is ``onnx-int8``). Documents are always fp32, so switching needs no re-indexing."""
    query_threads: int | None = Field(default=None, ge=1, le=256)
    """Threads of one ONNX query encode. Default: the cores this process may use, divided among the
    processes of ``matchmaker serve --workers N`` (on 2 cores and 2 workers, 1 each: more would only take
    turns on the same cores)."""
    filters_from: Literal["memory", "database"] = "memory"
    """Where a shortlist learns which rows pass its filters: ``memory``, the copy of the filterable fields
    every process keeps beside its indexes (indexer/filter_index.py), or ``database``, the store's SQL: the
    reference, slower by the transfer of every allowed key (about 100 ms at 100,000 suppliers)."""
    device: str | None = None
    """``cpu`` or ``cuda``; default: cuda when present."""
    cpv_file: Path | None = None
    """A CPV code list to use instead of the shipped CPV 2008 list (``data/cpv_2008.csv.gz``): CSV, plain
    or gzipped, with code, code_with_check and label columns."""
    readiness_threshold: float = DEFAULT_THRESHOLD
    """The fused score at which a supplier counts as matching a need in market readiness (matcher/readiness.py)."""
    cookie_secure: bool | None = None
    """Mark the pages' session cookie ``Secure``: default when the request came over HTTPS; set it to
    true behind a TLS-terminating proxy that forwards plain HTTP."""
    trusted_origins: list[str] = []
    """Origins besides the server's own (``https://matchmaker.example``) whose pages may post the
    forms, e.g. the public address when a proxy rewrites the Host header. JSON list in the variable."""
    public_url: str | None = None
    """Where people reach the pages (``https://matchmaker.example``): links in e-mails point there. Never
    taken from a request's Host header, which a sender could forge to have someone's sign-in link sent to
    another site. Default: ``http://HOST:PORT``."""
    session_hours: float = 12.0
    """How long a browser stays signed in."""
    database_pool: int = Field(default=10, ge=1, le=200)
    """PostgreSQL connections each process keeps open (up to twice as many under bursts, plus one that
    listens for change notices): size PostgreSQL's ``max_connections`` for every process of the fleet."""
    serve_indexer: bool = True
    """``matchmaker serve`` embeds queued rows itself; false where separate ``matchmaker worker`` processes do."""
    index_lease_seconds: float = 120.0
    """How long an indexer holds the jobs it claimed: a worker that dies has its jobs taken over after this."""
    index_retry_seconds: float = 30.0
    """A row the model failed on is tried again after this, then after twice as long, …; parked after 5 tries."""
    smtp_host: str | None = None
    """The SMTP server that delivers outgoing mail (sign-in links, invitations). Unset: messages are
    written to the log instead (a local trial), and marked sent."""
    smtp_port: int = Field(default=587, ge=1, le=65535)
    """587: submission with STARTTLS when the server offers it; 465: TLS from the first byte."""
    smtp_user: str | None = None
    """Log in with this user (and ``smtp_password``); never over a connection without TLS, except to a
    loopback address."""
    smtp_password: SecretStr | None = None
    smtp_from: str = "matchmaker@localhost"
    """The sender of outgoing mail (``Matchmaker <noreply@example.org>`` or a bare address)."""
    webhook_allow_private: bool = False
    """Let suppliers' webhooks post to loopback and private addresses, and over plain HTTP (tests, an
    intranet). Off, a webhook must be an HTTPS address on the public internet: the server posting to
    it must not be turned against the network it runs in."""
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "INFO"

    @property
    def chosen_query_encoder(self) -> str:
        if self.query_encoder is not None:
            return self.query_encoder
        return "onnx-int8" if self.query_precision == "int8" else "fp32"

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'matchmaker.db'}"

    @property
    def pages_url(self) -> str:
        """The base of links sent by e-mail."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def index_dir(self) -> Path:
        return self.home / "indexes"


@lru_cache
def get_settings() -> Settings:
    return Settings()
