"""Sharing between agencies over HTTP on the local stack: the demo agency shares a case with a
second agency, which lists and downloads it (same SHA-256); a third agency gets 404; revocation
makes it 404 at once; both audit logs show the share, the view and the revocation."""
from __future__ import annotations

import hashlib

import pytest
import requests

from tests.e2e.test_agency_review_api import sent
from tests.e2e.test_citizen_links_api import JPEG

pytestmark = pytest.mark.e2e


def new_agency(name):
    """An agency on OSP 7+ with an admin key (created in-process, as the operator CLI does)."""
    from chalicelib import bootstrap
    from chalicelib.domain.licensing import LicenseKind
    from chalicelib.domain.models import Role
    from chalicelib.services import agencies

    agency = agencies.create_agency(name, "US", license=LicenseKind.OSP7_PLUS, deps=bootstrap.deps())
    return agency.agency_id, agencies.issue_key(agency.agency_id, Role.AGENCY_ADMIN, "admin", deps=bootstrap.deps())[1]


@pytest.fixture(scope="module")
def agencies_(stack):
    return {"second": new_agency("Shelbyville PD"), "third": new_agency("Capital City PD")}


def verified_submission(stack, case_ref):
    sid = sent(stack, case_ref=case_ref)
    url = f"{stack.api_url}/agency/submissions/{sid}"
    stack.wait_for(lambda: stack.agency().get(url).json()["files"][0]["sha256"], timeout=30, what="the file check")
    return sid


def share(stack, body):
    return stack.agency(stack.admin_key).post(f"{stack.api_url}/agency/shares", json=body)


def test_a_shared_case_is_downloaded_by_the_recipient_and_revocation_ends_it_at_once(stack, agencies_):
    (second_id, second_key), (_, third_key) = agencies_["second"], agencies_["third"]
    sid = verified_submission(stack, "SHARE-E2E-1")
    made = share(stack, {"recipient_agency_id": second_id, "case_ref": "SHARE-E2E-1"})
    assert made.status_code == 201, made.text
    share_id = made.json()["share_id"]
    second, third = stack.agency(second_key), stack.agency(third_key)
    assert share_id in [s["share_id"] for s in second.get(f"{stack.api_url}/agency/shared").json()["items"]]
    listed = second.get(f"{stack.api_url}/agency/shared/{share_id}/submissions").json()["items"]
    assert [i["submission_id"] for i in listed] == [sid]
    item_url = f"{stack.api_url}/agency/shared/{share_id}/submissions/{sid}"
    item = second.get(item_url).json()
    assert item["origin"] == "shared" and item["original_origin"] == "citizen_link"
    assert item["shared_by"]["agency_id"] == stack.agency_id and "review" not in item
    file, = item["files"]
    assert hashlib.sha256(requests.get(file["download_url"]).content).hexdigest() == file["sha256"] \
        == hashlib.sha256(JPEG).hexdigest()
    assert third.get(item_url).json()["code"] == "share_not_found"
    assert third.get(item_url).status_code == 404
    assert second.get(f"{stack.api_url}/agency/submissions/{sid}").status_code == 404  # not copied to it
    revoked = stack.agency(stack.admin_key).delete(f"{stack.api_url}/agency/shares/{share_id}")
    assert revoked.status_code == 200 and revoked.json()["state"] == "revoked"
    after = second.get(item_url)
    assert after.status_code == 404 and after.json()["code"] == "share_revoked"
    wanted = ["share.created", "shared_submission.viewed", "share.revoked"]
    for key in (stack.admin_key, second_key):
        entries = [e for target in (f"share:{share_id}", f"submission:{sid}")
                   for e in stack.audit(key, target=target, limit=200)["items"]]  # the demo agency's log is long
        ordered = sorted(entries, key=lambda e: e["seq"])
        mine = [e["action"] for e in ordered if e["details"].get("share_id") == share_id]
        assert mine == wanted, (key, mine)


@pytest.mark.parametrize("body, status, code", [
    ({"recipient_agency_id": "0" * 26, "case_ref": "SHARE-E2E-1"}, 404, "agency_not_found"),
    ({"recipient_agency_id": "SELF", "case_ref": "SHARE-E2E-1"}, 400, "share_with_self"),
    ({"recipient_agency_id": "SECOND", "submission_id": "0" * 26}, 404, "submission_not_found"),
    ({"recipient_agency_id": "SECOND", "case_ref": "NO-SUCH-CASE"}, 404, "case_not_found"),
    ({"recipient_agency_id": "SECOND", "case_ref": "SHARE-E2E-1", "until": "2001-01-01T00:00:00Z"},
     400, "until_in_past"),
    ({"recipient_agency_id": "SECOND", "case_ref": "SHARE-E2E-1", "origin": "citizen_link"}, 400, "validation_error"),
    ({"recipient_agency_id": "SECOND"}, 400, "validation_error"),
])
def test_bad_shares_get_a_json_4xx(stack, agencies_, body, status, code):
    body = {**body, "recipient_agency_id": {"SELF": stack.agency_id, "SECOND": agencies_["second"][0]}.get(
        body["recipient_agency_id"], body["recipient_agency_id"])}
    refused = share(stack, body)
    assert (refused.status_code, refused.json()["code"]) == (status, code)


def test_garbage_json_bad_ids_other_callers_and_operators_are_refused(stack, agencies_):
    api, admin = stack.api_url, stack.agency(stack.admin_key)
    garbage = admin.post(f"{api}/agency/shares", data="{nope", headers={"Content-Type": "application/json"})
    assert (garbage.status_code, garbage.json()["code"]) == (400, "malformed_json")
    assert admin.delete(f"{api}/agency/shares/not-an-id").status_code == 404
    assert stack.agency().post(f"{api}/agency/shares", json={"recipient_agency_id": agencies_["second"][0],
                                                             "case_ref": "SHARE-E2E-1"}).status_code == 403
    second = stack.agency(agencies_["second"][1])
    assert second.get(f"{api}/agency/shared/{'0' * 26}/submissions").status_code == 404
    assert second.get(f"{api}/agency/shared/bad/submissions/bad").status_code == 404
    operator = stack.agency(stack.local.seed.operator_key)
    for method, path in (("GET", "/agency/shares"), ("GET", "/agency/shared"), ("POST", "/agency/shares")):
        assert operator.request(method, f"{api}{path}", json={}).status_code == 403


def test_the_operator_directory_lists_agencies_and_refuses_agency_keys(stack, agencies_):
    operator = stack.agency(stack.local.seed.operator_key)
    seen, after = [], None
    while True:
        query = {"limit": 50, **({"next": after} if after else {})}
        page = operator.get(f"{stack.api_url}/operator/agencies", params=query)
        assert page.status_code == 200, page.text
        seen += page.json()["items"]
        if not (after := page.json()["next"]):
            break
    ids = {a["agency_id"] for a in seen}
    assert {agencies_["second"][0], agencies_["third"][0]} <= ids
    assert set(seen[0]) == {"agency_id", "name", "country"}
    assert stack.agency(stack.admin_key).get(f"{stack.api_url}/operator/agencies").status_code == 403
