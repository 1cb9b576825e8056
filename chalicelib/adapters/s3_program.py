"""The program's own bucket (versioned, no Object Lock; noncurrent versions expire, see
infra/template.yaml): Tier 2 copies in, and every version of a key out."""
from __future__ import annotations

from typing import Any

from .s3_blobs import S3BlobStore


class S3ProgramMedia:
    def __init__(self, client: Any, bucket: str) -> None:
        self._s3, self._bucket = client, bucket
        self._versions = S3BlobStore(client, bucket)  # its delete of every version and delete marker

    @property
    def name(self) -> str:
        return f"s3:{self._bucket}"

    def put(self, key: str, data: bytes, content_type: str) -> None:
        self._s3.put_object(Bucket=self._bucket, Key=key, Body=data,
                            ContentType=content_type or "application/octet-stream")

    def delete_all_versions(self, key: str) -> int:
        return self._versions.delete_all_versions(key)
