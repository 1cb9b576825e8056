"""Powertools idempotency for event handlers: EventBridge may deliver the same event twice."""
from __future__ import annotations

from collections.abc import Callable
from functools import cache, lru_cache
from typing import Any

from . import bootstrap

Work = Callable[[dict[str, Any]], dict[str, Any]]


@lru_cache(maxsize=1)
def _config() -> Any:
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig

    return IdempotencyConfig(expires_after_seconds=7 * 86400)


@cache
def _wrapped(func: Work) -> Callable[..., dict[str, Any]]:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, idempotent_function

    store = DynamoDBPersistenceLayer(table_name=bootstrap.settings().idempotency_table_name,
                                     boto3_client=bootstrap.client("dynamodb"))

    def run(data: dict[str, Any]) -> dict[str, Any]:
        return func(data)

    guarded: Callable[..., dict[str, Any]] = idempotent_function(
        data_keyword_argument="data", persistence_store=store, config=_config())(run)
    return guarded


def once(func: Work, data: dict[str, Any], lambda_context: Any) -> dict[str, Any]:
    """Run func(data) once per distinct data within a week; a repeat replays the stored result.
    Callers put what names the work (bucket, key, etag) in data: it is the idempotency key."""
    if lambda_context is not None:  # lets Powertools expire an in-progress record with the invocation
        _config().register_lambda_context(lambda_context)
    return _wrapped(func)(data=data)
