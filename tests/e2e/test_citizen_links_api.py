"""Citizen for Officers over HTTP on the local stack: officer -> SMS -> citizen -> S3 -> agency."""
from __future__ import annotations

import base64
import hashlib
import json

import pytest
import requests

pytestmark = pytest.mark.e2e

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01" + bytes(range(256)) * 4
MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x11" * 2048


def create_link(stack, **fields):
    body = {"case_ref": "CASE-E2E-1", "phone": "+15555550199"} | fields
    response = stack.agency().post(f"{stack.api_url}/agency/citizen-links", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def declare(page_url, *files):
    return requests.post(f"{page_url}/uploads", json={"files": list(files)})


def post_to_s3(upload, data):
    return requests.post(upload["url"], data=upload["fields"], files={"file": ("blob", data)})


def test_officer_link_sms_upload_and_agency_listing_end_to_end(stack):
    link = create_link(stack)
    assert link["deliveries"] == [{"channel": "sms", "status": "sent", "detail": link["deliveries"][0]["detail"]}]
    phone, text = stack.sms_messages()[-1]
    assert phone == "+15555550199" and link["url"] in text

    page = requests.get(link["url"])
    assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    session = requests.get(f"{link['url']}/session").json()
    assert session["agency_name"] == "Demo Police Department" and session["max_files"] == 50

    signed = declare(link["url"],
                     {"name": "door.jpg", "size": len(JPEG), "content_type": "image/jpeg", "caption": "front door"},
                     {"name": "street.mp4", "size": len(MP4), "content_type": "video/mp4"})
    assert signed.status_code == 200, signed.text
    uploads = signed.json()["uploads"]
    for upload, data in zip(uploads, [JPEG, MP4]):
        assert post_to_s3(upload, data).status_code == 201
    done = requests.post(f"{link['url']}/complete", json={})
    assert done.json() == {"submission_id": link["link_id"], "status": "submitted", "files": 2}

    def verified():
        listing = stack.agency().get(f"{stack.api_url}/agency/submissions", params={"case": "CASE-E2E-1"}).json()
        mine = [s for s in listing["items"] if s["submission_id"] == link["link_id"]]
        return mine and all(f["sha256"] for f in mine[0]["files"]) and mine[0]
    submission = stack.wait_for(verified, what="both files to be verified")
    assert submission["status"] == "submitted"
    by_name = {f["name"]: f for f in submission["files"]}
    assert by_name["door.jpg"]["sha256"] == hashlib.sha256(JPEG).hexdigest()
    assert by_name["street.mp4"]["sha256"] == hashlib.sha256(MP4).hexdigest()
    assert by_name["door.jpg"]["caption"] == "front door" and by_name["door.jpg"]["status"] == "verified"

    detail = stack.agency().get(f"{stack.api_url}/agency/submissions/{link['link_id']}").json()
    download = {f["name"]: f["download_url"] for f in detail["files"]}
    assert requests.get(download["door.jpg"]).content == JPEG


def test_the_presigned_post_policy_binds_key_type_exact_size_and_a_short_expiry(stack):
    link = create_link(stack)
    upload, = declare(link["url"], {"name": "a.jpg", "size": 1234, "content_type": "image/jpeg"}).json()["uploads"]
    policy = json.loads(base64.b64decode(upload["fields"]["policy"]))
    conditions = policy["conditions"]
    assert {"key": upload["fields"]["key"]} in conditions
    assert upload["fields"]["key"].startswith(f"agencies/{stack.agency_id}/cases/CASE-E2E-1/{link['link_id']}/")
    assert {"Content-Type": "image/jpeg"} in conditions
    assert ["content-length-range", 1234, 1234] in conditions
    assert {"success_action_status": "201"} in conditions
    assert any(c.get("bucket") for c in conditions if isinstance(c, dict))
    from datetime import datetime, timezone
    expires = datetime.strptime(policy["expiration"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    assert 0 < (expires - datetime.now(timezone.utc)).total_seconds() <= 15 * 60


def test_a_used_link_shows_the_friendly_page_and_refuses_more_uploads(stack):
    link = create_link(stack)
    upload, = declare(link["url"], {"name": "a.jpg", "size": len(JPEG), "content_type": "image/jpeg"}).json()["uploads"]
    post_to_s3(upload, JPEG)
    assert requests.post(f"{link['url']}/complete", json={}).status_code == 200
    page = requests.get(link["url"])
    assert page.status_code == 410 and "<h1" in page.text and "Traceback" not in page.text
    again = declare(link["url"], {"name": "b.jpg", "size": 10, "content_type": "image/jpeg"})
    assert again.status_code == 410 and again.json()["code"] == "link_used"


@pytest.mark.parametrize("body, status, code", [
    (b"{not json", 400, "malformed_json"),
    (b"[]", 400, "malformed_json"),
    (json.dumps({"phone": "+15555550123"}), 400, "validation_error"),
    (json.dumps({"case_ref": "C1", "phone": "5555550123"}), 400, "validation_error"),
    (json.dumps({"case_ref": "C1", "phone": "+15555550123", "expires_in_hours": "5"}), 400, "validation_error"),
    (json.dumps({"case_ref": "../etc", "phone": "+15555550123"}), 400, "validation_error"),
    (json.dumps({"case_ref": "C1", "phone": "+15555550123", "admin": True}), 400, "validation_error"),
])
def test_bad_link_requests_get_a_json_4xx(stack, body, status, code):
    response = stack.agency().post(f"{stack.api_url}/agency/citizen-links", data=body,
                                   headers={"Content-Type": "application/json"})
    assert response.status_code == status and response.json()["code"] == code and response.json()["message"]


@pytest.mark.parametrize("files, status, code", [
    ([{"name": "x.exe", "size": 10, "content_type": "application/x-msdownload"}], 415, "unsupported_media_type"),
    ([{"name": "x.jpg", "size": 0, "content_type": "image/jpeg"}], 400, "empty_file"),
    ([{"name": "x.jpg", "size": 51 * 1024**3, "content_type": "image/jpeg"}], 413, "file_too_large"),  # over 50 GiB
    ([{"name": "x.jpg", "size": 10, "content_type": "image/jpeg"}] * 51, 413, "too_many_files"),
    ([{"name": "x.jpg", "size": "10", "content_type": "image/jpeg"}], 400, "validation_error"),
    ([], 400, "validation_error"),
])
def test_bad_upload_requests_get_a_json_4xx_and_change_nothing(stack, files, status, code):
    link = create_link(stack)
    response = declare(link["url"], *files)
    assert (response.status_code, response.json()["code"]) == (status, code)
    assert requests.get(f"{link['url']}/session").json()["files_declared"] == 0


def test_unknown_tokens_get_404_json_and_a_friendly_page(stack):
    for path in ["/c/" + "x" * 43 + "/session", "/c/short/session"]:
        response = requests.get(stack.api_url + path)
        assert response.status_code == 404 and response.json()["code"] == "link_not_found"
    page = requests.get(stack.api_url + "/c/" + "x" * 43, headers={"Accept-Language": "es-MX"})
    assert page.status_code == 404 and 'lang="es"' in page.text


def test_calls_without_a_valid_key_are_refused(stack):
    url = f"{stack.api_url}/agency/submissions"
    assert requests.get(url).status_code == 401
    assert requests.get(url, headers={"Authorization": "Bearer cek_invented"}).status_code == 403


def test_another_agency_cannot_see_a_link_or_submission(stack):
    link = create_link(stack)
    upload, = declare(link["url"], {"name": "a.jpg", "size": len(JPEG), "content_type": "image/jpeg"}).json()["uploads"]
    post_to_s3(upload, JPEG)
    other_key = _other_agency_key(stack)
    other = stack.agency(other_key)
    for path in [f"/agency/citizen-links/{link['link_id']}", f"/agency/submissions/{link['link_id']}"]:
        response = other.get(stack.api_url + path)
        assert response.status_code == 404 and response.json()["code"].endswith("not_found")
        assert stack.agency().get(stack.api_url + path).status_code == 200
    assert other.get(f"{stack.api_url}/agency/submissions").json()["items"] == []


def _other_agency_key(stack):
    from chalicelib import bootstrap
    from chalicelib.domain.models import Role
    from chalicelib.services import agencies

    agency = agencies.create_agency("Other PD", "CA", deps=bootstrap.deps())
    return agencies.issue_key(agency.agency_id, Role.OFFICER, "other", deps=bootstrap.deps())[1]


def test_an_agency_admin_sets_the_link_lifetime_within_bounds(stack):
    admin = stack.agency(stack.admin_key)
    assert admin.patch(f"{stack.api_url}/agency/settings", json={"link_ttl_hours": 1000}).status_code == 400
    assert stack.agency().patch(f"{stack.api_url}/agency/settings", json={"link_ttl_hours": 24}).status_code == 403
    assert admin.patch(f"{stack.api_url}/agency/settings", json={"link_ttl_hours": 48}).json()["link_ttl_hours"] == 48
    admin.patch(f"{stack.api_url}/agency/settings", json={"link_ttl_hours": 72})
