"""The S3 adapter's multipart methods against moto over HTTP, and the same steps on the in-memory
fake (tests/fakes.py): one contract for both, so unit tests over the fake mean what they say."""
from __future__ import annotations

import hashlib
import os
from base64 import b64encode
from datetime import timedelta

import pytest
import requests

from chalicelib import bootstrap
from chalicelib.adapters.s3_blobs import S3BlobStore
from tests.fakes import MemoryBlobs

pytestmark = pytest.mark.integration
MIB = 1024 * 1024
PARTS = [os.urandom(5 * MIB), os.urandom(1000)]


def s3_store() -> tuple[S3BlobStore, object]:
    store = S3BlobStore(bootstrap.client("s3"), os.environ["EVIDENCE_BUCKET"])

    def send(upload_id: str, key: str, number: int, data: bytes) -> None:
        checksum = b64encode(hashlib.sha256(data).digest()).decode()
        url = store.presign_part(key, upload_id, number, expires_in=timedelta(minutes=5), sha256_b64=checksum)
        assert requests.put(url, data=data, headers={"x-amz-checksum-sha256": checksum}).status_code == 200
    return store, send


def memory_store() -> tuple[MemoryBlobs, object]:
    store = MemoryBlobs()
    return store, lambda upload_id, key, number, data: store.put_part(upload_id, number, data)


@pytest.fixture(params=["s3", "memory"])
def world(request, stack):
    return s3_store() if request.param == "s3" else memory_store()


def test_parts_are_listed_assembled_in_order_and_the_upload_then_closes(world):
    store, send = world
    key = f"agencies/contract/multipart/{os.urandom(4).hex()}"
    upload_id = store.start_multipart(key, content_type="video/mp4")
    assert any(p.upload_id == upload_id and p.key == key for p in store.pending_uploads("agencies/contract/"))
    send(upload_id, key, 2, PARTS[1])
    send(upload_id, key, 1, PARTS[0])
    held = store.list_parts(key, upload_id)
    assert [(p.number, p.size) for p in held] == [(1, 5 * MIB), (2, 1000)]
    store.complete_multipart(key, upload_id, held)
    assert b"".join(store.iter_chunks(key)) == b"".join(PARTS)
    assert store.list_parts(key, upload_id) is None
    assert not any(p.upload_id == upload_id for p in store.pending_uploads("agencies/contract/"))


def test_an_aborted_upload_is_gone_and_aborting_again_is_harmless(world):
    store, send = world
    key = f"agencies/contract/aborted/{os.urandom(4).hex()}"
    upload_id = store.start_multipart(key, content_type="video/mp4")
    send(upload_id, key, 1, PARTS[0])
    store.abort_multipart(key, upload_id)
    store.abort_multipart(key, upload_id)
    assert store.list_parts(key, upload_id) is None
    assert store.head(key) is None


def test_a_post_with_a_known_hash_binds_it_in_the_signed_policy(stack):
    import base64
    import json
    from datetime import datetime, timezone

    store, _ = s3_store()
    checksum = b64encode(hashlib.sha256(b"x").digest()).decode()
    post = store.presign_upload("agencies/contract/post", content_type="image/jpeg", size=1,
                                expires_in=timedelta(minutes=1), now=datetime.now(timezone.utc), sha256_b64=checksum)
    policy = json.loads(base64.b64decode(post.fields["policy"]))
    assert {"x-amz-checksum-sha256": checksum} in policy["conditions"]
    assert ["content-length-range", 1, 1] in policy["conditions"]
