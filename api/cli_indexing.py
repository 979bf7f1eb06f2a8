"""``matchmaker worker`` (an indexer, a mail sender and a webhook sender on their own) and ``matchmaker queue`` (what waits,
what is parked)."""

from __future__ import annotations

import logging
import signal
import threading
from typing import Annotated

import typer
from sqlmodel import Session

queue_app = typer.Typer(help="The index queue: rows waiting to be embedded, and parked ones.", no_args_is_help=True)


def run_worker() -> None:
    """Embed queued rows and send queued mail until interrupted (several workers may run at once on PostgreSQL)."""
    from service.background import BackgroundWork
    from service.container import open_services
    from service.mail_sender import MailSender, SmtpConfig
    from service.settings import get_settings

    settings = get_settings()
    services = open_services(settings, reconcile=False, caches=False, indexing="background")
    stopped = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopped.set())
    sender = MailSender(services.engine, SmtpConfig.from_settings(settings))
    work = BackgroundWork(services, index=True, follow=False, mail=True, sender=sender).start()
    logging.getLogger(__name__).info("indexer worker running (model %s); stop with Ctrl-C", services.embedder.name)
    stopped.wait()
    work.stop()
    services.engine.dispose()


@queue_app.command("status")
def status(show: Annotated[int, typer.Option(help="how many parked jobs to list")] = 20) -> None:
    """How many rows wait to be embedded, and the parked ones with their error."""
    from api.cli_keys import database
    from store import index_queries

    engine = database()
    with Session(engine) as session:
        state = index_queries.queue_state(session)
        parked = index_queries.parked_jobs(session, show)
    typer.echo(
        f"pending: {state.pending}" + (f" (oldest queued {state.oldest_pending_at:%Y-%m-%d %H:%M:%S})" if state.pending else "")
    )
    typer.echo(f"parked: {state.parked}")
    for job in parked:
        typer.echo(f"  {job.kind} {job.row_key} (revision {job.revision}, {job.attempts} attempts): {job.error}")


@queue_app.command("retry")
def retry() -> None:
    """Give every parked job another round (once its cause is fixed)."""
    from api.cli_keys import database
    from store import index_queries
    from store.db import session_scope

    with session_scope(database()) as session:
        count = index_queries.retry_parked(session)
    typer.echo(f"{count} parked job(s) queued again")
