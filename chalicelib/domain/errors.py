"""Domain errors. Each carries a stable machine-readable `code`; http.py maps the class to a status."""
from __future__ import annotations

from typing import Any


class DomainError(Exception):
    code = "error"

    def __init__(self, message: str, *, code: str | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details


class InvalidInput(DomainError):
    code = "invalid_input"


class Unauthenticated(DomainError):
    code = "unauthenticated"


class Forbidden(DomainError):
    code = "forbidden"


class NotFound(DomainError):
    code = "not_found"


class Gone(DomainError):
    """The thing existed but can no longer be used (an expired or used link)."""

    code = "gone"


class Conflict(DomainError):
    code = "conflict"


class LimitExceeded(DomainError):
    code = "limit_exceeded"


class RateLimited(DomainError):
    """Too many requests from one client (or to one portal) in a window: try again after `retry_after` s."""

    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int, code: str | None = None, details: Any = None) -> None:
        super().__init__(message, code=code, details=details)
        self.retry_after = retry_after


class UnsupportedMedia(DomainError):
    code = "unsupported_media_type"


class DeliveryFailed(DomainError):
    code = "delivery_failed"


class Busy(DomainError):
    """AWS refused for now (throttled, or another write met the same item at the same instant):
    nothing was done, and the same request may be sent again after `retry_after` seconds."""

    code = "busy"
    retry_after = 1
