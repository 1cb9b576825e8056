"""Shared DynamoDB plumbing: item (de)serialisation, cursors, and ClientError -> domain errors."""
from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from .. import aws_errors
from ..domain.errors import Conflict, InvalidInput
from ..domain.models import AuditEvent

_ser = TypeSerializer()
_de = TypeDeserializer()
_CURSOR_VALUE = re.compile(r"^[A-Za-z0-9#._-]{1,200}$")


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
def conflicts_as(message: str, code: str = "conflict", *, busy_too: bool = False) -> Iterator[None]:
    """Turn a failed write condition into the domain's Conflict. A cancelled transaction is one only
    when a condition failed in it: one cancelled because it was throttled or met another transaction
    on an item did nothing and says nothing of the items, so it goes up as the error it is (a 5xx,
    a run retried), unless the caller can tell by reading again (`busy_too`)."""
    try:
        yield
    except ClientError as exc:
        if aws_errors.condition_failed(exc) or (busy_too and aws_errors.code(exc) == aws_errors.CANCELLED):
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


def event_item(event: AuditEvent) -> dict[str, Any]:
    """An audit event as an inbox item. Details go in as JSON text: DynamoDB would turn numbers
    into Decimals and change the hash computed over them when the event is chained."""
    return to_item({**event.model_dump(mode="json"), "details": json.dumps(event.details, sort_keys=True, default=str)})


def event_of(item: dict[str, Any]) -> AuditEvent:
    data = from_item(item)
    return AuditEvent.model_validate({**data, "details": json.loads(data["details"])})


_SINGLE = {"Put": "put_item", "Update": "update_item", "Delete": "delete_item"}


class DynamoBase:
    """Holds the client and table names; the get/put shapes every repository shares, and the one
    way a change is written together with the audit event that records it."""

    def __init__(self, client: Any, table: str, inbox_table: str = "") -> None:
        self._db, self._table, self._inbox = client, table, inbox_table

    def _commit(self, *writes: dict[str, Any], event: AuditEvent | None = None, conflict: str,
                code: str = "conflict", events: Sequence[AuditEvent] = ()) -> None:
        """Run these TransactWriteItems entries and the events' inbox puts as one transaction (a
        single write with no event goes as the plain call). `events` carries several (a share is
        recorded in the owner's and the recipient's logs at once). A failed condition is Conflict."""
        items = list(writes)
        for one in ([event] if event is not None else []) + list(events):
            if not self._inbox:
                raise RuntimeError(f"{type(self).__name__} has no audit inbox table to record {one.action}")
            items.append({"Put": {"TableName": self._inbox, "Item": event_item(one),
                                  "ConditionExpression": "attribute_not_exists(event_id)"}})
        with conflicts_as(conflict, code):
            if len(items) == 1 and next(iter(items[0])) in _SINGLE:
                kind, params = next(iter(items[0].items()))
                getattr(self._db, _SINGLE[kind])(**params)
            else:
                self._db.transact_write_items(TransactItems=items)

    def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        found = self._db.get_item(TableName=self._table, Key=to_item({"pk": pk, "sk": sk}),
                                  ConsistentRead=True)
        return from_item(found["Item"]) if "Item" in found else None

    def _put(self, data: dict[str, Any], *, new: bool, conflict: str) -> None:
        with conflicts_as(conflict):
            self._db.put_item(**self._write(data, new=new))

    def _write(self, data: dict[str, Any], *, new: bool) -> dict[str, Any]:
        """A put of a new item (or of one that must exist), as put_item or TransactWriteItems takes it."""
        condition = "attribute_not_exists(pk)" if new else "attribute_exists(pk)"
        return {"TableName": self._table, "Item": to_item(data), "ConditionExpression": condition}
