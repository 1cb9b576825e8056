"""Answers Chalice gives by itself, before any handler runs, come back in the API's one error shape
over HTTP on chalice local: a method the route does not have (405, with Allow) and a Content-Type the
route does not take (415). Both are JSON, never sniffed, never cached."""
from __future__ import annotations

import pytest
import requests

pytestmark = pytest.mark.e2e


def assert_error_shape(response: requests.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"code", "message"} and body["code"] == code and body["message"]
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(("method", "path", "allowed"), [
    ("DELETE", "/agency/settings", {"GET", "PATCH"}),
    ("PUT", "/access-requests", {"POST"}),
    ("POST", "/access", {"GET"}),
])
def test_a_method_the_route_lacks_is_405_in_our_error_shape(stack, method, path, allowed):
    response = stack.agency().request(method, f"{stack.api_url}{path}")
    assert_error_shape(response, 405, "method_not_allowed")
    assert set(response.headers["Allow"].replace(" ", "").split(",")) == allowed


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"])
def test_a_body_the_route_does_not_take_is_415_in_our_error_shape(stack, content_type):
    response = stack.agency().post(f"{stack.api_url}/agency/citizen-links", data=b"phone=1",
                                   headers={"Content-Type": content_type})
    assert_error_shape(response, 415, "unsupported_media_type")
    assert content_type in response.json()["message"]


def test_a_json_body_still_reaches_the_handler(stack):
    response = stack.agency().post(f"{stack.api_url}/agency/citizen-links", data=b"[]",
                                   headers={"Content-Type": "application/json"})
    assert_error_shape(response, 400, "malformed_json")
