"""Pages reached from links in alert e-mails, without signing in: stop the e-mails, confirm an address.

The link's own token (service/alert_links.py) is what authorises the change, so these POSTs need no
form token: a mail program's one-click unsubscribe (RFC 8058) posts straight to the link. Opening a
link only shows a page with a button, so a mail scanner that opens every link changes nothing.
"""

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from api.deps import ServicesDep
from api.web_pages import render
from service import alert_links, alert_settings
from service.access import ANONYMOUS

router = APIRouter(include_in_schema=False)
Id = Annotated[str, Query(max_length=80)]
Token = Annotated[str, Query(max_length=100)]
Address = Annotated[str, Query(max_length=254)]


@router.get("/ui/alerts/unsubscribe", response_class=HTMLResponse)
def unsubscribe_page(request: Request, services: ServicesDep, supplier: Id = "", token: Token = "") -> HTMLResponse:
    valid = alert_links.unsubscribe_ok(services.engine, supplier, token)
    return render(request, "alert_link.html", ANONYMOUS, 200 if valid else 404, action="unsubscribe", valid=valid, done=False)


@router.post("/ui/alerts/unsubscribe", response_class=HTMLResponse)
def unsubscribe(request: Request, services: ServicesDep, supplier: Id = "", token: Token = "") -> HTMLResponse:
    done = alert_settings.unsubscribe(services, supplier, token)
    return render(request, "alert_link.html", ANONYMOUS, 200 if done else 404, action="unsubscribe", valid=done, done=done)


@router.get("/ui/alerts/confirm", response_class=HTMLResponse)
def confirm_page(
    request: Request, services: ServicesDep, supplier: Id = "", address: Address = "", expires: int = 0, token: Token = ""
) -> HTMLResponse:
    valid = alert_links.confirm_ok(services.engine, supplier, address, expires, token, now=dt.datetime.now(dt.UTC))
    return render(
        request, "alert_link.html", ANONYMOUS, 200 if valid else 404, action="confirm", valid=valid, done=False, address=address
    )


@router.post("/ui/alerts/confirm", response_class=HTMLResponse)
def confirm(
    request: Request, services: ServicesDep, supplier: Id = "", address: Address = "", expires: int = 0, token: Token = ""
) -> HTMLResponse:
    done = alert_settings.confirm_contact(services, supplier, address, expires, token)
    return render(
        request, "alert_link.html", ANONYMOUS, 200 if done else 404, action="confirm", valid=done, done=done, address=address
    )
