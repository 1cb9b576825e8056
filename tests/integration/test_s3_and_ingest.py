"""The S3 adapter and the upload event handler against moto over HTTP."""
from __future__ import annotations

import hashlib
import os
from datetime import datetime, timedelta, timezone

import boto3
import pytest
import requests

from chalicelib import bootstrap
from chalicelib.adapters.s3_blobs import S3BlobStore
from chalicelib.domain.commands import CreateCitizenLink, DeclaredFile, RequestUploads
from chalicelib.domain.models import FileStatus, Principal, Role
from chalicelib.services import citizen_links, citizen_uploads

pytestmark = pytest.mark.integration
JPEG = b"\xff\xd8\xff\xe0" + os.urandom(3000)


@pytest.fixture
def blobs(stack):
    return S3BlobStore(bootstrap.client("s3"), os.environ["EVIDENCE_BUCKET"])


def test_a_presigned_post_uploads_and_the_object_reads_back_in_ranges_and_chunks(blobs):
    key = "agencies/test/contract/object"
    now = datetime.now(timezone.utc)
    post = blobs.presign_upload(key, content_type="image/jpeg", size=len(JPEG),
                                expires_in=timedelta(minutes=15), now=now)
    assert post.expires_at == now + timedelta(minutes=15)
    uploaded = requests.post(post.url, data=post.fields, files={"file": ("x.jpg", JPEG)})
    assert uploaded.status_code == 201
    info = blobs.head(key)
    assert info.size == len(JPEG) and info.content_type == "image/jpeg"
    assert blobs.read_head(key, 4) == JPEG[:4]
    assert b"".join(blobs.iter_chunks(key)) == JPEG
    assert blobs.head("agencies/test/contract/missing") is None


def test_the_stored_object_is_encrypted_with_the_stacks_kms_key(blobs):
    key = "agencies/test/contract/encrypted"
    post = blobs.presign_upload(key, content_type="image/jpeg", size=len(JPEG), expires_in=timedelta(minutes=1),
                                now=datetime.now(timezone.utc))
    requests.post(post.url, data=post.fields, files={"file": ("x.jpg", JPEG)})
    head = boto3.client("s3").head_object(Bucket=os.environ["EVIDENCE_BUCKET"], Key=key)
    assert head["ServerSideEncryption"] == "aws:kms" and head.get("SSEKMSKeyId")


def test_a_download_url_names_the_file_and_returns_its_bytes(blobs):
    key = "agencies/test/contract/download"
    boto3.client("s3").put_object(Bucket=os.environ["EVIDENCE_BUCKET"], Key=key, Body=JPEG)
    url = blobs.presign_download(key, filename='front "door".jpg', expires_in=timedelta(minutes=5))
    response = requests.get(url)
    assert response.content == JPEG
    assert "attachment" in response.headers.get("Content-Disposition", "")
    assert "X-Amz-Expires=300" in url


def test_the_same_upload_event_delivered_twice_is_recorded_once(stack):
    import app

    deps = bootstrap.deps()
    principal = Principal(agency_id=stack.agency_id, role=Role.OFFICER, key_id="test")
    _, url = citizen_links.send_citizen_link(
        principal, CreateCitizenLink(case_ref="IDEMP-1", email="x@example.org"), page_base="http://x", deps=deps)
    token = url.rsplit("/", 1)[-1]
    submission_id, [(file, post)] = citizen_uploads.request_uploads(
        token, RequestUploads(files=[DeclaredFile(name="a.jpg", size=len(JPEG), content_type="image/jpeg")]), deps=deps)
    # Upload straight to moto while the pump is not looking: deliver the event by hand, twice.
    requests.post(post.url, data=post.fields, files={"file": ("a.jpg", JPEG)})
    event = s3_event({"bucket": {"name": os.environ["EVIDENCE_BUCKET"]},
                      "object": {"key": file.key, "size": len(JPEG), "etag": "abc"}})
    first = app.ingest_upload(event, None)
    second = app.ingest_upload(event, None)
    assert first["outcome"] in ("recorded", "duplicate") and second == {"outcome": "duplicate"}
    stored = deps.submissions.get_submission(stack.agency_id, submission_id).files[file.file_id]
    assert stored.status is FileStatus.VERIFIED and stored.sha256 == hashlib.sha256(JPEG).hexdigest()
    stack.wait_for(lambda: deps.audit.waiting(stack.agency_id) == 0, what="the audit events to be chained")
    recorded = [e for e in deps.audit.entries(stack.agency_id)
                if e.action == "evidence.recorded" and e.target == f"file:{file.file_id}"]
    assert len(recorded) == 1 and recorded[0].details["version_id"] == stored.version_id


def s3_event(detail):
    return {"version": "0", "id": "e-1", "detail-type": "Object Created", "source": "aws.s3",
            "account": "123456789012", "time": "2020-04-01T00:00:00Z", "region": "us-east-1", "resources": [],
            "detail": detail}


@pytest.mark.parametrize("detail", [
    {"bucket": {"name": "someone-else"}, "object": {"key": "agencies/x"}},
    {"nope": 1},
    {"bucket": {"name": "b"}, "object": {"key": 42}},
    {"bucket": {"name": "b"}, "object": {"key": ""}},
])
def test_events_for_other_buckets_or_unknown_shapes_are_ignored(stack, detail):
    import app

    assert app.ingest_upload(s3_event(detail), None) == {"outcome": "ignored"}
