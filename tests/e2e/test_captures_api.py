"""Agency capture over HTTP on the local stack: an officer declares files for a case, posts them to
S3 with the presigned forms, completes; the same ingest verifies them, and they are listed and
downloaded as agency_capture evidence with the SHA-256 of the bytes sent."""
from __future__ import annotations

import base64
import hashlib
import json

import pytest
import requests

from tests.e2e.test_citizen_links_api import JPEG, MP4, _other_agency_key, post_to_s3
from tests.e2e.test_licensing_api import operator, other_agency

pytestmark = pytest.mark.e2e

PHOTO = {"name": "scene.jpg", "size": len(JPEG), "content_type": "image/jpeg", "caption": "skid marks"}
VIDEO = {"name": "bodycam.mp4", "size": len(MP4), "content_type": "video/mp4"}


def start(stack, *files, case_ref="CAP-E2E-1", key=None, **extra):
    return stack.agency(key).post(f"{stack.api_url}/agency/captures",
                                  json={"case_ref": case_ref, "files": list(files or [PHOTO]), **extra})


def started(stack, *files, **extra):
    response = start(stack, *files, **extra)
    assert response.status_code == 201, response.text
    return response.json()


def complete(stack, capture_id, key=None):
    return stack.agency(key).post(f"{stack.api_url}/agency/captures/{capture_id}/complete", json={})


def test_an_officer_captures_two_files_that_are_listed_and_downloaded_unchanged(stack):
    capture = started(stack, PHOTO, VIDEO)
    assert capture["origin"] == "agency_capture" and capture["case_ref"] == "CAP-E2E-1"
    assert [f["name"] for f in capture["files"]] == ["scene.jpg", "bodycam.mp4"]
    for signed, data in zip(capture["files"], [JPEG, MP4]):
        assert set(signed["upload"]) == {"url", "fields", "expires_at"}
        assert post_to_s3(signed["upload"], data).status_code == 201
    done = complete(stack, capture["capture_id"])
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "submitted" and done.json()["review"]["state"] == "accepted"

    def verified():
        listing = stack.agency().get(f"{stack.api_url}/agency/submissions", params={"case": "CAP-E2E-1"}).json()
        mine = [s for s in listing["items"] if s["submission_id"] == capture["capture_id"]]
        return mine and len(mine[0]["files"]) == 2 and all(f["sha256"] for f in mine[0]["files"]) and mine[0]
    listed = stack.wait_for(verified, what="both captured files to be verified")
    assert listed["origin"] == "agency_capture" and listed["link_id"] == capture["capture_id"]

    view = stack.agency().get(f"{stack.api_url}/agency/submissions/{capture['capture_id']}").json()
    assert view["origin"] == "agency_capture"
    sent = {"scene.jpg": JPEG, "bodycam.mp4": MP4}
    for file in view["files"]:
        body = requests.get(file["download_url"]).content
        assert hashlib.sha256(body).hexdigest() == file["sha256"] == hashlib.sha256(sent[file["name"]]).hexdigest()

    audit = stack.audit(target=f"submission:{capture['capture_id']}")
    actions = [e["action"] for e in audit["items"]]
    assert actions[:2] == ["capture.started", "capture.completed"]
    assert {e["details"]["origin"] for e in audit["items"][:2]} == {"agency_capture"}


def test_the_capture_upload_policy_binds_key_type_exact_size_and_a_short_expiry(stack):
    signed, = started(stack, PHOTO)["files"]
    policy = json.loads(base64.b64decode(signed["upload"]["fields"]["policy"]))
    conditions = policy["conditions"]
    assert {"key": signed["upload"]["fields"]["key"]} in conditions
    assert ["content-length-range", len(JPEG), len(JPEG)] in conditions
    assert {"Content-Type": "image/jpeg"} in conditions
    key = signed["upload"]["fields"]["key"]
    assert "/cases/CAP-E2E-1/" in key and key.endswith("/" + signed["file_id"])


def test_more_files_can_be_declared_while_open_and_a_second_complete_is_refused(stack):
    capture = started(stack, PHOTO)
    more = stack.agency().post(f"{stack.api_url}/agency/captures/{capture['capture_id']}/files",
                               json={"files": [VIDEO]})
    assert more.status_code == 200 and [f["name"] for f in more.json()["files"]] == ["bodycam.mp4"]
    assert complete(stack, capture["capture_id"]).status_code == 200
    again = complete(stack, capture["capture_id"])
    assert again.status_code == 409 and again.json()["code"] == "capture_completed" and again.json()["message"]
    late = stack.agency().post(f"{stack.api_url}/agency/captures/{capture['capture_id']}/files",
                               json={"files": [PHOTO]})
    assert late.status_code == 409


