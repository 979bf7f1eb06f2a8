"""Posting the pages' forms as a browser would: the CSRF token from the page, our own Origin."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

ORIGIN = {"Origin": "http://testserver"}  # TestClient's own origin


def form_token(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "the page has no form token"
    return found.group(1)


def post_form(browser: TestClient, page_path: str, action: str, data: dict[str, Any], **kwargs: Any) -> Any:
    """Open the page, then post its form with the token it carries."""
    token = form_token(browser.get(page_path).text)
    return browser.post(action, data={**data, "csrf_token": token}, headers=ORIGIN, **kwargs)


def sign_in(browser: TestClient, key: str, next: str = "/") -> Any:
    return post_form(browser, "/ui/login", "/ui/login", {"key": key, "next": next}, follow_redirects=False)


def signed_in_browser(services: Any, role: str, **acts_for: str) -> TestClient:
    """A new browser signed in with a new key of this role (the caller closes it: ``__exit__``)."""
    from api.main import create_app
    from service.keys import create_key

    key = create_key(services.engine, role, label=f"{role} tester", **acts_for)[0]
    browser = TestClient(create_app(services=services)).__enter__()
    assert sign_in(browser, key).status_code == 303
    return browser
