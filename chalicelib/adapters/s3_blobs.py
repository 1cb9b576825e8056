"""Evidence objects in S3. Uploads and downloads go browser <-> S3 through presigned requests;
only verification reads bytes here (a range for the type, a stream for the hash)."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from botocore.exceptions import ClientError

from ..domain.ports import ObjectInfo, PresignedPost

CHUNK = 1024 * 1024


class S3BlobStore:
    def __init__(self, client: Any, bucket: str) -> None:
        self._s3, self._bucket = client, bucket

    def presign_upload(self, key: str, *, content_type: str, size: int, expires_in: timedelta,
                       now: datetime) -> PresignedPost:
        """A POST policy bound to this exact key, this content type and exactly this many bytes."""
        fields = {"Content-Type": content_type, "success_action_status": "201"}
        conditions: list[Any] = [
            {"Content-Type": content_type},
            {"success_action_status": "201"},
            ["content-length-range", size, size],
        ]
        signed = self._s3.generate_presigned_post(
            Bucket=self._bucket, Key=key, Fields=fields, Conditions=conditions,
            ExpiresIn=int(expires_in.total_seconds()),
        )
        return PresignedPost(url=signed["url"], fields=signed["fields"], expires_at=now + expires_in)

    def presign_download(self, key: str, *, filename: str, expires_in: timedelta,
                         version_id: str | None = None) -> str:
        ascii_name = filename.encode("ascii", "replace").decode().replace('"', "'")
        disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
        params = {"Bucket": self._bucket, "Key": key, "ResponseContentDisposition": disposition,
                  **_version(version_id)}
        url: str = self._s3.generate_presigned_url("get_object", Params=params,
                                                   ExpiresIn=int(expires_in.total_seconds()))
        return url

    def head(self, key: str, version_id: str | None = None) -> ObjectInfo | None:
        try:
            found = self._s3.head_object(Bucket=self._bucket, Key=key, **_version(version_id))
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound", "NoSuchVersion", "400"):
                return None
            raise
        return ObjectInfo(size=found["ContentLength"], etag=found["ETag"].strip('"'),
                          content_type=found.get("ContentType"), version_id=found.get("VersionId"))

    def read_head(self, key: str, length: int, version_id: str | None = None) -> bytes:
        body = self._s3.get_object(Bucket=self._bucket, Key=key, Range=f"bytes=0-{length - 1}",
                                   **_version(version_id))["Body"]
        data: bytes = body.read()
        return data

    def iter_chunks(self, key: str, version_id: str | None = None) -> Iterator[bytes]:
        body = self._s3.get_object(Bucket=self._bucket, Key=key, **_version(version_id))["Body"]
        yield from body.iter_chunks(CHUNK)

    def delete_all_versions(self, key: str) -> int:
        removed = 0
        paginator = self._s3.get_paginator("list_object_versions")
        for page in paginator.paginate(Bucket=self._bucket, Prefix=key):
            doomed = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                      for v in page.get("Versions", []) + page.get("DeleteMarkers", []) if v["Key"] == key]
            if doomed:
                self._s3.delete_objects(Bucket=self._bucket, Delete={"Objects": doomed, "Quiet": True})
                removed += len(doomed)
        return removed

    def upload_origin(self) -> str:
        """Where browsers send uploads (for the page's Content-Security-Policy)."""
        url: str = self._s3.generate_presigned_post(Bucket=self._bucket, Key="probe")["url"]
        scheme, _, rest = url.partition("://")
        return f"{scheme}://{rest.split('/', 1)[0]}"


def _version(version_id: str | None) -> dict[str, str]:
    return {"VersionId": version_id} if version_id else {}
