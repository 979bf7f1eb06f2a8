"""The FastAPI application. Services are opened in the lifespan (or injected by tests), never at import."""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlmodel import Session, func, select
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.deps import ServicesDep
from api.entity_access import NeedAccess, SupplierAccess
from api.limits import BodyLimit, body_parse_reason
from api.routes.alerts import router as alerts_router
from api.routes.cpv import router as cpv_router
from api.routes.dialogue import router as dialogue_router
from api.routes.entities import entity_router
from api.routes.joint_dialogues import router as joint_dialogues_router
from api.routes.matching import router as matching_router
from api.routes.similar import router as similar_router
from api.schemas import ERROR_RESPONSES
from api.web import router as web_router
from api.web_alert_links import router as alert_link_pages
from api.web_alerts import router as alert_pages
from api.web_buyer import router as buyer_pages
from api.web_dialogues import router as dialogue_pages
from api.web_pages import refused_form_page
from api.web_people import router as people_pages
from api.web_security import FormRefused, SecurityHeaders
from api.web_supplier import router as supplier_pages
from service.access import Denied
from service.background import BackgroundWork
from service.container import Services, open_services
from service.errors import InvalidInput, NotFound
from service.mail_sender import MailSender, SmtpConfig
from service.settings import Settings, get_settings
from store import alert_queries, index_queries, models, outbox_queries, repository
from store.repository import NEEDS, SUPPLIERS, ConflictError

log = logging.getLogger(__name__)

DESCRIPTION = """Find the suppliers that can solve a public buyer's need — and the needs that concern a
supplier — across Swedish, Norwegian and English. Every result says why it was matched."""


def create_app(settings: Settings | None = None, services: Services | None = None) -> FastAPI:
    """The app; with ``services`` given (tests), the lifespan neither opens nor closes them."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        chosen = app.state.settings
        if services is not None:
            app.state.services = services
            work = (
                BackgroundWork(services, index=chosen.serve_indexer, sender=_mail_sender(services, chosen)).start()
                if services.indexing == "background"
                else None
            )
            yield
            if work is not None:
                work.stop()
            return
        opened = open_services(chosen, progress=True, indexing="background")
        app.state.services = opened
        work = BackgroundWork(opened, index=chosen.serve_indexer, sender=_mail_sender(opened, chosen)).start()
        try:
            yield
        finally:
            work.stop()
            opened.close()

    app = FastAPI(title="Matchmaker", version="0.1.0", description=DESCRIPTION, lifespan=lifespan)
    app.state.settings = settings or get_settings()
    app.include_router(
        entity_router(SUPPLIERS, "suppliers", models.SupplierCreate, models.SupplierUpdate, models.SupplierOwn, SupplierAccess()),
        responses=ERROR_RESPONSES,
    )
    app.include_router(
        entity_router(NEEDS, "needs", models.NeedCreate, models.NeedUpdate, models.NeedPublic, NeedAccess()),
        responses=ERROR_RESPONSES,
    )
    app.include_router(matching_router, responses=ERROR_RESPONSES)
    app.include_router(similar_router, responses=ERROR_RESPONSES)
    app.include_router(alerts_router, responses=ERROR_RESPONSES)
    app.include_router(cpv_router, responses=ERROR_RESPONSES)
    app.include_router(dialogue_router, responses=ERROR_RESPONSES)
    app.include_router(joint_dialogues_router, responses=ERROR_RESPONSES)
    app.include_router(web_router)
    app.include_router(alert_link_pages)
    app.include_router(alert_pages)
    app.include_router(people_pages)
    app.include_router(buyer_pages)
    app.include_router(supplier_pages)
    app.include_router(dialogue_pages)
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    _install_error_handlers(app)
    app.add_middleware(BodyLimit)
    app.add_middleware(SecurityHeaders)

    @app.get("/health", tags=["health"])
    def health(services: ServicesDep) -> dict[str, Any]:
        """Rows, what this process has indexed, how far it lags behind the change log, the index queue,
        the outgoing mail and the alerts still to deliver."""
        with Session(services.engine) as session:
            suppliers = session.exec(select(func.count()).select_from(models.Supplier)).one()
            needs = session.exec(select(func.count()).select_from(models.Need)).one()
            head = repository.current_revision(session)
            queue = index_queries.queue_state(session)
            mail = outbox_queries.mail_state(session)
            alerting = alert_queries.state(session)
        applied = services.applied_revision
        oldest = queue.oldest_pending_at
        return {
            "status": "ok",
            "process": os.getpid(),
            "model": services.embedder.name,
            "suppliers": suppliers,
            "needs": needs,
            "indexed": {"suppliers": services.suppliers.indexed(), "needs": services.needs.indexed()},
            "revision": {"applied": applied, "head": head, "lag": max(0, head - applied)},
            "queue": {
                "pending": queue.pending,
                "parked": queue.parked,
                "oldest_pending_seconds": round(_age_seconds(oldest), 1) if oldest else None,
            },
            "mail": {
                "pending": mail.pending,
                "parked": mail.parked,
                "oldest_pending_seconds": round(_age_seconds(mail.oldest_pending_at), 1) if mail.oldest_pending_at else None,
            },
            "alerts": {
                "jobs_pending": alerting.jobs_pending,
                "jobs_parked": alerting.jobs_parked,
                "webhooks_pending": alerting.webhooks_pending,
                "webhooks_parked": alerting.webhooks_parked,
            },
        }

    return app


def app_from_settings() -> FastAPI:
    """The app as configured by the environment: what each of ``serve --workers N``'s processes runs."""
    return create_app(get_settings())


