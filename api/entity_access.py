"""How each kind of row is guarded and shown over the API (the rules are in service/access.py)."""

from __future__ import annotations

from typing import Any, Protocol

from pydantic import BaseModel

from service import access
from service.access import Principal
from store import models

PUBLIC_SUPPLIER_FIELDS = tuple(models.SupplierPublic.model_fields)
ADVISER_SUPPLIER_FIELDS = tuple(models.SupplierForAdvisers.model_fields)
OWN_SUPPLIER_FIELDS = tuple(models.SupplierOwn.model_fields)


class EntityAccess(Protocol):
    def statuses(self, p: Principal) -> tuple[str, ...] | None:
        """Statuses a list may show (None: all); raises Denied if the list is closed to ``p``."""

    def view(self, p: Principal, row: Any) -> dict[str, Any]: ...

    def check_read(self, p: Principal, row: Any) -> None: ...

    def check_write(self, p: Principal, entity_id: str, row: Any | None, payload: BaseModel) -> BaseModel: ...

    def check_delete(self, p: Principal, row: Any) -> None: ...


class SupplierAccess:
    def statuses(self, p: Principal) -> tuple[str, ...] | None:
        access.require_key(p)
        return None

    def view(self, p: Principal, row: Any) -> dict[str, Any]:
        fields = {"own": OWN_SUPPLIER_FIELDS, "advisers": ADVISER_SUPPLIER_FIELDS}.get(
            access.supplier_view(p, row.id), PUBLIC_SUPPLIER_FIELDS
        )
        return {f: getattr(row, f) for f in fields}

    def check_read(self, p: Principal, row: Any) -> None:
        access.require_key(p)

    def check_write(self, p: Principal, entity_id: str, row: Any | None, payload: BaseModel) -> BaseModel:
        access.check_supplier_write(p, entity_id)
        return payload

    def check_delete(self, p: Principal, row: Any) -> None:
        access.check_supplier_write(p, row.id)


class NeedAccess:
    def statuses(self, p: Principal) -> tuple[str, ...] | None:
        return None if p.role else tuple(sorted(access.OPEN_STATUSES))

    def view(self, p: Principal, row: Any) -> dict[str, Any]:
        return {f: getattr(row, f) for f in models.NeedPublic.model_fields}

    def check_read(self, p: Principal, row: Any) -> None:
        access.check_need_visible(p, row)

    def check_write(self, p: Principal, entity_id: str, row: Any | None, payload: BaseModel) -> BaseModel:
        values = payload.model_dump(exclude_unset=True)
        access.check_need_write(p, row, values)
        if p.role == "buyer" and isinstance(payload, models.NeedCreate) and "buyer" not in values:
            return payload.model_copy(update={"buyer": p.buyer})  # a buyer's need (created or replaced) stays its own
        return payload

    def check_delete(self, p: Principal, row: Any) -> None:
        access.check_need_write(p, row, {})
