"""Reading every item a DynamoDB query matches, through boto3's paginator (it follows
LastEvaluatedKey), so no repository hand-writes that loop. A request that answers one page and a
cursor on purpose (list_submissions) calls query itself."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .dynamo_codec import from_item


def query_items(client: Any, query: dict[str, Any], *, limit: int | None = None) -> Iterator[dict[str, Any]]:
    """The items (as plain dicts) of a low-level client's query, page after page; at most `limit`.
    An ExclusiveStartKey in `query` starts the first page after it."""
    if limit is not None and limit <= 0:
        return
    config = {"MaxItems": limit, "PageSize": limit} if limit is not None else {}
    for page in client.get_paginator("query").paginate(**query, PaginationConfig=config):
        yield from (from_item(item) for item in page["Items"])
