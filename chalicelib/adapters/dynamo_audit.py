"""The audit log in DynamoDB: an inbox table of events waiting to be chained, and the chained log.

Inbox: one item per event, keyed (agency_id, event_id), written by the change it records (in the
same transaction). Nothing on the request path updates a shared item, so concurrent requests never
contend. Its stream wakes the sequencer.

Chained log: one partition per agency, entries keyed by sequence number, and a head item (seq 0)
with the last sequence and hash. The sequencer chains a batch of waiting events in one
transaction: the entries, the head moved on (conditioned on the head it read), the inbox items
deleted (conditioned on still being there) and the batch's storage usage added to the agency. Two
sequencers racing for one agency cannot both win, so no event is chained twice or lost."""
from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from .. import request_context
from ..domain import audit
from ..domain.errors import Conflict
from ..domain.models import AuditEntry, AuditEvent
from .dynamo_codec import conflicts_as, event_item, event_of, from_item, to_item, value

HEAD = 0


class DynamoAuditLog:
    def __init__(self, client: Any, table: str, inbox_table: str, main_table: str) -> None:
        self._db, self._table, self._inbox, self._main = client, table, inbox_table, main_table

    # --- recording (any request) --------------------------------------------------------------

    def record(self, event: AuditEvent) -> None:
        self._db.put_item(TableName=self._inbox, Item=event_item(event),
                          ConditionExpression="attribute_not_exists(event_id)")

    def append(self, agency_id: str, *, at: datetime, actor: str, action: str, target: str,
               outcome: str = "success", details: dict[str, Any] | None = None,
               source: str | None = None) -> AuditEvent:
        event = audit.new_event(agency_id, at=at, actor=actor, action=action, target=target, outcome=outcome,
                                details=details, source=source if source is not None else request_context.source())
        self.record(event)
        return event

    # --- reading ----------------------------------------------------------------------------------

    def entries(self, agency_id: str, after_seq: int = 0) -> Iterator[AuditEntry]:
        pages = self._db.get_paginator("query").paginate(
            TableName=self._table, KeyConditionExpression="agency_id = :a AND seq > :h",
            ExpressionAttributeValues={":a": value(agency_id), ":h": value(max(HEAD, after_seq))},
            ConsistentRead=True)
        for page in pages:
            for item in page["Items"]:
                data = from_item(item)
                yield AuditEntry.model_validate({**data, "details": json.loads(data["details"])})

    def waiting(self, agency_id: str) -> int:
        pages = self._db.get_paginator("query").paginate(
            TableName=self._inbox, KeyConditionExpression="agency_id = :a",
            ExpressionAttributeValues={":a": value(agency_id)}, Select="COUNT", ConsistentRead=True)
        return sum(page["Count"] for page in pages)

    # --- the sequencer ----------------------------------------------------------------------------

    def chain_waiting(self, agency_id: str) -> int:
        head = self._head(agency_id)
        found = self._db.query(TableName=self._inbox, KeyConditionExpression="agency_id = :a",
                               ExpressionAttributeValues={":a": value(agency_id)},
                               Limit=audit.CHAIN_BATCH, ConsistentRead=True)
        events = [event_of(item) for item in found["Items"]]
        if not events:
            return 0
        entries = audit.chain(events, head)
        try:
            with conflicts_as("another sequencer chained first", busy_too=True):  # the head read tells
                self._db.transact_write_items(TransactItems=self._chain_writes(events, entries, head))
        except Conflict:
            if self._head(agency_id) != head:
                return 0  # another run moved the head: it chains what is left
            raise  # a write this batch touches was busy (e.g. the agency item): the caller retries
        return len(events)

    def _chain_writes(self, events: list[AuditEvent], entries: list[AuditEntry],
                      head: tuple[int, str] | None) -> list[dict[str, Any]]:
        last = entries[-1]
        writes: list[dict[str, Any]] = [
            {"Put": {"TableName": self._table, "Item": self._entry_item(e),
                     "ConditionExpression": "attribute_not_exists(agency_id)"}} for e in entries]
        writes += [{"Delete": {"TableName": self._inbox, "ConditionExpression": "attribute_exists(event_id)",
                               "Key": to_item({"agency_id": e.agency_id, "event_id": e.event_id})}} for e in events]
        head_put: dict[str, Any] = {"TableName": self._table, "Item": to_item(
            {"agency_id": last.agency_id, "seq": HEAD, "last_seq": last.seq, "last_hash": last.hash})}
        if head:
            head_put |= {"ConditionExpression": "last_seq = :prev",
                         "ExpressionAttributeValues": {":prev": value(head[0])}}
        else:
            head_put["ConditionExpression"] = "attribute_not_exists(agency_id)"
        writes.append({"Put": head_put})
        usage = sum(e.usage_delta for e in events)
        if usage and self._has_profile(last.agency_id):  # (a condition would block the chain instead)
            writes.append({"Update": {"TableName": self._main, "UpdateExpression": "ADD used_bytes :d",
                                      "Key": to_item({"pk": f"AGENCY#{last.agency_id}", "sk": "PROFILE"}),
                                      "ExpressionAttributeValues": {":d": value(usage)}}})
        return writes

    def _has_profile(self, agency_id: str) -> bool:
        """Usage is kept on the agency's profile; events of an id with none (never in service, but
        possible in tests and tools) are chained without it rather than creating a stub profile."""
        found = self._db.get_item(TableName=self._main, ProjectionExpression="pk", ConsistentRead=True,
                                  Key=to_item({"pk": f"AGENCY#{agency_id}", "sk": "PROFILE"}))
        return "Item" in found

    def _head(self, agency_id: str) -> tuple[int, str] | None:
        found = self._db.get_item(TableName=self._table, Key=to_item({"agency_id": agency_id, "seq": HEAD}),
                                  ConsistentRead=True)
        if "Item" not in found:
            return None
        head = from_item(found["Item"])
        return head["last_seq"], head["last_hash"]

    @staticmethod
    def _entry_item(entry: AuditEntry) -> dict[str, Any]:
        return to_item({**entry.model_dump(mode="json"),
                        "details": json.dumps(entry.details, sort_keys=True, default=str)})
