"""The program's own table (infra/template.yaml ProgramTable; its point-in-time recovery window is
short so that deletion + window stays within 30 days). Items:

| item | pk | sk |
|---|---|---|
| lineage | `ART#<id>` | `LINEAGE` |
| content (records as JSON) | `ART#<id>` | `CONTENT` |
| lookup (agency, source item, parent) | `AGENCY#<a>` / `SRC#<a>/<s>` / `PARENT#<id>` | `ART#<id>` |
| watched source item | `SOURCE#<a>/<s>` | `WATCH` (gsi1 `PROGRAM_SOURCES` / `<day>#<a>/<s>`) |
| deletion journal entry | `RCPT#<receipt id>` | `E#<artifact id>#<n>` |
| signed receipt (head, signature) | `RCPT#<receipt id>` | `RECEIPT` |

A receipt's entries are its journal, chained again on read (the chain is a pure function of them):
the RECEIPT item stays small whatever the number of entries. Completing a receipt marks its request
done in the main table (out of the due index) in the same transaction, with its audit event; a
withdrawal's completion also releases the agency's open-withdrawal guard (adapters/dynamo_program.py)."""
from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from datetime import date
from typing import Any

from ..domain.errors import Conflict
from ..domain.lineage import Artifact, Lineage
from ..domain.models import AuditEvent
from ..domain.program import RemovalRequest, WithdrawalRequest
from ..domain.receipts import Deleted, Receipt, chain
from .dynamo_codec import DynamoBase, from_item, to_item
from .dynamo_program import open_withdrawal_key
from .memory_program_store import index_keys

SOURCES = "PROGRAM_SOURCES"


