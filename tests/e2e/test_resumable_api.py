"""The resumable upload routes over HTTP on the local stack (files over 6 MiB go in 5 MiB parts):
sign parts, list what S3 holds, assemble, the per-file verdict; bad input and another link's file."""
from __future__ import annotations

import base64
import hashlib
import json

import pytest
import requests

pytestmark = pytest.mark.e2e

MIB = 1024 * 1024
MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"
SIZE = 11 * MIB + 5  # three parts: 5 MiB, 5 MiB, 1 MiB + 5


def video() -> bytes:
    return (MP4 + bytes(range(256)) * (SIZE // 256 + 1))[:SIZE]


def new_link(stack):
    response = stack.agency().post(f"{stack.api_url}/agency/citizen-links",
                                   json={"case_ref": "CASE-PARTS-1", "phone": "+15555550199"})
    assert response.status_code == 201, response.text
    return response.json()["url"]


def declare_big(page_url):
    response = requests.post(f"{page_url}/uploads", json={"files": [
        {"name": "clip.mp4", "size": SIZE, "content_type": "video/mp4"}]})
    assert response.status_code == 200, response.text
    (upload,) = response.json()["uploads"]
    return upload


def b64sha(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def put_part(page_url, file_id, number, data):
    signed = requests.post(f"{page_url}/uploads/{file_id}/parts",
                           json={"parts": [{"part_number": number, "sha256": b64sha(data)}]})
    assert signed.status_code == 200, signed.text
    (part,) = signed.json()["parts"]
    assert part["headers"] == {"x-amz-checksum-sha256": b64sha(data)}
    assert "x-amz-checksum-sha256" in part["url"].lower().replace("%3b", ";")  # a signed header
    sent = requests.put(part["url"], data=data, headers=part["headers"])
    assert sent.status_code == 200, sent.text
    return sent.headers["ETag"].strip('"')


def chunks(data):
    return [data[i:i + 5 * MIB] for i in range(0, len(data), 5 * MIB)]


def test_a_large_file_is_sent_in_parts_resumed_and_verified_with_the_browsers_hash(stack):
    page_url = new_link(stack)
    upload = declare_big(page_url)
    assert "url" not in upload and upload["multipart"] == {"part_size": 5 * MIB, "parts_total": 3}
    file_id, data = upload["file_id"], video()
    parts = chunks(data)
    etags = {1: put_part(page_url, file_id, 1, parts[0]), 3: put_part(page_url, file_id, 3, parts[2])}

    held = requests.get(f"{page_url}/uploads/{file_id}/parts").json()
    assert [p["part_number"] for p in held["parts"]] == [1, 3] and held["status"] == "awaiting_upload"
    early = requests.post(f"{page_url}/uploads/{file_id}/complete", json={})
    assert early.status_code == 409 and early.json()["code"] == "parts_missing"

    etags[2] = put_part(page_url, file_id, 2, parts[1])
    sha = hashlib.sha256(data).hexdigest()
    done = requests.post(f"{page_url}/uploads/{file_id}/complete", json={
        "sha256": sha, "parts": [{"part_number": n, "etag": e} for n, e in sorted(etags.items())]})
    assert done.status_code == 200, done.text

    def verdict():
        files = requests.get(f"{page_url}/files").json()["files"]
        return files if files[0]["status"] != "awaiting_upload" else None
    (file,) = stack.wait_for(verdict, what="the file's verdict")
    assert file["status"] == "verified" and file["sha256"] == sha
    again = requests.post(f"{page_url}/uploads/{file_id}/complete", json={"sha256": sha})
    assert again.status_code == 200 and again.json()["status"] == "verified"


def test_a_complete_with_a_foreign_part_is_refused(stack):
    page_url = new_link(stack)
    upload = declare_big(page_url)
    for number, data in enumerate(chunks(video()), 1):
        put_part(page_url, upload["file_id"], number, data)
    refused = requests.post(f"{page_url}/uploads/{upload['file_id']}/complete",
                            json={"parts": [{"part_number": 2, "etag": "0" * 32}]})
    assert refused.status_code == 400 and refused.json()["code"] == "part_mismatch"


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"parts": [{"part_number": 4}]}, 400, "part_out_of_range"),
    ({"parts": [{"part_number": 0}]}, 400, "validation_error"),
    ({"parts": [{"part_number": 10_001}]}, 400, "validation_error"),
    ({"parts": [{"part_number": 1, "sha256": "not base64"}]}, 400, "validation_error"),
    ({"parts": []}, 400, "validation_error"),
    ({"parts": [{"part_number": "1"}]}, 400, "validation_error"),
    ({"parts": [{"part_number": 1}], "extra": True}, 400, "validation_error"),
])
def test_bad_part_requests_get_a_clear_4xx(stack, body, status, code):
    page_url = new_link(stack)
    upload = declare_big(page_url)
    response = requests.post(f"{page_url}/uploads/{upload['file_id']}/parts", json=body)
    assert response.status_code == status, response.text
    assert response.json()["code"] == code and response.json()["message"]


def test_malformed_json_and_a_bad_hash_at_complete_are_refused(stack):
    page_url = new_link(stack)
    upload = declare_big(page_url)
    malformed = requests.post(f"{page_url}/uploads/{upload['file_id']}/complete", data=b"{not json",
                              headers={"Content-Type": "application/json"})
    assert malformed.status_code == 400 and malformed.json()["code"] == "malformed_json"
    bad_hash = requests.post(f"{page_url}/uploads/{upload['file_id']}/complete", json={"sha256": "XYZ"})
    assert bad_hash.status_code == 400


def test_another_links_upload_and_unknown_ids_are_not_found(stack):
    mine, theirs = new_link(stack), new_link(stack)
    upload = declare_big(mine)
    for method, path, body in [("GET", "parts", None), ("POST", "parts", {"parts": [{"part_number": 1}]}),
                               ("POST", "complete", {})]:
        for page_url, file_id in [(theirs, upload["file_id"]), (mine, "01" + "x" * 24)]:
            response = requests.request(method, f"{page_url}/uploads/{file_id}/{path}", json=body)
            assert response.status_code == 404, (method, path, response.text)
            assert response.json()["code"] == "upload_not_found"
    assert requests.get(f"{theirs}/files").json() == {"files": []}
    unknown = requests.get(f"{stack.api_url}/c/{'x' * 43}/files")
    assert unknown.status_code == 404 and unknown.json()["code"] == "link_not_found"


def test_a_small_file_declared_with_its_hash_gets_a_post_policy_bound_to_it(stack):
    page_url = new_link(stack)
    data = MP4 + b"\x01" * 100
    response = requests.post(f"{page_url}/uploads", json={"files": [
        {"name": "s.mp4", "size": len(data), "content_type": "video/mp4", "sha256": hashlib.sha256(data).hexdigest()}]})
    (upload,) = response.json()["uploads"]
    policy = json.loads(base64.b64decode(upload["fields"]["policy"]))
    assert {"x-amz-checksum-sha256": b64sha(data)} in policy["conditions"]
    assert upload["fields"]["x-amz-checksum-sha256"] == b64sha(data)
    posted = requests.post(upload["url"], data=upload["fields"], files={"file": ("blob", data)})
    assert posted.status_code == 201, posted.text
