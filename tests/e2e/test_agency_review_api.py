"""Agency triage, retention, legal hold and custody routes over HTTP on the local stack."""
from __future__ import annotations

import pytest
import requests

from tests.e2e.test_citizen_links_api import JPEG, _other_agency_key, create_link, declare, post_to_s3

pytestmark = pytest.mark.e2e


def sent(stack, case_ref="REVIEW-1"):
    link = create_link(stack, case_ref=case_ref)
    upload, = declare(link["url"], {"name": "a.jpg", "size": len(JPEG), "content_type": "image/jpeg"}).json()["uploads"]
    post_to_s3(upload, JPEG)
    assert requests.post(f"{link['url']}/complete", json={}).status_code == 200
    return link["link_id"]


def test_an_officer_accepts_and_a_contradiction_needs_change(stack):
    sid = sent(stack)
    url = f"{stack.api_url}/agency/submissions/{sid}/review"
    officer = stack.agency()
    assert officer.get(f"{stack.api_url}/agency/submissions/{sid}").json()["review"]["state"] == "pending"
    assert officer.post(url, json={"decision": "accept"}).json()["review"]["state"] == "accepted"
    refused = officer.post(url, json={"decision": "decline", "reason": "x"})
    assert refused.status_code == 409 and refused.json()["code"] == "already_reviewed"
    changed = officer.post(url, json={"decision": "decline", "reason": "wrong case", "change": True})
    assert changed.json()["review"]["state"] == "declined"


@pytest.mark.parametrize("body, code", [
    ({"decision": "maybe"}, "validation_error"),
    ({"decision": "decline"}, "reason_required"),
    ({"decision": "accept", "change": "yes"}, "validation_error"),
])
def test_bad_reviews_get_a_json_4xx(stack, body, code):
    sid = sent(stack)
    response = stack.agency().post(f"{stack.api_url}/agency/submissions/{sid}/review", json=body)
    assert response.status_code == 400 and response.json()["code"] == code


def test_another_agency_cannot_review_hold_or_see_the_custody_of_a_submission(stack):
    sid = sent(stack)
    other = stack.agency(_other_agency_key(stack))
    base = f"{stack.api_url}/agency/submissions/{sid}"
    assert other.post(f"{base}/review", json={"decision": "accept"}).status_code == 404
    assert other.put(f"{base}/hold", json={"reason": "mine"}).status_code in (403, 404)
    audit = other.get(f"{stack.api_url}/agency/audit", params={"target": f"submission:{sid}"}).json()
    assert audit["items"] == []


@pytest.mark.parametrize("body", [
    {"default_days": -1}, {"default_days": 0}, {"default_days": 10**7}, {"default_days": "30"},
    {"default_days": 30, "by_case_type": {"Bad Type!": 3}}, {},
])
def test_absurd_retention_policies_are_refused(stack, body):
    response = stack.agency(stack.admin_key).put(f"{stack.api_url}/agency/retention", json=body)
    assert response.status_code == 400 and response.json()["code"] == "validation_error"


def test_holds_and_policy_changes_are_admin_only_and_audited(stack):
    admin, officer = stack.agency(stack.admin_key), stack.agency()
    assert officer.put(f"{stack.api_url}/agency/retention", json={"default_days": None}).status_code == 403
    assert admin.put(f"{stack.api_url}/agency/holds/cases/HOLD-E2E", json={"reason": "court order"}).status_code == 200
    assert admin.delete(f"{stack.api_url}/agency/holds/cases/HOLD-E2E").status_code == 200
    assert admin.delete(f"{stack.api_url}/agency/holds/cases/HOLD-E2E").status_code == 404
    actions = [e["action"] for e in stack.audit(stack.admin_key, target="case:HOLD-E2E")["items"]]
    assert actions == ["legal_hold.placed", "legal_hold.released"]


def test_the_audit_log_pages_and_refuses_bad_parameters(stack):
    officer = stack.agency()
    first = officer.get(f"{stack.api_url}/agency/audit", params={"limit": 2}).json()
    assert len(first["items"]) == 2 and first["next_after"] == first["items"][-1]["seq"]
    again = officer.get(f"{stack.api_url}/agency/audit", params={"after": first["next_after"], "limit": 1}).json()
    assert again["items"][0]["seq"] == first["next_after"] + 1
    for bad in [{"since": "yesterday"}, {"limit": "-1"}, {"after": "x"}]:
        response = officer.get(f"{stack.api_url}/agency/audit", params=bad)
        assert response.status_code == 400 and response.json()["code"] == "validation_error"


def test_audit_entries_record_where_the_action_came_from(stack):
    sid = sent(stack, case_ref="SOURCE-1")
    stack.agency().get(f"{stack.api_url}/agency/submissions/{sid}", headers={"User-Agent": "evidence-desk/2.1"})
    entries = stack.audit(target=f"submission:{sid}")
    viewed = [e for e in entries["items"] if e["action"] == "submission.viewed"]
    assert viewed and viewed[-1]["source"].startswith("ip:127.0.0.1") and "evidence-desk/2.1" in viewed[-1]["source"]
