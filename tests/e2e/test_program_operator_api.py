"""The improvement program's operator routes over HTTP on the local stack, the main path: a contract
makes the agency a participant, terms are published (hashed by the server) and accepted by the
agency's admin, a use case is created and announced, its activation is refused (the notice runs 30
days; day 30 is covered by tests/unit/test_program_operator.py with a fixed clock), the agency reads
it as announced; its withdrawal is listed by due date; the contract's end is recorded; terms are
retired; agency keys get 403 and bad bodies 400. Each change is in the audit log."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.domain.program import terms_hash
from tests.e2e.test_sharing_api import new_agency

pytestmark = pytest.mark.e2e
DOC = "Program terms, Tier 2 <i>(broader use)</i>."
USE_CASE = {"title": "Redaction <b>model</b>", "purpose": "Improve automatic face blurring",
            "data_types": ["video", "image"], "technique": "de-identification", "retention": "90 days"}


def test_contract_terms_use_case_and_requests_on_the_operator_api(stack):
    agency_id, admin_key = new_agency("Program Operator PD")
    api, today = f"{stack.api_url}/operator/program", datetime.now(timezone.utc).date()
    op, admin = stack.agency(stack.local.seed.operator_key), stack.agency(admin_key)

    signed = op.post(f"{api}/agencies/{agency_id}/contracts",
                     json={"country": "US", "executed_on": "2021-05-01", "includes_program_terms": True})
    assert signed.status_code == 201, signed.text
    contract_id = signed.json()["contract_id"]
    assert admin.get(f"{stack.api_url}/agency/program").json()["tier"] == "tier_1"

    version = f"t2-{uuid.uuid4().hex[:8]}"
    terms = op.post(f"{api}/terms", json={"version": version, "document": DOC, "deletion_days": 20})
    assert terms.status_code == 201, terms.text
    assert terms.json()["sha256"] == terms_hash(DOC) and terms.json()["document"] == DOC
    accepted = admin.post(f"{stack.api_url}/agency/program/tier2",
                          json={"terms_version": version, "sha256": terms_hash(DOC)})
    assert accepted.status_code == 201, accepted.text

    made = op.post(f"{api}/use-cases", json=USE_CASE)
    assert made.status_code == 201 and made.json()["state"] == "draft", made.text
    use_case = made.json()["use_case_id"]
    announced = op.post(f"{api}/use-cases/{use_case}/announce")
    effective = (today + timedelta(days=30)).isoformat()
    assert (announced.status_code, announced.json()["effective_on"]) == (200, effective), announced.text
    early = op.post(f"{api}/use-cases/{use_case}/activate")
    assert (early.status_code, early.json()["code"], early.json()["details"]) == (
        409, "notice_period_running", {"effective_on": effective})
    view = admin.get(f"{stack.api_url}/agency/program").json()
    mine = [v for v in view["use_cases_announced"] if v["use_case_id"] == use_case]
    assert [(v["title"], v["effective_on"]) for v in mine] == [("Redaction <b>model</b>", effective)]
    listed = [u for u in op.get(f"{api}/use-cases").json()["items"] if u["use_case_id"] == use_case]
    assert [(u["applying"], u["upcoming"]) for u in listed] == [(None, 1)]

    left = admin.post(f"{stack.api_url}/agency/program/withdrawal")
    assert left.status_code == 201, left.text
    requests_ = op.get(f"{api}/requests").json()["items"]
    assert [r["days_left"] for r in requests_ if r["request_id"] == left.json()["request_id"]] == [30]
    assert [r["due_on"] for r in requests_] == sorted(r["due_on"] for r in requests_)

    ended = op.post(f"{api}/agencies/{agency_id}/contracts/{contract_id}/end", json={"ended_on": today.isoformat()})
    assert ended.status_code == 200 and ended.json()["withdrawal"] is None, ended.text  # already leaving
    again = op.post(f"{api}/agencies/{agency_id}/contracts/{contract_id}/end", json={"ended_on": today.isoformat()})
    assert (again.status_code, again.json()["code"]) == (409, "contract_ended")
    assert op.post(f"{api}/terms/{version}/retire").json()["retired_at"]
    assert op.post(f"{api}/use-cases/{use_case}/retire").json()["items"][0]["state"] == "retired"

    agency_log = [e["action"] for e in stack.audit(admin_key, target=f"contract:{contract_id}")["items"]]
    assert agency_log == ["program.contract_recorded", "program.contract_ended"]


@pytest.mark.parametrize("method, path, body", [
    ("POST", "/terms", {"version": "v1", "document": "x", "sha256": "0" * 64}),
    ("POST", "/terms", {"version": "v 1", "document": "x"}),
    ("POST", "/terms", {"version": "v1", "document": "x", "deletion_days": 0}),
    ("POST", "/use-cases", {**USE_CASE, "data_types": []}),
    ("POST", "/use-cases", {**USE_CASE, "title": "x" * 201}),
    ("POST", "/use-cases", {**USE_CASE, "state": "active"}),
])
def test_bad_operator_bodies_are_400(stack, method, path, body):
    op = stack.agency(stack.local.seed.operator_key)
    refused = op.request(method, f"{stack.api_url}/operator/program{path}", json=body)
    assert (refused.status_code, refused.json()["code"]) == (400, "validation_error"), refused.text


def test_agency_keys_and_unknown_ids_are_refused(stack):
    api, op = f"{stack.api_url}/operator/program", stack.agency(stack.local.seed.operator_key)
    for method, path in (("GET", "/requests"), ("GET", "/use-cases"), ("POST", "/terms"), ("POST", "/use-cases"),
                         ("POST", f"/agencies/{stack.agency_id}/contracts")):
        refused = stack.agency(stack.admin_key).request(method, f"{api}{path}", json={})
        assert (refused.status_code, refused.json()["code"]) == (403, "operator_only")
    assert op.post(f"{api}/agencies/{'0' * 26}/contracts", json={
        "country": "US", "executed_on": "2021-05-01", "includes_program_terms": True}).status_code == 404
    assert op.post(f"{api}/use-cases/{'0' * 26}/announce").json()["code"] == "use_case_not_found"
    assert op.post(f"{api}/use-cases/{'0' * 26}/launch").status_code == 404
    assert op.post(f"{api}/terms/nope/retire").json()["code"] == "terms_unknown"
    garbage = op.post(f"{api}/terms", data="{nope", headers={"Content-Type": "application/json"})
    assert (garbage.status_code, garbage.json()["code"]) == (400, "malformed_json")
