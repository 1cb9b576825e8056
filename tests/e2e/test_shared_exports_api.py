"""Exporting shared items over HTTP on the local stack: the demo agency shares a case, the recipient
exports it to download links through the queue worker (rows `shared`, the owner's SHA-256s, the
downloaded bytes hash the same), a third agency and the operator are refused, and after the
revocation a new export is refused and the finished one gives no more URLs."""
from __future__ import annotations

import hashlib

import pytest
import requests

from tests.e2e.test_citizen_links_api import JPEG
from tests.e2e.test_sharing_api import new_agency, share, verified_submission

pytestmark = pytest.mark.e2e
CASE = "SHARED-EXPORT-E2E-1"


def wait_done(stack, session, export_id):
    url = f"{stack.api_url}/agency/exports/{export_id}"
    return stack.wait_for(lambda: (v := session.get(url).json())["status"] in ("done", "failed") and v,
                          timeout=60, what="the export to finish")


def test_a_recipient_exports_a_shared_case_and_revocation_ends_it(stack):
    (second_id, second_key), (_, third_key) = new_agency("Ogdenville PD"), new_agency("North Haverbrook PD")
    sid = verified_submission(stack, CASE)
    owner_view = stack.agency().get(f"{stack.api_url}/agency/submissions/{sid}").json()
    recorded = {f["file_id"]: f["sha256"] for f in owner_view["files"]}
    made = share(stack, {"recipient_agency_id": second_id, "case_ref": CASE})
    assert made.status_code == 201, made.text
    share_id = made.json()["share_id"]
    second, third = stack.agency(second_key), stack.agency(third_key)
    exports_url = f"{stack.api_url}/agency/exports"
    body = {"share_id": share_id, "target": {"type": "download_links"}}

    started = second.post(exports_url, json=body)
    assert started.status_code == 201, started.text
    assert (started.json()["share_id"], started.json()["shared_by_agency_id"]) == (share_id, stack.agency_id)
    view = wait_done(stack, second, started.json()["export_id"])
    assert view["status"] == "done" and view["items_done"] == view["items_total"] == len(recorded), view
    manifest = requests.get(view["downloads"]["manifest_json"]).json()
    assert (manifest["agency_id"], manifest["share_id"]) == (second_id, share_id)
    assert {r["file_id"]: r["sha256"] for r in manifest["rows"]} == recorded
    for row in manifest["rows"]:
        assert (row["origin"], row["shared_by_agency_id"], row["original_origin"], row["integrity"]) == (
            "shared", stack.agency_id, "citizen_link", "verified")
        assert row["sha256_on_export"] == row["sha256"] == hashlib.sha256(JPEG).hexdigest()
    for file in view["downloads"]["files"]:
        assert hashlib.sha256(requests.get(file["url"]).content).hexdigest() == recorded[file["file_id"]]

    for refused, status, code in (
            (third.post(exports_url, json=body), 404, "share_not_found"),
            (stack.agency().post(exports_url, json=body), 404, "share_not_found"),  # the owner is not its recipient
            (stack.agency(stack.local.seed.operator_key).post(exports_url, json=body), 403, "agency_only"),
            (second.post(exports_url, json={**body, "case_ref": "ANOTHER-CASE"}), 400, "case_not_in_share"),
            (second.post(exports_url, json={**body, "share_id": "0" * 26}), 404, "share_not_found"),
            (second.post(exports_url, json={**body, "origin": "citizen_link"}), 400, "validation_error")):
        assert (refused.status_code, refused.json()["code"]) == (status, code), refused.text

    owner_log = stack.audit(stack.admin_key, target=f"share:{share_id}", limit=200)["items"]
    assert [e["action"] for e in owner_log] == ["share.created", "shared_export.started",
                                                 "shared_export.downloaded"]
    assert owner_log[1]["details"]["export_id"] == started.json()["export_id"]
    mine = stack.audit(second_key, target=f"export:{started.json()['export_id']}", limit=200)["items"]
    assert [e["action"] for e in mine] == ["export.started", "export.completed", "export.downloaded"]

    assert stack.agency(stack.admin_key).delete(f"{stack.api_url}/agency/shares/{share_id}").status_code == 200
    after = second.post(exports_url, json=body)
    assert (after.status_code, after.json()["code"]) == (404, "share_revoked")
    finished = second.get(f"{exports_url}/{started.json()['export_id']}").json()
    assert finished["downloads"] is None and finished["downloads_withheld"]["code"] == "share_revoked"


def test_an_agency_that_may_no_longer_receive_shares_cannot_export_one_either(stack):
    from chalicelib import bootstrap
    from chalicelib.services import licensing

    recipient_id, recipient_key = new_agency("Shelbyville PD")
    verified_submission(stack, "SHARED-EXPORT-E2E-2")
    made = share(stack, {"recipient_agency_id": recipient_id, "case_ref": "SHARED-EXPORT-E2E-2"})
    assert made.status_code == 201, made.text
    licensing.set_license(recipient_id, "none", deps=bootstrap.deps())  # its licence lapsed: a first-time agency
    refused = stack.agency(recipient_key).post(f"{stack.api_url}/agency/exports", json={
        "share_id": made.json()["share_id"], "target": {"type": "download_links"}})
    assert (refused.status_code, refused.json()["code"]) == (403, "cannot_receive_shares"), refused.text
