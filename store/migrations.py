"""Additive schema changes for databases created by an earlier version.

``create_all`` creates missing tables but never alters existing ones, so each column added after a
table first shipped is listed here and added at start-up where it is missing. Only additive,
defaulted changes belong here; anything else needs a real migration tool.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AddColumn:
    table: str
    column: str
    sql_type: str
    default_sql: str


ADDED_COLUMNS = (
    AddColumn("supplier", "evidence_cpv_codes", "JSON", "'[]'"),
    AddColumn("supplier", "operating_regions", "JSON", "'[]'"),
    AddColumn("outgoing_mail", "headers", "JSON", "'{}'"),
    *(
        AddColumn("supplier", name, sql_type, "NULL")
        for name, sql_type in (
            ("contact_name", "VARCHAR(300)"),
            ("contact_email", "VARCHAR(300)"),
            ("contact_phone", "VARCHAR(40)"),
            ("notes", "TEXT"),
            ("private_description", "TEXT"),
        )
    ),
)


def upgrade(engine: Engine) -> list[str]:
    """Add every listed column that an existing table lacks; returns what was added."""
    inspector = inspect(engine)
    tables = set(inspector.get_table_names())
    added = []
    with engine.begin() as connection:
        for change in ADDED_COLUMNS:
            if change.table not in tables:
                continue  # create_all makes it whole
            if change.column in {c["name"] for c in inspector.get_columns(change.table)}:
                continue
            connection.execute(
                text(f"ALTER TABLE {change.table} ADD COLUMN {change.column} {change.sql_type} DEFAULT {change.default_sql}")
            )
            added.append(f"{change.table}.{change.column}")
            log.info("database upgraded: added %s.%s", change.table, change.column)
    return added
