"""The conformance hook the e2e and integration tests run on every answer (tests/conformance.py):
it fails a call whose JSON body or status is not what the document states, and leaves alone what
the app did not make or does not document as JSON. Checked here against the app's own document."""
from __future__ import annotations

import json

import pytest
import requests

import app as application
from chalicelib import openapi
from tests.conformance import Conformance, Nonconforming, template_pattern

API = "http://127.0.0.1:9"
APP_HEADERS = {"Content-Type": "application/json", "Strict-Transport-Security": "max-age=1"}


@pytest.fixture(scope="module")
def conformance() -> Conformance:
    return Conformance(API, document=json.loads(json.dumps(openapi.document(application.app))))


def answer(method: str, path: str, status: int, body: object,
           headers: dict[str, str] | None = None) -> requests.Response:
    response = requests.Response()
    response.request = requests.Request(method, API + path).prepare()
    response.status_code = status
    response.headers.update(APP_HEADERS if headers is None else headers)
    response._content = json.dumps(body).encode()
    return response


KEY = {"key_id": "k1", "role": "officer", "label": "desk", "created_at": "2026-01-01T00:00:00Z",
       "last_used_at": None, "revoked_at": None, "revoked_by": None}


def test_an_answer_as_documented_passes(conformance):
    conformance.hook(answer("GET", "/agency/keys", 200, {"items": [KEY], "next": None}))
    conformance.hook(answer("DELETE", "/agency/keys/k1", 404, {"code": "key_not_found", "message": "No key."}))


def test_a_body_unlike_its_model_fails_naming_path_status_and_field(conformance):
    with pytest.raises(Nonconforming, match=r"GET /agency/keys .* 200: .* at items/0: 'role' is a required"):
        conformance.hook(answer("GET", "/agency/keys", 200, {"items": [{k: v for k, v in KEY.items() if k != "role"}],
                                                             "next": None}))


def test_an_error_not_shaped_code_and_message_fails(conformance):
    with pytest.raises(Nonconforming, match="'code' is a required property"):
        conformance.hook(answer("GET", "/agency/settings", 403, {"message": "Forbidden"}))


def test_a_status_the_document_does_not_list_fails(conformance):
    with pytest.raises(Nonconforming, match="status not in the document"):
        conformance.hook(answer("POST", "/agency/citizen-links", 200, {}))


def test_answers_the_app_did_not_make_or_that_are_not_json_are_left_alone(conformance):
    conformance.hook(answer("GET", "/agency/settings", 403, {"message": "Forbidden"},
                            headers={"Content-Type": "application/json"}))  # chalice local's authorizer
    conformance.hook(answer("GET", "/access", 200, "<html>", headers={**APP_HEADERS, "Content-Type": "text/html"}))
    conformance.hook(answer("GET", "/no/such/route", 200, {"anything": 1}))


def test_path_templates_match_one_segment_per_parameter_and_literals_first(conformance):
    assert template_pattern("/c/{token}/files").fullmatch("/c/abc/files")
    assert not template_pattern("/c/{token}/files").fullmatch("/c/a/b/files")
    assert conformance.operation("get", "/transparency/confirm")[0] == "/transparency/confirm"
    assert conformance.operation("get", "/agency/shared/s1/submissions")[0] == "/agency/shared/{share_id}/submissions"
