"""Powertools wired once: structured logs with the request's correlation id, and metrics."""
from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics

logger = Logger(service="citizen-evidence")
metrics = Metrics(namespace="CitizenEvidence", service="citizen-evidence")

_current = {"request_id": ""}


def bind_request(request_id: str, **keys: str) -> None:
    _current["request_id"] = request_id
    logger.set_correlation_id(request_id)
    logger.append_keys(**keys)


def request_id() -> str:
    return _current["request_id"]
