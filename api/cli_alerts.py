"""``matchmaker alerts``: alert jobs and webhook posts still to do, parked ones with their error, and running
the jobs now (after an import, without a server)."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlmodel import Session

alerts_app = typer.Typer(help="Alerts to suppliers: jobs and webhook posts waiting, parked ones.", no_args_is_help=True)


@alerts_app.command("status")
def status(show: Annotated[int, typer.Option(help="how many parked items to list")] = 20) -> None:
    """Jobs waiting to tell suppliers, webhook posts waiting, alerts waiting for a digest, and what is parked."""
    from api.cli_keys import database
    from store import alert_queries, leased_queue

    engine = database()
    with Session(engine) as session:
        state = alert_queries.state(session)
        jobs = leased_queue.parked(session, alert_queries.JOBS, show)
        hooks = leased_queue.parked(session, alert_queries.WEBHOOKS, show)
    typer.echo(f"alert jobs: {state.jobs_pending} pending, {state.jobs_parked} parked")
    for job in jobs:
        typer.echo(f"  need key {job.need_key} ({job.attempts} attempts): {job.error}")
    typer.echo(f"webhook posts: {state.webhooks_pending} pending, {state.webhooks_parked} parked")
    for hook in hooks:
        typer.echo(f"  {hook.idempotency_key} to {hook.supplier_id} at {hook.url} ({hook.attempts} attempts): {hook.error}")
    typer.echo(f"alerts waiting for a digest: {state.waiting_for_digest}")


@alerts_app.command("retry")
def retry() -> None:
    """Give parked alert jobs and webhook posts another round (once the cause is fixed)."""
    from api.cli_keys import database
    from store import alert_queries, leased_queue
    from store.db import session_scope

    with session_scope(database()) as session:
        jobs = leased_queue.retry_parked(session, alert_queries.JOBS)
        hooks = leased_queue.retry_parked(session, alert_queries.WEBHOOKS)
    typer.echo(f"{jobs} alert job(s) and {hooks} webhook post(s) queued again")


@alerts_app.command("run")
def run() -> None:
    """Run the waiting alert jobs here and now (a server's alerts thread does it otherwise)."""
    from service import alerts
    from service.container import open_services
    from service.settings import get_settings

    services = open_services(get_settings(), progress=True)
    jobs = told = 0
    while (done := alerts.run_pending(services)).jobs:
        jobs, told = jobs + done.jobs, told + done.told
    typer.echo(f"{jobs} job(s) run, {told} supplier(s) told")
    services.close()
