"""query_items (boto3's query paginator) on DynamoDB (moto over HTTP): it follows every page, stops
at a limit, and starts after an ExclusiveStartKey."""
from __future__ import annotations

import os
import uuid

import boto3
import pytest

from chalicelib.adapters.dynamo_codec import to_item, value
from chalicelib.adapters.dynamo_pages import query_items

pytestmark = pytest.mark.integration


@pytest.fixture
def seeded(stack):
    """Seven items under one fresh partition of the main table, and a query for them."""
    client, table, pk = boto3.client("dynamodb"), os.environ["TABLE_NAME"], f"PAGES#{uuid.uuid4()}"
    for n in range(7):
        client.put_item(TableName=table, Item=to_item({"pk": pk, "sk": f"ROW#{n}", "n": n}))
    query = {"TableName": table, "ConsistentRead": True, "KeyConditionExpression": "pk = :p",
             "ExpressionAttributeValues": {":p": value(pk)}}
    return client, query, pk


def calls_counted(client) -> list[int]:
    calls: list[int] = []
    client.meta.events.register("after-call.dynamodb.Query", lambda **_: calls.append(1))
    return calls


def test_every_page_is_followed(seeded):
    client, query, _ = seeded
    calls = calls_counted(client)
    items = list(query_items(client, {**query, "Limit": 2}))
    assert [i["n"] for i in items] == list(range(7))
    assert len(calls) == 4


def test_a_limit_stops_early_and_a_start_key_starts_after_it(seeded):
    client, query, pk = seeded
    assert [i["n"] for i in query_items(client, query, limit=3)] == [0, 1, 2]
    after_two = {**query, "ExclusiveStartKey": to_item({"pk": pk, "sk": "ROW#2"})}
    assert [i["n"] for i in query_items(client, after_two, limit=3)] == [3, 4, 5]
    assert [i["n"] for i in query_items(client, after_two, limit=10)] == [3, 4, 5, 6]
    assert list(query_items(client, query, limit=0)) == []