def _mail_sender(services: Services, settings: Settings) -> MailSender:
    return MailSender(services.engine, SmtpConfig.from_settings(settings))


def _age_seconds(at: dt.datetime) -> float:
    at = at if at.tzinfo else at.replace(tzinfo=dt.UTC)  # SQLite hands datetimes back naive (stored as UTC)
    return (dt.datetime.now(dt.UTC) - at).total_seconds()


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(InvalidInput)
    async def invalid(_request: Request, exc: InvalidInput) -> JSONResponse:
        detail = [
            {"loc": list(p.loc), "msg": p.msg, "type": "value_error", **({"line": p.line} if p.line else {})}
            for p in exc.problems
        ]
        return JSONResponse(status_code=422, content={"detail": detail, **({"more": exc.more} if exc.more else {})})

    @app.exception_handler(StarletteHTTPException)
    async def unparsable_body(request: Request, exc: StarletteHTTPException) -> Response:
        """FastAPI answers 400 for a JSON body it cannot even decode (too deeply nested, not UTF-8);
        every other bad input is 422 with the field and the reason, so these are too."""
        reason = body_parse_reason(exc.__cause__) if exc.status_code == 400 else None
        if reason is None:
            return await http_exception_handler(request, exc)
        return JSONResponse(status_code=422, content={"detail": [{"loc": ["body"], "msg": reason, "type": "value_error"}]})

    @app.exception_handler(NotFound)
    async def not_found(_request: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse(status_code=404, content={"detail": str(exc)})

    @app.exception_handler(Denied)
    async def denied(_request: Request, exc: Denied) -> JSONResponse:
        if exc.anonymous:
            return JSONResponse(status_code=401, content={"detail": str(exc)}, headers={"WWW-Authenticate": "Bearer"})
        return JSONResponse(status_code=403, content={"detail": str(exc)})

    @app.exception_handler(FormRefused)
    async def form_refused(request: Request, exc: FormRefused) -> Response:
        return refused_form_page(request, str(exc))

    @app.exception_handler(ConflictError)
    async def conflict(_request: Request, exc: ConflictError) -> JSONResponse:
        return JSONResponse(status_code=409, content={"detail": str(exc)})
