"""Shared DynamoDB plumbing: item (de)serialisation, cursors, and ClientError -> domain errors."""
from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from ..domain.errors import Conflict, InvalidInput

_ser = TypeSerializer()
_de = TypeDeserializer()
_CURSOR_VALUE = re.compile(r"^[A-Za-z0-9#._-]{1,200}$")
_CONDITION_FAILURES = {"ConditionalCheckFailedException", "TransactionCanceledException"}


def to_item(data: dict[str, Any]) -> dict[str, Any]:
    return {k: _ser.serialize(v) for k, v in data.items() if v is not None}


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _plain(_de.deserialize(v)) for k, v in item.items()}


def value(data: Any) -> dict[str, Any]:
    return _ser.serialize(data)  # type: ignore[no-any-return]


def _plain(data: Any) -> Any:
    """Decimals back to int (we store no fractions), recursively."""
    if isinstance(data, dict):
        return {k: _plain(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_plain(v) for v in data]
    if hasattr(data, "as_integer_ratio") and not isinstance(data, (int, float)):
        return int(data)
    return data


@contextmanager
def conflicts_as(message: str, code: str = "conflict") -> Iterator[None]:
    """Turn a failed write condition into the domain's Conflict."""
    try:
        yield
    except ClientError as exc:
        if exc.response["Error"]["Code"] in _CONDITION_FAILURES:
            raise Conflict(message, code=code) from exc
        raise


def encode_cursor(last_key: dict[str, Any] | None, fields: tuple[str, ...]) -> str | None:
    if not last_key:
        return None
    plain = {f: _de.deserialize(last_key[f]) for f in fields}
    return base64.urlsafe_b64encode(json.dumps(plain).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, fields: tuple[str, ...]) -> dict[str, str]:
    """A cursor names only sort-key values; partition keys are rebuilt from the caller's agency,
    so a cursor forged from another agency's keys cannot reach its data."""
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        data = None
    if not isinstance(data, dict) or set(data) != set(fields) or not all(
        isinstance(v, str) and _CURSOR_VALUE.match(v) for v in data.values()
    ):
        raise InvalidInput("The page cursor is not valid.", code="bad_cursor")
    return data


class DynamoBase:
    """Holds the client and table name; the get/put shapes every repository shares."""

    def __init__(self, client: Any, table: str) -> None:
        self._db, self._table = client, table

    def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        found = self._db.get_item(TableName=self._table, Key=to_item({"pk": pk, "sk": sk}),
                                  ConsistentRead=True)
        return from_item(found["Item"]) if "Item" in found else None

    def _put(self, data: dict[str, Any], *, new: bool, conflict: str) -> None:
        condition = "attribute_not_exists(pk)" if new else "attribute_exists(pk)"
        with conflicts_as(conflict):
            self._db.put_item(TableName=self._table, Item=to_item(data), ConditionExpression=condition)
