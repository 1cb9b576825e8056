"""What S3 answers that the evidence store must not take for success: a batch delete that kept some
versions (S3 reports them in the answer, not as an error), and a multipart complete that lost a race
or met a changed part. Driven by botocore's Stubber: moto never answers these."""
from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from chalicelib.adapters.s3_blobs import DeletionIncomplete, S3BlobStore
from chalicelib.domain.errors import Conflict, Gone
from chalicelib.domain.multipart import Part

BUCKET, KEY = "evidence", "a1/s1/f1"


@pytest.fixture
def s3():
    client = boto3.client("s3", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stub:
        yield client, stub
        stub.assert_no_pending_responses()


def listed(stub: Stubber) -> None:
    stub.add_response("list_object_versions", {"Versions": [
        {"Key": KEY, "VersionId": "v1"}, {"Key": KEY, "VersionId": "v2"}]}, {"Bucket": BUCKET, "Prefix": KEY})


def test_a_batch_delete_that_kept_a_version_is_not_reported_as_done(s3):
    client, stub = s3
    listed(stub)
    stub.add_response("delete_objects", {"Deleted": [{"Key": KEY, "VersionId": "v1"}], "Errors": [
        {"Key": KEY, "VersionId": "v2", "Code": "SlowDown", "Message": "Reduce your request rate."}]})
    with pytest.raises(DeletionIncomplete, match="1 versions of a1/s1/f1 were not deleted \\(SlowDown\\)"):
        S3BlobStore(client, BUCKET).delete_all_versions(KEY)


def test_a_batch_delete_that_removed_everything_counts_it(s3):
    client, stub = s3
    listed(stub)
    stub.add_response("delete_objects", {"Deleted": [{"Key": KEY, "VersionId": "v1"}, {"Key": KEY, "VersionId": "v2"}]})
    assert S3BlobStore(client, BUCKET).delete_all_versions(KEY) == 2


PARTS = [Part(number=1, size=5, etag="e1")]


def test_a_complete_that_lost_the_race_to_an_earlier_one_is_a_success_when_the_object_is_there(s3):
    client, stub = s3
    stub.add_client_error("complete_multipart_upload", "NoSuchUpload")
    stub.add_response("head_object", {"ContentLength": 5, "ETag": '"x-1"'}, {"Bucket": BUCKET, "Key": KEY})
    S3BlobStore(client, BUCKET).complete_multipart(KEY, "u1", PARTS)


def test_a_complete_of_an_upload_that_is_gone_is_410_and_a_changed_part_409(s3):
    client, stub = s3
    stub.add_client_error("complete_multipart_upload", "NoSuchUpload")
    stub.add_client_error("head_object", "404", http_status_code=404)
    store = S3BlobStore(client, BUCKET)
    with pytest.raises(Gone) as gone:
        store.complete_multipart(KEY, "u1", PARTS)
    assert gone.value.code == "upload_abandoned"
    stub.add_client_error("complete_multipart_upload", "InvalidPart")
    with pytest.raises(Conflict) as changed:
        store.complete_multipart(KEY, "u1", PARTS)
    assert changed.value.code == "parts_changed"