class DynamoProgramStore(DynamoBase):
    def __init__(self, client: Any, table: str, inbox_table: str, main_table: str) -> None:
        super().__init__(client, table, inbox_table)
        self._main = main_table

    @property
    def name(self) -> str:
        return f"dynamodb:{self._table}"

    # --- artifacts and lineage ----------------------------------------------------------------------
    def get_lineage(self, artifact_id: str) -> Lineage | None:
        item = self._get(f"ART#{artifact_id}", "LINEAGE")
        return Lineage.model_validate(item) if item else None

    def put_artifact(self, lineage: Lineage, artifact: Artifact, *, event: AuditEvent) -> bool:
        for key in index_keys(lineage):  # filed first: a crash leaves a lookup to nothing, never the reverse
            self._db.put_item(TableName=self._table, Item=to_item({"pk": key, "sk": f"ART#{lineage.artifact_id}"}))
        pk = f"ART#{lineage.artifact_id}"
        try:
            self._commit({"Put": self._write({"pk": pk, "sk": "LINEAGE", **lineage.model_dump(mode="json")}, new=True)},
                         {"Put": self._write({"pk": pk, "sk": "CONTENT", "records": json.dumps(artifact.records)},
                                             new=True)},
                         event=event, conflict="That artifact already exists.")
        except Conflict:
            return False
        return True

    def _ids(self, pk: str) -> Iterator[str]:
        for item in self._query({"KeyConditionExpression": "pk = :p AND begins_with(sk, :s)",
                                 "ExpressionAttributeValues": to_item({":p": pk, ":s": "ART#"})}):
            yield item["sk"][4:]

    def artifacts_of_agency(self, agency_id: str) -> Iterator[str]:
        return self._ids(f"AGENCY#{agency_id}")

    def artifacts_of_source(self, source: str) -> Iterator[str]:
        return self._ids(f"SRC#{source}")

    def children(self, artifact_id: str) -> Iterator[str]:
        return self._ids(f"PARENT#{artifact_id}")

    def content_key(self, artifact_id: str) -> str:
        return f"ART#{artifact_id}/CONTENT"

    def lineage_key(self, artifact_id: str) -> str:
        return f"ART#{artifact_id}/LINEAGE"

    def delete_artifact(self, artifact_id: str, lineage: Lineage | None) -> None:
        pk = f"ART#{artifact_id}"
        self._delete(pk, "CONTENT")
        for key in index_keys(lineage) if lineage else []:
            self._delete(key, pk)
        self._delete(pk, "LINEAGE")  # last: until then a rerun finds the artifact again

    # --- deletion journal and receipts ---------------------------------------------------------------
    def journal_add(self, receipt_id: str, entry_key: str, entry: Deleted) -> None:
        item = {"pk": f"RCPT#{receipt_id}", "sk": f"E#{entry_key}", **entry.model_dump(mode="json")}
        with contextlib.suppress(Conflict):  # a rerun: the first entry (and its time) stands
            self._put(item, new=True, conflict="already journalled")

    def journal(self, receipt_id: str) -> list[Deleted]:
        found = self._query({"KeyConditionExpression": "pk = :p AND begins_with(sk, :s)",
                             "ExpressionAttributeValues": to_item({":p": f"RCPT#{receipt_id}", ":s": "E#"})})
        return [Deleted.model_validate(item) for item in found]

    def complete(self, receipt: Receipt, request: WithdrawalRequest | RemovalRequest | None, *,
                 event: AuditEvent) -> None:
        head = receipt.model_dump(mode="json", exclude={"entries"}) | {"count": len(receipt.entries)}
        writes: list[dict[str, Any]] = [{"Put": self._write({"pk": f"RCPT#{receipt.receipt_id}", "sk": "RECEIPT",
                                                              **head}, new=True)}]
        if request is not None:
            kind = "WITHDRAWAL" if isinstance(request, WithdrawalRequest) else "REMOVAL"
            writes.append({"Update": {
                "TableName": self._main,
                "Key": to_item({"pk": f"AGENCY#{request.agency_id}", "sk": f"PROGRAM#{kind}#{request.request_id}"}),
                "UpdateExpression": "SET done_at = :d REMOVE gsi1pk, gsi1sk",
                "ConditionExpression": "attribute_exists(pk) AND attribute_not_exists(done_at)",
                "ExpressionAttributeValues": to_item({":d": receipt.completed_at.isoformat()})}})
        if isinstance(request, WithdrawalRequest):  # the agency may withdraw again (if it re-joins)
            writes.append({"Delete": {
                "TableName": self._main, "Key": to_item(open_withdrawal_key(request.agency_id)),
                "ConditionExpression": "attribute_not_exists(pk) OR request_id = :r",  # none: made before guards
                "ExpressionAttributeValues": to_item({":r": request.request_id})}})
        self._commit(*writes, event=event, conflict="That request is already done.", code="request_done")

    def get_receipt(self, receipt_id: str) -> Receipt | None:
        head = self._get(f"RCPT#{receipt_id}", "RECEIPT")
        if head is None:
            return None
        entries = chain(self.journal(receipt_id))
        return Receipt.model_validate({**head, "entries": [e.model_dump() for e in entries]})

    # --- source items watched for retention's deletions ---------------------------------------------
    def file_source(self, source: str, check_on: date) -> None:
        self._db.put_item(TableName=self._table, Item=to_item({
            "pk": f"SOURCE#{source}", "sk": "WATCH", "source": source, "gsi1pk": SOURCES,
            "gsi1sk": f"{check_on.isoformat()}#{source}"}))

    def sources_due(self, through: date) -> Iterator[str]:
        for item in self._query({"IndexName": "gsi1", "KeyConditionExpression": "gsi1pk = :p AND gsi1sk <= :t",
                                 "ExpressionAttributeValues": to_item({":p": SOURCES,
                                                                       ":t": f"{through.isoformat()}#~"})}):
            yield item["gsi1sk"].split("#", 1)[1]

    def drop_source(self, source: str) -> None:
        self._delete(f"SOURCE#{source}", "WATCH")

    # --- plumbing -------------------------------------------------------------------------------------
    def _delete(self, pk: str, sk: str) -> None:
        self._db.delete_item(TableName=self._table, Key=to_item({"pk": pk, "sk": sk}))

    def _query(self, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
        query: dict[str, Any] = {"TableName": self._table, **params}
        if "IndexName" not in params:
            query["ConsistentRead"] = True
        while True:
            page = self._db.query(**query)
            for raw in page.get("Items", []):
                yield from_item(raw)
            if "LastEvaluatedKey" not in page:
                return
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]


