"""What an AWS error says, read once for the adapters (a refused condition is the domain's Conflict)
and for the API's edge (a "not now" is a 503 to retry)."""
from __future__ import annotations

from botocore.exceptions import ClientError

CONDITION_FAILED = "ConditionalCheckFailedException"
CANCELLED = "TransactionCanceledException"
# Answers that mean "not now" rather than "no": a caller that sends the same request again succeeds.
TRANSIENT = frozenset({CANCELLED, "TransactionConflictException", "ThrottlingException",
                       "ProvisionedThroughputExceededException", "RequestLimitExceeded", "SlowDown",
                       "ServiceUnavailable", "InternalServerError"})


def code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def failed_items(exc: BaseException | None) -> list[int]:
    """The positions of a cancelled transaction's items whose condition failed (none for other errors)."""
    if not isinstance(exc, ClientError):
        return []
    reasons = exc.response.get("CancellationReasons") or []
    return [n for n, reason in enumerate(reasons) if (reason or {}).get("Code") == "ConditionalCheckFailed"]


def condition_failed(exc: ClientError) -> bool:
    """A write refused by its condition (for a transaction: by one of its items' conditions)."""
    return code(exc) == CONDITION_FAILED or (code(exc) == CANCELLED and bool(failed_items(exc)))


def transient(exc: ClientError) -> bool:
    """Nothing was done and the same request may be sent again (never a refused condition)."""
    return code(exc) in TRANSIENT and not condition_failed(exc)
