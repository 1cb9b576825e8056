"""Every e2e and integration test is a conformance check too: each JSON answer the API gives over HTTP
is validated against what GET /openapi.json says that operation answers with that status (the
response schemas, errors included). A mismatch fails the test that made the call, naming the path,
status and what is wrong, so the document cannot drift from what the handlers return.

Installed by tests/conftest.py's `stack` fixture as a `requests` response hook on every session
(requests.get and friends make one too). Schemathesis' own calls are left to its checks
(tests/e2e/test_fuzz_api.py tallies them itself)."""
from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlparse

import pytest
import requests
from jsonschema import Draft202012Validator

FUZZ_HEADER = "X-Schemathesis-TestCaseId"
# Every answer the app makes carries its security headers (chalicelib/http.py NO_STORE). chalice local's
# own authorizer refusals do not: they stand in for API Gateway's, whose {code, message} shape
# infra/package_merge.yaml sets (tests/integration/test_deploy_package.py checks it).
APP_HEADER = "Strict-Transport-Security"


class Nonconforming(AssertionError):
    pass


class Conformance:
    """The document of the API at `api_url`, fetched on the first answer to check."""

    def __init__(self, api_url: str, document: dict[str, Any] | None = None) -> None:
        self.api_url = api_url.rstrip("/")
        self._document = document  # None: GET /openapi.json on first use
        self._operations: list[tuple[re.Pattern[str], str, dict[str, Any]]] | None = None
        self._components: dict[str, Any] = {}
        self.checked = 0

    def hook(self, response: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
        if self.applies(response):
            self.check(response)
        return response

    def applies(self, response: requests.Response) -> bool:
        request = response.request
        url = str(request.url or "")
        return (url.startswith(self.api_url + "/") and FUZZ_HEADER not in request.headers
                and APP_HEADER in response.headers
                and not url.startswith(self.api_url + "/openapi.json")
                and (response.headers.get("Content-Type") or "").startswith("application/json"))

    def check(self, response: requests.Response) -> None:
        method = str(response.request.method).lower()
        path = str(response.request.path_url).split("?")[0][len(self._prefix()):]
        found = self.operation(method, path)
        if found is None:  # a method or path the API does not have: Chalice's own 404/405 (tested elsewhere)
            return
        template, operation = found
        where = f"{method.upper()} {path} ({template}) answered {response.status_code}"
        documented = operation["responses"].get(str(response.status_code))
        if documented is None:
            raise Nonconforming(f"{where}: status not in the document: {response.text[:300]}")
        content = documented.get("content", {})
        schema = content.get("application/json", {}).get("schema") if "application/json" in content else \
            content.get("*/*", {}).get("schema")
        if schema is None:
            raise Nonconforming(f"{where}: JSON is not a documented media type ({sorted(content)})")
        try:
            body = response.json()
        except ValueError:
            raise Nonconforming(f"{where}: not JSON: {response.text[:300]}") from None
        error = next(iter(sorted(self._validator(schema).iter_errors(body), key=lambda e: e.path)), None)
        self.checked += 1
        if error is not None:
            at = "/".join(str(p) for p in error.absolute_path) or "(body)"
            raise Nonconforming(f"{where}: body does not match the document at {at}: {error.message[:400]}")

    def operation(self, method: str, path: str) -> tuple[str, dict[str, Any]] | None:
        for pattern, template, operations in self._load():
            if pattern.fullmatch(path) and method in operations:
                return template, operations[method]
        return None

    def _validator(self, schema: dict[str, Any]) -> Draft202012Validator:
        # $refs are "#/components/schemas/X": give the schema the document's components to resolve them in.
        return Draft202012Validator({**schema, "components": self._components})

    def _prefix(self) -> str:
        return urlparse(self.api_url).path

    def _load(self) -> list[tuple[re.Pattern[str], str, dict[str, Any]]]:
        if self._operations is None:
            document = self._document or requests.get(f"{self.api_url}/openapi.json", timeout=30).json()
            self._components = document["components"]
            # Literal segments before parameters: /agency/shares matches itself, not /agency/{x}.
            ordered = sorted(document["paths"], key=lambda t: [s.startswith("{") for s in t.split("/")])
            self._operations = [(template_pattern(t), t, document["paths"][t]) for t in ordered]
        return self._operations


def template_pattern(template: str) -> re.Pattern[str]:
    """/c/{token}/files -> a pattern where each {name} is one path segment."""
    parts = re.split(r"(\{[^}]+\})", template)
    return re.compile("".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts))


@contextmanager
def checking(api_url: str) -> Iterator[Conformance]:
    """While open, every requests session (requests.get included) checks the API's JSON answers."""
    conformance = Conformance(api_url)
    original = requests.Session.__init__

    def init(session: requests.Session) -> None:
        original(session)
        session.hooks["response"].append(conformance.hook)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(requests.Session, "__init__", init)
        yield conformance
