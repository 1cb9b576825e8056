"""Powertools idempotency for event handlers: EventBridge may deliver the same event twice."""
from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from . import bootstrap


@cache
def once(func: Callable[[dict[str, Any]], dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    """Wrap func(data) so that the same data within a week runs it once and replays its result.
    Callers put what names the work (e.g. bucket, key, etag) in data; it is the idempotency key."""
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )

    store = DynamoDBPersistenceLayer(table_name=bootstrap.settings().idempotency_table_name,
                                     boto3_client=bootstrap.client("dynamodb"))
    config = IdempotencyConfig(expires_after_seconds=7 * 86400)

    @idempotent_function(data_keyword_argument="data", persistence_store=store, config=config)
    def run(data: dict[str, Any]) -> dict[str, Any]:
        return func(data)

    return run
