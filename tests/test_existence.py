"""A reader learns nothing about needs it may not see: a hidden need answers exactly like a missing one."""

from fastapi.testclient import TestClient

from api.main import create_app
from service.container import Services
from tests.builders import NEEDS


def _same(hidden, missing) -> None:  # type: ignore[no-untyped-def]
    assert hidden.status_code == missing.status_code == 404
    assert hidden.text.replace("need-closed", "ID") == missing.text.replace("need-absent", "ID")


def test_a_closed_need_and_a_missing_one_look_alike_to_a_visitor(services: Services, client: TestClient) -> None:
    assert client.post("/needs", json={**NEEDS[0], "id": "need-closed", "status": "closed"}).status_code == 201
    with TestClient(create_app(services=services)) as visitor:
        _same(visitor.get("/needs/need-closed"), visitor.get("/needs/need-absent"))
        _same(visitor.get("/ui/needs/need-closed"), visitor.get("/ui/needs/need-absent"))
        for path in ("/needs/{}/shortlist", "/needs/{}/readiness", "/needs/{}/feedback", "/needs/{}/audit"):
            hidden, missing = visitor.get(path.format("need-closed")), visitor.get(path.format("need-absent"))
            assert hidden.status_code == missing.status_code == 401 and hidden.text == missing.text
    assert client.get("/needs/need-closed").status_code == 200  # a key holder sees it
