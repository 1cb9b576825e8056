"""The S3 side of exports, and the queue that runs them in chunks.

S3ExportStorage re-verifies an evidence object by streaming it through SHA-256, copies exactly the
version it hashed into the agency's bucket server-side (CopyObject: up to 5 GB per object; larger
objects would need a multipart UploadPartCopy, which uploads here cannot produce today), writes the
manifest files, and signs short-lived download URLs. A target bucket that refuses becomes the
domain's TargetRefused, naming the bucket and S3's reason."""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from botocore.exceptions import ClientError

from ..domain.exports import SourceDigest, TargetRefused
from .s3_blobs import S3BlobStore

CHUNK = 1024 * 1024
_MISSING = {"NoSuchKey", "404", "NotFound", "NoSuchVersion"}
# What S3 answers when the target bucket will not take the write. "403" is a bare Forbidden
# (no error body), as S3 sends for HEAD requests and moto for a bucket policy's Deny.
_REFUSALS = {
    "AccessDenied": "AccessDenied", "403": "AccessDenied", "AllAccessDisabled": "AccessDenied",
    "NoSuchBucket": "NoSuchBucket", "InvalidBucketName": "NoSuchBucket", "PermanentRedirect": "PermanentRedirect",
    "AuthorizationHeaderMalformed": "AuthorizationHeaderMalformed", "KMS.DisabledException": "KMS.DisabledException",
    "KMS.NotFoundException": "KMS.NotFoundException", "KMS.KMSInvalidStateException": "KMS.KMSInvalidStateException",
}


class S3ExportStorage:
    def __init__(self, client: Any, evidence_bucket: str) -> None:
        self._s3, self._bucket = client, evidence_bucket
        self._blobs = S3BlobStore(client, evidence_bucket)

    def digest(self, key: str, version_id: str | None = None) -> SourceDigest | None:
        try:
            pinned = {"VersionId": version_id} if version_id else {}
            found = self._s3.get_object(Bucket=self._bucket, Key=key, **pinned)
        except ClientError as exc:
            if exc.response["Error"]["Code"] in _MISSING:
                return None
            raise
        sha, size = hashlib.sha256(), 0
        for chunk in found["Body"].iter_chunks(CHUNK):
            sha.update(chunk)
            size += len(chunk)
        return SourceDigest(sha256=sha.hexdigest(), size=size, version_id=found.get("VersionId"))

    def copy(self, key: str, *, version_id: str | None, bucket: str, target_key: str,
             tags: dict[str, str]) -> None:
        source = {"Bucket": self._bucket, "Key": key, **({"VersionId": version_id} if version_id else {})}
        # No encryption or ACL named: the copy takes the target bucket's default encryption (not our
        # key), and the bucket's owner owns it (docs/EXPORT.md asks for "Bucket owner enforced").
        with refusals_as(bucket):
            self._s3.copy_object(Bucket=bucket, Key=target_key, CopySource=source, MetadataDirective="COPY",
                                 TaggingDirective="REPLACE", Tagging=urlencode(tags))

    def put(self, key: str, body: bytes, *, content_type: str, bucket: str | None = None,
            tags: dict[str, str] | None = None) -> None:
        if bucket is None:  # our evidence bucket: its default KMS encryption applies
            self._s3.put_object(Bucket=self._bucket, Key=key, Body=body, ContentType=content_type)
            return
        with refusals_as(bucket):
            self._s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type,
                                **({"Tagging": urlencode(tags)} if tags else {}))

    def presign(self, key: str, *, filename: str, expires_in: timedelta, version_id: str | None = None) -> str:
        return self._blobs.presign_download(key, filename=filename, expires_in=expires_in, version_id=version_id)


@contextmanager
def refusals_as(bucket: str) -> Iterator[None]:
    try:
        yield
    except ClientError as exc:
        reason = _REFUSALS.get(exc.response["Error"]["Code"])
        if reason is None:
            raise
        raise TargetRefused(bucket, reason) from exc


class SqsJobQueue:
    """JobQueue on SQS: one message per chunk, body {"agency_id", "export_id"}."""

    def __init__(self, client: Any, queue_url: str) -> None:
        self._sqs, self._url = client, queue_url

    def enqueue(self, agency_id: str, export_id: str) -> None:
        self._sqs.send_message(QueueUrl=self._url,
                               MessageBody=json.dumps({"agency_id": agency_id, "export_id": export_id}))
