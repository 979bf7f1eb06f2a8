"""The whole OpenAPI schema, fuzzed by schemathesis (a bounded, derandomised run): no 5xx, and every
response conforms to the schema (fake embedder, SQLite, an admin key)."""

from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import checks

from api.main import create_app
from service import writes
from service.container import open_services
from service.keys import create_key
from service.settings import Settings
from store.repository import NEEDS, SUPPLIERS
from tests.builders import NEEDS as NEED_ROWS
from tests.builders import SUPPLIERS as SUPPLIER_ROWS
from tests.fakes import HashingEmbedder

EXAMPLES = 25
# No 5xx, documented status codes, content types and bodies that match the schema. (Not "every
# schema-valid request is accepted": CPV check digits and "a need has a title or a description"
# are rules the schema cannot state, answered with a clear 422.)
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]
HEADERS: dict[str, str] = {}


@schemathesis.serializer("application/x-ndjson")
def _json_lines(_ctx, value) -> bytes:  # type: ignore[no-untyped-def]
    """Bulk imports take JSON lines; the generated body is a string, sent as is."""
    return value.encode("utf-8", "surrogatepass") if isinstance(value, str) else bytes(str(value), "utf-8")


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    import json

    services = open_services(Settings(home=Path(tmp_path_factory.mktemp("fuzz"))), embedder=HashingEmbedder())
    writes.import_records(services, SUPPLIERS, [json.dumps(r) for r in SUPPLIER_ROWS])
    writes.import_records(services, NEEDS, [json.dumps(r) for r in NEED_ROWS])
    plaintext, _row = create_key(services.engine, "admin", label="schemathesis")
    HEADERS["Authorization"] = f"Bearer {plaintext}"
    app = create_app(services=services)
    app.state.services = services  # schemathesis calls the app without running its lifespan
    return schemathesis.openapi.from_asgi("/openapi.json", app)


def test_every_operation_answers_within_its_schema(api_schema) -> None:  # type: ignore[no-untyped-def]
    """Each operation gets up to ``EXAMPLES`` generated requests; every failure is collected and shown."""
    failures: list[str] = []
    operations = 0
    calls: dict[int, int] = {}
    for result in api_schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck), database=None)
        def check(case) -> None:  # type: ignore[no-untyped-def]
            response = case.call_and_validate(headers=HEADERS, checks=CHECKS)
            calls[response.status_code] = calls.get(response.status_code, 0) + 1

        try:
            check()
        except (Exception, BaseExceptionGroup) as exc:  # every operation is tried; the report lists them all
            failures.append(f"{operation.label}: {str(exc)[:1500]}")
    print(f"schemathesis: {operations} operations, {sum(calls.values())} requests, by status {sorted(calls.items())}")
    assert operations > 20 and sum(calls.values()) > 5 * operations
    assert not failures, "\n\n".join(failures)
