"""Evidence objects in S3. Uploads and downloads go browser <-> S3 through presigned requests;
only verification reads bytes here (a range for the type, a stream for the hash)."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from botocore.exceptions import ClientError

from ..domain.errors import Conflict, Gone
from ..domain.multipart import Part
from ..domain.ports import ObjectInfo, PendingUpload, PresignedPost

CHUNK = 1024 * 1024


class S3BlobStore:
    def __init__(self, client: Any, bucket: str, *, presigner: Any = None) -> None:
        # presigner: signs what browsers call (POSTs, part PUTs); the same client unless browsers
        # reach S3 at another address (a local relay in front of moto)
        self._s3, self._bucket, self._browser = client, bucket, presigner or client

    def presign_upload(self, key: str, *, content_type: str, size: int, expires_in: timedelta,
                       now: datetime, sha256_b64: str | None = None) -> PresignedPost:
        """A POST policy bound to this exact key, this content type and exactly this many bytes (and,
        when the page sent it, to the content's SHA-256: S3 refuses other bytes)."""
        fields = {"Content-Type": content_type, "success_action_status": "201"}
        if sha256_b64:
            fields["x-amz-checksum-sha256"] = sha256_b64
        conditions: list[Any] = [{name: given} for name, given in fields.items()]
        conditions.append(["content-length-range", size, size])
        signed = self._browser.generate_presigned_post(
            Bucket=self._bucket, Key=key, Fields=fields, Conditions=conditions,
            ExpiresIn=int(expires_in.total_seconds()),
        )
        return PresignedPost(url=signed["url"], fields=signed["fields"], expires_at=now + expires_in)

    def start_multipart(self, key: str, *, content_type: str) -> str:
        created = self._s3.create_multipart_upload(Bucket=self._bucket, Key=key, ContentType=content_type,
                                                   ChecksumAlgorithm="SHA256")
        upload_id: str = created["UploadId"]
        return upload_id

    def presign_part(self, key: str, upload_id: str, number: int, *, expires_in: timedelta,
                     sha256_b64: str | None = None) -> str:
        params = {"Bucket": self._bucket, "Key": key, "UploadId": upload_id, "PartNumber": number}
        if sha256_b64:
            params["ChecksumSHA256"] = sha256_b64
        url: str = self._browser.generate_presigned_url("upload_part", Params=params,
                                                   ExpiresIn=int(expires_in.total_seconds()))
        return url

    def list_parts(self, key: str, upload_id: str) -> list[Part] | None:
        parts: list[Part] = []
        try:
            for page in self._s3.get_paginator("list_parts").paginate(Bucket=self._bucket, Key=key,
                                                                      UploadId=upload_id):
                parts += [Part(number=p["PartNumber"], size=p["Size"], etag=p["ETag"].strip('"'),
                               last_modified=p.get("LastModified"), sha256=p.get("ChecksumSHA256"))
                          for p in page.get("Parts", [])]
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("NoSuchUpload", "404"):
                return None
            raise
        return parts

    def complete_multipart(self, key: str, upload_id: str, parts: list[Part]) -> None:
        listed = [{"PartNumber": p.number, "ETag": f'"{p.etag}"', **({"ChecksumSHA256": p.sha256} if p.sha256 else {})}
                  for p in parts]
        try:
            self._s3.complete_multipart_upload(Bucket=self._bucket, Key=key, UploadId=upload_id,
                                               MultipartUpload={"Parts": listed})
        except ClientError as exc:
            code = exc.response["Error"]["Code"]
            if code in ("NoSuchUpload", "404") and self.head(key) is not None:
                return  # a retried complete lost the race to the first one: the object is assembled
            if code in ("NoSuchUpload", "404"):
                raise Gone("This upload is no longer open; choose the file again to send it.",
                           code="upload_abandoned") from exc
            if code in ("InvalidPart", "InvalidPartOrder", "EntityTooSmall"):
                raise Conflict("A part changed while the file was put together; choose the file again to send it.",
                               code="parts_changed") from exc
            raise

    def abort_multipart(self, key: str, upload_id: str) -> None:
        try:
            self._s3.abort_multipart_upload(Bucket=self._bucket, Key=key, UploadId=upload_id)
        except ClientError as exc:
            if exc.response["Error"]["Code"] not in ("NoSuchUpload", "404"):
                raise

    def pending_uploads(self, prefix: str) -> Iterator[PendingUpload]:
        for page in self._s3.get_paginator("list_multipart_uploads").paginate(Bucket=self._bucket, Prefix=prefix):
            for upload in page.get("Uploads", []):
                yield PendingUpload(key=upload["Key"], upload_id=upload["UploadId"], initiated=upload["Initiated"])

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
                answer = self._s3.delete_objects(Bucket=self._bucket, Delete={"Objects": doomed, "Quiet": True})
                if answer.get("Errors"):  # a batch reports each key's failure in its answer, never as an error
                    raise DeletionIncomplete(key, answer["Errors"])
                removed += len(doomed)
        return removed

    def upload_origin(self) -> str:
        """Where browsers send uploads (for the page's Content-Security-Policy)."""
        url: str = self._browser.generate_presigned_post(Bucket=self._bucket, Key="probe")["url"]
        scheme, _, rest = url.partition("://")
        return f"{scheme}://{rest.split('/', 1)[0]}"


class DeletionIncomplete(RuntimeError):
    """S3 kept some versions of a key it was asked to delete: whoever deletes must not report it gone."""

    def __init__(self, key: str, errors: list[dict[str, Any]]) -> None:
        codes = sorted({str(e.get("Code")) for e in errors})
        super().__init__(f"{len(errors)} versions of {key} were not deleted ({', '.join(codes)})")


def _version(version_id: str | None) -> dict[str, str]:
    return {"VersionId": version_id} if version_id else {}
