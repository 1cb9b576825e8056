"""Event shapes the app consumes. The same pattern subscribes the Lambda in AWS (Chalice creates
the EventBridge rule) and the local runner's stand-in rule on moto.

The detail is read with a plain pydantic model, not Powertools' S3 EventBridge model: that one
requires fields we never use (request-id, requester, reason, version), ignores the `eTag`
spelling, and importing it loads every Powertools event model on the upload handler's cold start."""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

UPLOAD_EVENT_PATTERN: dict[str, Any] = {"source": ["aws.s3"], "detail-type": ["Object Created"]}


class _Bucket(BaseModel):
    model_config = ConfigDict(strict=True, defer_build=True)  # built by the upload handler, not every import

    name: str


class _Object(BaseModel):
    # strict: a key that is a number, or a size that is a string, is not a shape we understand
    model_config = ConfigDict(strict=True, populate_by_name=True, defer_build=True)

    key: str = Field(min_length=1, max_length=1024)
    size: int | None = Field(default=None, ge=0)
    etag: str = ""
    e_tag: str = Field(default="", alias="eTag")  # older events spell it this way
    version_id: str | None = Field(default=None, alias="version-id")


class ObjectCreatedDetail(BaseModel):
    """The `detail` of S3's Object Created event: only what ingest needs; other fields pass."""

    model_config = ConfigDict(strict=True, populate_by_name=True, defer_build=True)

    bucket: _Bucket
    obj: _Object = Field(alias="object")


def created_object(detail: dict[str, Any]) -> dict[str, Any] | None:
    """bucket, key, etag, size and version_id of an Object Created event, or None if it is not a
    shape we understand. version_id is None when the bucket did not version the object."""
    try:
        parsed = ObjectCreatedDetail.model_validate(detail)
    except ValidationError:
        return None
    obj = parsed.obj
    return {"bucket": parsed.bucket.name, "key": obj.key, "etag": obj.etag or obj.e_tag,
            "size": obj.size, "version_id": obj.version_id}
