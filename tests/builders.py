"""Small realistic records for tests."""

from __future__ import annotations

from typing import Any

SUPPLIERS: list[dict[str, Any]] = [
    {
        "id": "NO-BRC-900000001",
        "name": "Trygghetssensor AS",
        "description": (
            "Vi leverer fallsensorer og digitalt tilsyn for eldre som bor hjemme. Sensorene varsler hjemmetjenesten ved fall."
        ),
        "cpv_codes": ["33196200"],
        "country": "NO",
        "region": "NO081",
        "size": "small",
        "operating_countries": ["NO", "SE"],
    },
    {
        "id": "SE-BLV-5500000002",
        "name": "Snöfri AB",
        "description": "Vi utför snöröjning och halkbekämpning med eldrivna maskiner. Fossilfri vinterväghållning för kommuner.",
        "cpv_codes": ["90620000"],
        "country": "SE",
        "region": "SE331",
        "size": "medium",
        "operating_countries": ["SE", "NO"],
    },
    {
        "id": "GB-COH-10000003",
        "name": "Brightwave Learning Ltd",
        "description": "Adaptive maths learning platform for primary schools. Teachers see each pupil's progress.",
        "cpv_codes": ["48190000"],
        "country": "GB",
        "region": "UKD47",
        "size": "micro",
    },
]

NEEDS: list[dict[str, Any]] = [
    {
        "id": "need-1",
        "title": "Fallsensor for hjemmeboende eldre",
        "description": "Bergen kommune ønsker fallsensorer som varsler hjemmetjenesten når eldre faller hjemme.",
        "buyer": "Bergen kommune",
        "cpv_codes": ["33196000"],
        "country": "NO",
        "region": "NO0A2",
        "status": "open",
    },
    {
        "id": "need-2",
        "title": "Fossilfri snöröjning",
        "description": "Umeå kommun vill upphandla snöröjning med eldrivna maskiner.",
        "buyer": "Umeå kommun",
        "cpv_codes": ["90620000"],
        "country": "SE",
        "region": "SE331",
        "status": "planning",
    },
]


def key_headers(services: Any, role: str = "adviser", **acts_for: Any) -> dict[str, str]:
    """Headers carrying a new API key of this role (``supplier_id=`` or ``buyer=`` for those roles)."""
    from service.keys import create_key

    plaintext, _row = create_key(services.engine, role, label=f"test {role}", **acts_for)
    return {"Authorization": f"Bearer {plaintext}"}
