"""Shares between agencies in the main table: filed under the owner (`AGENCY#<owner>`,
`SHARE#<id>`) and indexed for the recipient in gsi1 (`SHARED_WITH#<recipient>`, `SHARE#<id>`), so
neither side's listing scans. The index only finds a share: every decision reads the owner's item
consistently, so a revocation counts from the moment it is written."""
from __future__ import annotations

from typing import Any

from ..domain.errors import InvalidInput
from ..domain.models import AuditEvent, Page
from ..domain.sharing import Share
from .dynamo_codec import DynamoBase, decode_cursor, encode_cursor, from_item, to_item, value

INDEX = "gsi1"


class DynamoShares(DynamoBase):
    def create_share(self, share: Share, *, events: list[AuditEvent]) -> None:
        item = {**self._key(share.owner_agency_id, share.share_id),
                "gsi1pk": f"SHARED_WITH#{share.recipient_agency_id}", "gsi1sk": f"SHARE#{share.share_id}",
                **share.model_dump(mode="json")}
        self._commit({"Put": self._write(item, new=True)}, events=events, conflict="That share already exists.")

    def get_share(self, owner_agency_id: str, share_id: str) -> Share | None:
        item = self._get(f"AGENCY#{owner_agency_id}", f"SHARE#{share_id}")
        return Share.model_validate(item) if item else None

    def shared_with(self, recipient_agency_id: str, share_id: str) -> Share | None:
        found = self._db.query(TableName=self._table, IndexName=INDEX, Limit=1,
                               KeyConditionExpression="gsi1pk = :p AND gsi1sk = :s",
                               ExpressionAttributeValues={":p": value(f"SHARED_WITH#{recipient_agency_id}"),
                                                          ":s": value(f"SHARE#{share_id}")})
        if not found["Items"]:
            return None
        share = self.get_share(from_item(found["Items"][0])["owner_agency_id"], share_id)
        return share if share and share.recipient_agency_id == recipient_agency_id else None

    def revoke_share(self, share: Share, *, events: list[AuditEvent]) -> None:
        self._commit({"Update": {
            "TableName": self._table, "Key": to_item(self._key(share.owner_agency_id, share.share_id)),
            "UpdateExpression": "SET revoked_at = :at, revoked_by = :by",
            "ConditionExpression": "attribute_exists(pk) AND attribute_not_exists(revoked_at)",
            "ExpressionAttributeValues": {":at": value(share.revoked_at.isoformat() if share.revoked_at else None),
                                          ":by": value(share.revoked_by)},
        }}, events=events, conflict="The share was already revoked.", code="already_revoked")

    def record_view(self, share: Share, *, events: list[AuditEvent]) -> None:
        self._commit({"ConditionCheck": {
            "TableName": self._table, "Key": to_item(self._key(share.owner_agency_id, share.share_id)),
            "ConditionExpression": "attribute_exists(pk) AND attribute_not_exists(revoked_at)",
        }}, events=events, conflict="The share was revoked.", code="share_revoked")

    def list_outgoing(self, owner_agency_id: str, *, limit: int, cursor: str | None) -> Page:
        query: dict[str, Any] = {"KeyConditionExpression": "pk = :p AND begins_with(sk, :s)",
                                 "ExpressionAttributeValues": {":p": value(f"AGENCY#{owner_agency_id}"),
                                                               ":s": value("SHARE#")}}
        if cursor:
            start = decode_cursor(cursor, ("sk",))
            query["ExclusiveStartKey"] = to_item({"pk": f"AGENCY#{owner_agency_id}", **start})
        return self._page(query, limit, ("sk",))

    def list_incoming(self, recipient_agency_id: str, *, limit: int, cursor: str | None) -> Page:
        partition = f"SHARED_WITH#{recipient_agency_id}"
        query: dict[str, Any] = {"IndexName": INDEX, "KeyConditionExpression": "gsi1pk = :p",
                                 "ExpressionAttributeValues": {":p": value(partition)}}
        if cursor:
            start = decode_cursor(cursor, ("pk", "gsi1sk"))
            if not start["pk"].startswith("AGENCY#") or not start["gsi1sk"].startswith("SHARE#"):
                raise InvalidInput("The page cursor is not valid.", code="bad_cursor")
            query["ExclusiveStartKey"] = to_item({**start, "sk": start["gsi1sk"], "gsi1pk": partition})
        return self._page(query, limit, ("pk", "gsi1sk"))

    def _page(self, query: dict[str, Any], limit: int, fields: tuple[str, ...]) -> Page:
        found = self._db.query(TableName=self._table, Limit=limit, ScanIndexForward=False, **query)
        return Page(items=[Share.model_validate(from_item(i)) for i in found["Items"]],
                    next_cursor=encode_cursor(found.get("LastEvaluatedKey"), fields))

    @staticmethod
    def _key(owner_agency_id: str, share_id: str) -> dict[str, str]:
        return {"pk": f"AGENCY#{owner_agency_id}", "sk": f"SHARE#{share_id}"}
