"""Event shapes the app consumes. The same pattern subscribes the Lambda in AWS (Chalice creates
the EventBridge rule) and the local runner's stand-in rule on moto."""
from __future__ import annotations

from typing import Any

UPLOAD_EVENT_PATTERN: dict[str, Any] = {"source": ["aws.s3"], "detail-type": ["Object Created"]}

OBJECT_CREATED_DETAIL: dict[str, Any] = {
    "type": "object",
    "required": ["bucket", "object"],
    "properties": {
        "bucket": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}},
        "object": {
            "type": "object",
            "required": ["key"],
            "properties": {
                "key": {"type": "string", "minLength": 1, "maxLength": 1024},
                "size": {"type": "integer", "minimum": 0},
                "etag": {"type": "string"},
                "eTag": {"type": "string"},
                "version-id": {"type": ["string", "null"]},
            },
        },
    },
}


def created_object(detail: dict[str, Any]) -> dict[str, str] | None:
    """(bucket, key, etag) of an Object Created event, or None if it is not one we understand."""
    import jsonschema  # deferred: only the upload handler needs it, not every API cold start

    try:
        jsonschema.validate(detail, OBJECT_CREATED_DETAIL)
    except jsonschema.ValidationError:
        return None
    obj = detail["object"]
    return {"bucket": detail["bucket"]["name"], "key": obj["key"],
            "etag": str(obj.get("etag") or obj.get("eTag") or "")}
