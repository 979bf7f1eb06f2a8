"""A supplier keeps its own profile: the form's fields, validated as the API validates them, saved as a
whole (a newly approved supplier's first save creates it), with CPV codes suggested from its text."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session, select

from service import writes
from service.access import Denied, Principal, check_supplier_write, require_key
from service.container import Services
from service.cpv_suggestions import SuggestedCpv, suggest_cpv
from service.errors import FieldProblem, InvalidInput
from store import repository
from store.models import SupplierCreate
from store.people_models import Person
from store.repository import SUPPLIERS

OPTIONAL = (
    "name",
    "country",
    "region",
    "size",
    "website",
    "contact_name",
    "contact_email",
    "contact_phone",
    "notes",
    "private_description",
)


@dataclass(frozen=True)
class ProfileForm:
    """What the form holds; blank text is "not given"."""

    name: str = ""
    description: str = ""
    cpv_codes: list[str] = field(default_factory=list)
    country: str = ""
    region: str = ""
    size: str = ""
    website: str = ""
    operating_countries: list[str] = field(default_factory=list)
    operating_regions: list[str] = field(default_factory=list)
    contact_name: str = ""
    contact_email: str = ""
    contact_phone: str = ""
    notes: str = ""
    private_description: str = ""


def own_supplier_id(principal: Principal) -> str:
    require_key(principal)
    if principal.role != "supplier" or not principal.supplier_id:
        raise Denied("these pages are for suppliers (advisers edit suppliers through the API)")
    return principal.supplier_id


def current_form(services: Services, principal: Principal) -> tuple[ProfileForm, bool]:
    """The stored profile as a form, or (before the first save) what the registration said; and whether it is stored."""
    supplier_id = own_supplier_id(principal)
    with Session(services.engine) as session:
        row = repository.get(session, SUPPLIERS, supplier_id)
        if row is None:
            person = session.exec(select(Person).where(Person.handle == principal.prefix)).first()
            return ProfileForm(
                name=(person.organisation or "") if person else "", country=(person.country or "") if person else ""
            ), False
    values: dict[str, Any] = {f.name: "" if getattr(row, f.name) is None else getattr(row, f.name) for f in fields(ProfileForm)}
    return ProfileForm(**values), True


def save(services: Services, principal: Principal, form: ProfileForm) -> Any:
    """Validate and store the whole profile; a 422 names every bad field and nothing is written."""
    supplier_id = own_supplier_id(principal)
    check_supplier_write(principal, supplier_id)
    values: dict[str, Any] = {"id": supplier_id, "description": form.description}
    values |= {name: getattr(form, name).strip() for name in OPTIONAL if getattr(form, name).strip()}
    if values.get("country"):
        values["country"] = values["country"].upper()
    if values.get("region"):
        values["region"] = values["region"].upper()
    values["operating_countries"] = [c.strip().upper() for c in form.operating_countries if c.strip()]
    values["operating_regions"] = [r.strip().upper() for r in form.operating_regions if r.strip()]
    values["cpv_codes"] = writes.normalise_cpv(form.cpv_codes, services.catalog)
    try:
        payload = SupplierCreate.model_validate(values)
    except ValidationError as exc:
        raise InvalidInput([FieldProblem(tuple(str(x) for x in e["loc"]) or ("form",), e["msg"]) for e in exc.errors()]) from exc
    row, _created = writes.replace(services, SUPPLIERS, supplier_id, payload)
    return row


def suggestions(services: Services, form: ProfileForm) -> list[SuggestedCpv]:
    """Codes suggested from the public description, not yet chosen."""
    if not form.description.strip():
        return []
    chosen = set(form.cpv_codes)
    return [s for s in suggest_cpv(services, form.description, k=6) if s.code not in chosen]
