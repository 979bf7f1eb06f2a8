"""The supplier's pages: its profile (public text, CPV codes with suggestions, where it works, size,
contacts and the private fields only it sees), and the needs ranked for it, explained.

After a save the supplier lands on its needs, ranked from the profile just stored: the ranking reads the
profile from the database, so it is never the one from before the save.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.deps import ServicesDep
from api.web_pages import page_principal, problems, refused, render
from api.web_security import verify_form
from api.web_views import labelled_codes, result_views, split_list
from service import shortlists, supplier_profiles
from service.access import Denied, Principal
from service.container import Services
from service.errors import InvalidInput, NotFound
from service.supplier_profiles import ProfileForm
from store.repository import SUPPLIERS

router = APIRouter(include_in_schema=False, dependencies=[Depends(verify_form)])
Short = Annotated[str, Form(max_length=500)]
Long = Annotated[str, Form(max_length=20_000)]
PROFILE = "/ui/my/profile"
NEEDS_FOR_YOU = "/ui/my/needs-for-you"


def _page(
    request: Request, services: Services, principal: Principal, form: ProfileForm, stored: bool, code: int = 200, **extra: Any
) -> HTMLResponse:
    context = {
        "form": form,
        "stored": stored,
        "errors": [],
        "suggestions": [],
        "codes": labelled_codes(form.cpv_codes, services.catalog),
    }
    return render(request, "my_profile.html", principal, code, **(context | extra))


@router.get(PROFILE, response_model=None)
def profile(request: Request, services: ServicesDep) -> Response:
    principal = page_principal(request, services)
    try:
        form, stored = supplier_profiles.current_form(services, principal)
    except Denied as exc:
        return refused(request, principal, exc)
    return _page(request, services, principal, form, stored, suggestions=supplier_profiles.suggestions(services, form))


@router.post(PROFILE, response_model=None)
def save_profile(
    request: Request,
    services: ServicesDep,
    description: Long = "",
    name: Short = "",
    cpv: Long = "",
    country: Short = "",
    region: Short = "",
    size: Short = "",
    website: Short = "",
    operating_countries: Short = "",
    operating_regions: Short = "",
    contact_name: Short = "",
    contact_email: Short = "",
    contact_phone: Short = "",
    notes: Long = "",
    private_description: Long = "",
    action: Short = "save",
    add_cpv: Short = "",
) -> Response:
    principal = page_principal(request, services)
    codes = list(dict.fromkeys([*split_list(cpv), *([add_cpv] if add_cpv else [])]))
    form = ProfileForm(
        name, description, codes, country, region, size, website, split_list(operating_countries), split_list(operating_regions),
        contact_name, contact_email, contact_phone, notes, private_description,
    )  # fmt: skip
    try:
        _current, stored = supplier_profiles.current_form(services, principal)
        if action != "save" or add_cpv:
            return _page(request, services, principal, form, stored, suggestions=supplier_profiles.suggestions(services, form))
        row = supplier_profiles.save(services, principal, form)
    except Denied as exc:
        return refused(request, principal, exc)
    except InvalidInput as exc:
        return _page(request, services, principal, form, stored, 422, errors=problems(exc))
    services.wait_indexed(SUPPLIERS, [row.key], timeout=10.0)  # searchable by advisers the moment they look
    return RedirectResponse(f"{NEEDS_FOR_YOU}?saved=1", status_code=status.HTTP_303_SEE_OTHER)


@router.get(NEEDS_FOR_YOU, response_model=None)
def needs_for_you(request: Request, services: ServicesDep, saved: bool = False) -> Response:
    principal = page_principal(request, services)
    try:
        supplier_id = supplier_profiles.own_supplier_id(principal)
        supplier, found = shortlists.needs_for_supplier(services, supplier_id, k=20)
    except Denied as exc:
        return refused(request, principal, exc)
    except NotFound:  # approved, profile not written yet
        return RedirectResponse(PROFILE, status_code=status.HTTP_303_SEE_OTHER)
    results = result_views(found, services.catalog)
    return render(request, "needs_for_you.html", principal, supplier=supplier, results=results, saved=saved)