@pytest.mark.parametrize("body, status, code", [
    (b"{not json", 400, "malformed_json"),
    (b"[]", 400, "malformed_json"),
    (json.dumps({"files": [PHOTO]}), 400, "validation_error"),
    (json.dumps({"case_ref": "../etc", "files": [PHOTO]}), 400, "validation_error"),
    (json.dumps({"case_ref": "C1", "files": [PHOTO], "origin": "citizen_link"}), 400, "validation_error"),
    (json.dumps({"case_ref": "C1", "files": [{**PHOTO, "origin": "shared"}]}), 400, "validation_error"),
    (json.dumps({"case_ref": "C1", "files": [{**PHOTO, "size": "10"}]}), 400, "validation_error"),
    (json.dumps({"case_ref": "C1", "files": [{**PHOTO, "file_id": "x"}]}), 400, "validation_error"),
    (json.dumps({"case_ref": "C1", "files": []}), 400, "validation_error"),
    (json.dumps({"case_ref": "C1", "files": [{**PHOTO, "content_type": "application/x-msdownload"}]}),
     415, "unsupported_media_type"),
    (json.dumps({"case_ref": "C1", "files": [{**PHOTO, "size": 0}]}), 400, "empty_file"),
    (json.dumps({"case_ref": "C1", "files": [{**PHOTO, "size": 5 * 1024**3}]}), 413, "file_too_large"),
    (json.dumps({"case_ref": "C1", "files": [PHOTO] * 51}), 413, "too_many_files"),
    (json.dumps({"case_ref": "C1", "files": [PHOTO], "pad": "x" * 70_000}), 413, "body_too_large"),
])
def test_bad_capture_requests_get_a_json_4xx_and_store_nothing(stack, body, status, code):
    before = stack.agency().get(f"{stack.api_url}/agency/submissions", params={"case": "C1"}).json()["items"]
    response = stack.agency().post(f"{stack.api_url}/agency/captures", data=body,
                                   headers={"Content-Type": "application/json"})
    assert (response.status_code, response.json()["code"]) == (status, code) and response.json()["message"]
    assert stack.agency().get(f"{stack.api_url}/agency/submissions", params={"case": "C1"}).json()["items"] == before


def test_capture_ids_of_another_agency_of_a_citizen_or_made_up_are_not_found(stack):
    capture = started(stack)
    link = stack.agency().post(f"{stack.api_url}/agency/citizen-links",
                               json={"case_ref": "CAP-E2E-2", "phone": "+15555550123"}).json()
    requests.post(f"{link['url']}/uploads", json={"files": [PHOTO]})
    other = _other_agency_key(stack)
    cases = [(other, capture["capture_id"]), (None, link["link_id"]), (None, "0" * 26), (None, "nonsense"),
             (None, "..%2F" + capture["capture_id"])]
    for key, capture_id in cases:
        for path in (f"/agency/captures/{capture_id}/complete", f"/agency/captures/{capture_id}/files"):
            body = {} if path.endswith("complete") else {"files": [PHOTO]}
            response = stack.agency(key).post(stack.api_url + path, json=body)
            assert response.status_code == 404 and response.json()["code"] == "capture_not_found", (capture_id, path)
    bad = stack.agency().post(f"{stack.api_url}/agency/captures/{capture['capture_id']}/complete", data=b"{x",
                              headers={"Content-Type": "application/json"})
    assert bad.status_code == 400 and bad.json()["code"] == "malformed_json"
    extra = stack.agency().post(f"{stack.api_url}/agency/captures/{capture['capture_id']}/complete", json={"at": 1})
    assert extra.status_code == 400 and extra.json()["code"] == "validation_error"


def test_operator_keys_and_missing_keys_are_refused(stack):
    assert start(stack, key=stack.local.seed.operator_key).status_code == 403
    assert operator(stack).post(f"{stack.api_url}/agency/captures/{'0' * 26}/complete", json={}).status_code == 403
    anonymous = requests.post(f"{stack.api_url}/agency/captures", json={"case_ref": "C1", "files": [PHOTO]})
    assert anonymous.status_code == 401


def test_a_first_time_agency_on_the_program_licence_is_refused_with_the_reason(stack):
    key, _ = other_agency(stack, "none")
    refused = start(stack, key=key)
    assert refused.status_code == 403 and refused.json()["code"] == "entitlement_missing"
    assert refused.json()["details"] == {"missing": "evidence_capture"}
    assert "evidence licence" in refused.json()["message"]
    assert stack.agency(key).get(f"{stack.api_url}/agency/license").json()["evidence_capture"] is False


def test_the_capture_page_is_public_html_under_a_strict_csp_with_no_key_in_it(stack):
    page = requests.get(f"{stack.api_url}/agency/capture")
    assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert page.headers["Referrer-Policy"] == "no-referrer" and page.headers["Cache-Control"] == "no-store"
    assert requests.get(f"{stack.api_url}/static/capture.js").status_code == 200
