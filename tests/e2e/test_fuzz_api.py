"""Fuzzing every route of GET /openapi.json with schemathesis over HTTP on the local stack (chalice
local + moto): each keyed route with an officer's, an agency admin's and an operator's key (every
generated input is sent once with each), each public route with none; valid and invalid inputs. No
response may be a 5xx, and every response must be one the document states (status and body schema).

Reproducible and bounded: hypothesis is derandomized (the same inputs every run), has no example
database, no deadline and no shrinking, and each operation gets a fixed number of inputs. The case
count and the 5xx count are printed whether the test passes or not. The fuzz changes system-wide
settings at random (quotas, program dates), so tests/conftest.py runs it after every other test."""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from tests.e2e.test_sharing_api import new_agency

pytestmark = pytest.mark.e2e
# Inputs generated per operation: valid ones, and invalid ones where there is a body or a query to
# break (an invalid path segment cannot be made: any string is one). Each input is sent once per role.
CASES = {GenerationMode.POSITIVE: 8, GenerationMode.NEGATIVE: 5}
MIN_CASES = 2000
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]


@dataclass
class Tally:
    inputs: int = 0
    cases: int = 0  # requests sent: an input with one role's key
    server_errors: list[str] = field(default_factory=list)
    nonconforming: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def keys(stack) -> dict[str, str]:
    """An agency of its own (the fuzz changes its settings and keys at random) and the operator."""
    from chalicelib import bootstrap
    from chalicelib.domain.models import Role
    from chalicelib.services import agencies

    agency_id, admin_key = new_agency("Fuzz PD")
    _, officer_key = agencies.issue_key(agency_id, Role.OFFICER, "fuzz officer", deps=bootstrap.deps())
    return {"officer": officer_key, "agency_admin": admin_key, "operator": stack.local.seed.operator_key}


def roles(keyed: bool, keys: dict[str, str]) -> dict[str, dict[str, str]]:
    """Role -> the headers it sends: every key on keyed routes (refusals are checked too), none on public ones."""
    if not keyed:
        return {"the public": {}}
    return {role: {"Authorization": f"Bearer {key}"} for role, key in keys.items()}


def modes(operation: Any) -> dict[GenerationMode, int]:
    raw = operation.definition.raw
    breakable = "requestBody" in raw or any(p["in"] == "query" for p in raw.get("parameters", []))
    return {mode: n for mode, n in CASES.items() if breakable or mode is GenerationMode.POSITIVE}


def fuzz(operation: Any, api_url: str, senders: dict[str, dict[str, str]], tally: Tally) -> None:
    session = requests.Session()
    for mode, count in modes(operation).items():
        @settings(max_examples=count, derandomize=True, database=None, deadline=None, phases=[Phase.generate],
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy(generation_mode=mode))
        def run(case: Any) -> None:
            tally.inputs += 1
            for role, headers in senders.items():
                send(case, role, headers, api_url, session, tally)
        try:
            run()
        except Unsatisfiable:  # every string query parameter and no body: nothing can be made invalid
            assert mode is GenerationMode.NEGATIVE


def send(case: Any, role: str, headers: dict[str, str], api_url: str, session: requests.Session,
         tally: Tally) -> None:
    label = f"{case.operation.method.upper()} {case.operation.path} as {role}"
    response = case.call(base_url=api_url, session=session, headers=headers, timeout=30)
    tally.cases += 1
    if response.status_code >= 500:
        tally.server_errors.append(f"{label}: {response.status_code} {response.text[:300]} <- "
                                   f"{case.as_curl_command()[:400]}")
        return
    try:
        case.validate_response(response, checks=CHECKS, headers=headers)
    except (AssertionError, FailureGroup) as failure:
        tally.nonconforming.append(f"{label}: {str(failure)[:600]}")


@pytest.mark.parametrize("email", ["IE{\u0019Bs>`j%{B@]0}vj4Y.gh", ";@\u0006\u0004}_\u0003T.ykguyUH", "a@b_c.org"])
def test_an_address_email_cannot_take_is_refused_before_sending_not_a_502(stack, email):
    """Found by this fuzz: such addresses reached SES, whose refusal came back as 502 delivery_failed."""
    response = requests.post(f"{stack.api_url}/transparency/subscriptions", json={"email": email}, timeout=30)
    assert (response.status_code, response.json()["code"]) == (400, "validation_error"), response.text
    link = stack.agency().post(f"{stack.api_url}/agency/citizen-links",
                               json={"case_ref": "FUZZ-1", "email": email}, timeout=30)
    assert (link.status_code, link.json()["code"]) == (400, "validation_error"), link.text


def test_every_documented_route_survives_fuzzing_with_every_role(stack, keys, capsys):
    document = requests.get(f"{stack.api_url}/openapi.json", timeout=30).json()
    keyed = {(path, method.upper()) for path, ops in document["paths"].items() for method, op in ops.items()
             if op.pop("security")}  # the keys are ours to send: schemathesis neither makes up nor drops one
    schema = schemathesis.openapi.from_dict(document)
    tally = Tally()
    operations = [result.ok() for result in schema.get_all_operations()]
    for operation in operations:
        started, before = time.monotonic(), tally.cases
        fuzz(operation, stack.api_url, roles((operation.path, operation.method.upper()) in keyed, keys), tally)
        print(f"{operation.method.upper()} {operation.path}: {tally.cases - before} cases "
              f"{time.monotonic() - started:.1f}s", file=sys.stderr)
    with capsys.disabled():  # the closing note quotes these figures: shown even when the test passes
        print(f"\nfuzz: {len(operations)} operations, {tally.inputs} generated inputs, {tally.cases} cases run "
              f"(input x role), {len(tally.server_errors)} responses >= 500, {len(tally.nonconforming)} not as "
              "documented")
        for problem in tally.server_errors + tally.nonconforming:
            print(problem)
    assert tally.server_errors == []
    assert tally.nonconforming == []
    assert tally.cases >= MIN_CASES
