"""``matchmaker mail``: outgoing e-mail waiting to be sent, and parked messages with the server's answer."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlmodel import Session

mail_app = typer.Typer(help="Outgoing e-mail: messages waiting to be sent, and parked ones.", no_args_is_help=True)


@mail_app.command("status")
def status(show: Annotated[int, typer.Option(help="how many parked messages to list")] = 20) -> None:
    """How many messages wait to be sent, and the parked ones with their error."""
    from api.cli_keys import database
    from store import outbox_queries

    engine = database()
    with Session(engine) as session:
        state = outbox_queries.mail_state(session)
        parked = outbox_queries.parked(session, show)
    oldest = state.oldest_pending_at
    typer.echo(f"pending: {state.pending}" + (f" (oldest queued {oldest:%Y-%m-%d %H:%M:%S})" if oldest else ""))
    typer.echo(f"parked: {state.parked}")
    for mail in parked:
        typer.echo(f"  {mail.id} to {mail.to_address} ({mail.attempts} attempts) {mail.subject!r}: {mail.error}")


@mail_app.command("retry")
def retry() -> None:
    """Give every parked message another round (once its cause is fixed)."""
    from api.cli_keys import database
    from store import outbox_queries
    from store.db import session_scope

    with session_scope(database()) as session:
        count = outbox_queries.retry_parked(session)
    typer.echo(f"{count} parked message(s) queued again")
