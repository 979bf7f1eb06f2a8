"""``matchmaker keys``: create (shown once), list and revoke API keys."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy.engine import Engine

keys_app = typer.Typer(help="API keys: roles admin, adviser, buyer, supplier.", no_args_is_help=True)


def database() -> Engine:
    """The configured database, ready, without loading the model or the indexes."""
    from service.settings import get_settings
    from store.db import init_db, make_engine

    settings = get_settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.resolved_database_url)
    init_db(engine)
    return engine


@keys_app.command("create")
def create(
    role: Annotated[str, typer.Option(help="admin, adviser, buyer or supplier")],
    supplier: Annotated[str | None, typer.Option(help="the supplier id a supplier key acts for")] = None,
    buyer: Annotated[str | None, typer.Option(help="the buyer name a buyer key acts for, as in its needs")] = None,
    label: Annotated[str | None, typer.Option(help="who holds it (shown in marks and the audit trail)")] = None,
) -> None:
    """Create a key and print it once: only its hash is stored."""
    from service.errors import InvalidInput, NotFound
    from service.keys import create_key

    try:
        plaintext, row = create_key(database(), role, supplier_id=supplier, buyer=buyer, label=label)
    except (InvalidInput, NotFound) as exc:
        typer.secho(str(exc), fg=typer.colors.RED, err=True)
        raise typer.Exit(code=2) from exc
    typer.echo(plaintext)
    typer.secho(f"{row.role} key {row.prefix} created; it is shown only this once.", err=True)


@keys_app.command("list")
def list_keys() -> None:
    from service.keys import list_keys as all_keys

    for row in all_keys(database()):
        state = f"revoked {row.revoked_at:%Y-%m-%d}" if row.revoked_at else "active"
        acts_for = row.supplier_id or row.buyer or ""
        typer.echo(f"{row.prefix}  {row.role:8} {state:18} {acts_for:30} {row.label or ''}")


@keys_app.command("revoke")
def revoke(prefix: Annotated[str, typer.Argument(help="the key's prefix (mm_<prefix>_…)")]) -> None:
    from service.errors import NotFound
    from service.keys import revoke_key

    try:
        row = revoke_key(database(), prefix)
    except NotFound as exc:
        typer.secho(str(exc), fg=typer.colors.RED, err=True)
        raise typer.Exit(code=2) from exc
    typer.echo(f"revoked {row.prefix} ({row.role})")


def first_admin_key(engine: Engine) -> str | None:
    """On a database without keys, an admin key so the first user can sign in (printed by ``serve``)."""
    from service.keys import create_key, has_keys
    from store.db import exclusive

    with exclusive(engine, "first-admin-key"):  # two servers starting together make one key, not two
        if has_keys(engine):
            return None
        plaintext, _row = create_key(engine, "admin", label="first admin")
        return plaintext
