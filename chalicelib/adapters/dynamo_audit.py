"""The audit log: one partition per agency, entries keyed by sequence number, and a head item
(seq 0) holding the last sequence and hash. Each append writes the entry and moves the head in
one transaction conditioned on the head it read, so concurrent writers cannot fork the chain."""
from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from .. import request_context
from ..domain import audit
from ..domain.errors import Conflict
from ..domain.models import AuditEntry
from .dynamo_codec import conflicts_as, from_item, to_item, value

HEAD = 0
ATTEMPTS = 12


class DynamoAuditLog:
    def __init__(self, client: Any, table: str) -> None:
        self._db, self._table = client, table

    def append(self, agency_id: str, *, at: datetime, actor: str, action: str, target: str,
               outcome: str = "success", details: dict[str, Any] | None = None,
               source: str | None = None) -> AuditEntry:
        for attempt in range(ATTEMPTS):
            head = self._head(agency_id)
            entry = audit.next_entry(agency_id=agency_id, prev=head, at=at, actor=actor, action=action,
                                     target=target, outcome=outcome, details=details,
                                     source=source if source is not None else request_context.source())
            try:
                self._write(entry, head)
                return entry
            except Conflict:  # another writer appended first: back off, then chain onto theirs
                time.sleep(random.uniform(0, min(0.25, 0.005 * 2**attempt)))  # noqa: S311 - jitter only
        raise Conflict("The audit log is busy; try again.", code="audit_contention")

    def entries(self, agency_id: str, after_seq: int = 0) -> Iterator[AuditEntry]:
        query: dict[str, Any] = {
            "TableName": self._table, "KeyConditionExpression": "agency_id = :a AND seq > :h",
            "ExpressionAttributeValues": {":a": value(agency_id), ":h": value(max(HEAD, after_seq))},
            "ConsistentRead": True,
        }
        while True:
            page = self._db.query(**query)
            for item in page["Items"]:
                data = from_item(item)
                yield AuditEntry.model_validate({**data, "details": json.loads(data["details"])})
            if "LastEvaluatedKey" not in page:
                return
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _head(self, agency_id: str) -> tuple[int, str] | None:
        found = self._db.get_item(TableName=self._table, Key=to_item({"agency_id": agency_id, "seq": HEAD}),
                                  ConsistentRead=True)
        if "Item" not in found:
            return None
        head = from_item(found["Item"])
        return head["last_seq"], head["last_hash"]

    def _write(self, entry: AuditEntry, head: tuple[int, str] | None) -> None:
        # details go in as JSON text: DynamoDB would turn numbers into Decimals and break the hash.
        data = {**entry.model_dump(mode="json"), "details": json.dumps(entry.details, sort_keys=True, default=str)}
        head_put: dict[str, Any] = {
            "TableName": self._table,
            "Item": to_item({"agency_id": entry.agency_id, "seq": HEAD,
                             "last_seq": entry.seq, "last_hash": entry.hash}),
        }
        if head:
            head_put |= {"ConditionExpression": "last_seq = :prev",
                         "ExpressionAttributeValues": {":prev": value(head[0])}}
        else:
            head_put["ConditionExpression"] = "attribute_not_exists(agency_id)"
        with conflicts_as("audit head moved"):
            self._db.transact_write_items(TransactItems=[
                {"Put": {"TableName": self._table, "Item": to_item(data),
                         "ConditionExpression": "attribute_not_exists(agency_id)"}},
                {"Put": head_put},
            ])
