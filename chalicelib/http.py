"""HTTP edges: one table from domain errors to status codes, body parsing into validated
commands, and JSON responses. Error bodies are always {"code", "message"[, "details"]}."""
from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any, TypeVar

from botocore.exceptions import ClientError
from chalice.app import Response
from pydantic import BaseModel, ValidationError

from . import aws_errors
from .domain.errors import (
    Busy,
    Conflict,
    DeliveryFailed,
    DomainError,
    Forbidden,
    Gone,
    InvalidInput,
    LimitExceeded,
    NotFound,
    RateLimited,
    Unauthenticated,
    UnsupportedMedia,
)
from .observability import logger, request_id

MAX_BODY_BYTES = 64 * 1024
# Every JSON answer: never cached (keys, evidence metadata), never sniffed as another type, HTTPS only.
NO_STORE = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
            "Strict-Transport-Security": "max-age=63072000; includeSubDomains"}

STATUS: dict[type[DomainError], int] = {
    InvalidInput: 400,
    Unauthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    Gone: 410,
    LimitExceeded: 413,
    UnsupportedMedia: 415,
    RateLimited: 429,
    DeliveryFailed: 502,
    Busy: 503,
}

C = TypeVar("C", bound=BaseModel)


def status_of(error: DomainError) -> int:
    return status_for(type(error))


def status_for(kind: type[DomainError]) -> int:
    """The status of a kind of domain error: its nearest class in STATUS (400 if none)."""
    for cls in kind.__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


def error_response(error: DomainError) -> Response:
    body: dict[str, Any] = {"code": error.code, "message": error.message}
    if error.details is not None:
        body["details"] = error.details
    headers: dict[str, str | list[str]] = dict(NO_STORE)
    if isinstance(error, RateLimited | Busy):
        headers["Retry-After"] = str(error.retry_after)
    return Response(body=body, status_code=status_of(error), headers=headers)


def json_response(body: Any, status: int = 200) -> Response:
    """`body` is JSON-ready data, or the response model itself (dumped as JSON: what the document states)."""
    if isinstance(body, BaseModel):
        body = body.model_dump(mode="json")
    return Response(body=body, status_code=status, headers=dict(NO_STORE))


def handled(view: Callable[..., Any]) -> Callable[..., Any]:
    """Domain errors become their status; anything unexpected a 500 that names the request
    (for the logs) and reveals nothing else."""
    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return view(*args, **kwargs)
        except DomainError as error:
            return error_response(error)
        except ClientError as error:
            if aws_errors.transient(error):
                return error_response(Busy("Too many changes at once; nothing was done. Try again in a moment."))
            return _internal_error()
        except Exception:
            return _internal_error()
    return wrapper



def _internal_error() -> Response:
    """A 500 naming only the request; its traceback goes to the structured log under the same id,
    so the id a caller reports finds the failure. Call it while the exception is being handled."""
    rid = request_id() or str(uuid.uuid4())  # a route run outside the middleware still gets one
    logger.exception("unhandled error", extra={"request_id": rid})
    return Response(status_code=500, headers=dict(NO_STORE), body={
        "code": "internal_error", "request_id": rid,
        "message": "Something went wrong on our side. Nothing you sent was lost; try again.",
    })


def parse(model: type[C], raw: bytes | None) -> C:
    """Bytes of a request body -> a validated command, or InvalidInput saying what is wrong."""
    if raw and len(raw) > MAX_BODY_BYTES:
        raise LimitExceeded(f"The request body is over {MAX_BODY_BYTES} bytes.", code="body_too_large")
    try:
        data = json.loads(raw) if raw and raw.strip() else {}
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: '[' * 30000
        raise InvalidInput("The request body is not valid JSON.", code="malformed_json") from None
    if not isinstance(data, dict):
        raise InvalidInput("The request body must be a JSON object.", code="malformed_json")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput("Some fields are missing or invalid.", code="validation_error",
                           details=_problems(exc)) from None


def _problems(exc: ValidationError) -> list[dict[str, str]]:
    return [{"field": ".".join(str(p) for p in err["loc"]) or "(body)", "problem": err["msg"]}
            for err in exc.errors()]


def datetime_param(params: dict[str, str] | None, name: str) -> datetime | None:
    raw = (params or {}).get(name)
    if raw is None:
        return None
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(f"{name} must be an ISO 8601 date-time.", code="validation_error") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def int_param(params: dict[str, str] | None, name: str, default: int) -> int:
    raw = (params or {}).get(name)
    if raw is None:
        return default
    # ASCII digits only: str.isdigit() also accepts "²" and "٣", which int() then refuses or reads as 3.
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 6:
        raise InvalidInput(f"{name} must be a positive whole number.", code="validation_error")
    return int(raw)
