"""Agencies and API keys in the main table."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

from botocore.exceptions import ClientError

from ..domain.models import Agency, ApiKey, AuditEvent, Page
from .dynamo_codec import DynamoBase, decode_cursor, encode_cursor, from_item, to_item, value

DIRECTORY = "AGENCIES"  # gsi1 partition of every agency profile, sorted by id: the operator's directory


def _iso(at: datetime) -> str:
    """An instant as the models store it (pydantic's JSON form), so stored values compare as text."""
    return at.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def key_index(key: ApiKey) -> dict[str, str]:
    """An agency's keys in gsi1 (`KEYS#<agency>`, by key id), so listing one agency's keys never scans."""
    return {"gsi1pk": f"KEYS#{key.agency_id}", "gsi1sk": key.key_id}


class DynamoAgencies(DynamoBase):
    def create_agency(self, agency: Agency, *, event: AuditEvent | None = None) -> None:
        self._commit({"Put": self._write(self._agency(agency), new=True)}, event=event,
                     conflict="That agency already exists.")

    def save_agency(self, agency: Agency, *, event: AuditEvent | None = None) -> None:
        """Everything but used_bytes, which only the audit sequencer moves (from chained events)."""
        data = {k: v for k, v in self._agency(agency).items() if k not in ("pk", "sk", "used_bytes")}
        self._commit({"Update": {
            "TableName": self._table, "Key": to_item({"pk": f"AGENCY#{agency.agency_id}", "sk": "PROFILE"}),
            "UpdateExpression": "SET " + ", ".join(f"#{k} = :{k}" for k in data),
            "ConditionExpression": "attribute_exists(pk)",
            "ExpressionAttributeNames": {f"#{k}": k for k in data},
            "ExpressionAttributeValues": {f":{k}": value(v) for k, v in data.items()},
        }}, event=event, conflict="No such agency.")

    def get_agency(self, agency_id: str) -> Agency | None:
        item = self._get(f"AGENCY#{agency_id}", "PROFILE")
        return Agency.model_validate(item) if item else None

    def create_key(self, key: ApiKey, *, event: AuditEvent | None = None) -> None:
        self._commit({"Put": self._write(self._key(key), new=True)}, event=event,
                     conflict="That key already exists.")

    def key_by_hash(self, key_hash: str) -> ApiKey | None:
        item = self._get(f"APIKEY#{key_hash}", "APIKEY")
        return ApiKey.model_validate(item) if item else None

    def list_keys(self, agency_id: str) -> list[ApiKey]:
        """Every key filed under the agency in gsi1, by key id (keys issued before the index are
        filed when next used, or by `./dev cli refile-keys`)."""
        pages = self._db.get_paginator("query").paginate(
            TableName=self._table, IndexName="gsi1", KeyConditionExpression="gsi1pk = :p",
            ExpressionAttributeValues={":p": value(f"KEYS#{agency_id}")})
        return [ApiKey.model_validate(from_item(i)) for page in pages for i in page["Items"]]

    def key_by_id(self, agency_id: str, key_id: str) -> ApiKey | None:
        """Found through the index, then read consistently from the key's own item."""
        found = self._db.query(TableName=self._table, IndexName="gsi1", Limit=1,
                               KeyConditionExpression="gsi1pk = :p AND gsi1sk = :s",
                               ExpressionAttributeValues={":p": value(f"KEYS#{agency_id}"), ":s": value(key_id)})
        if not found["Items"]:
            return None
        key = self.key_by_hash(from_item(found["Items"][0])["key_hash"])
        return key if key and key.agency_id == agency_id and key.key_id == key_id else None

    def touch_key(self, key: ApiKey, at: datetime, *, unless_since: datetime) -> bool:
        """Set last_used_at (and file a key issued before the index) unless it was set at or after
        `unless_since`: one conditional update, False when another call already did it."""
        try:
            self._db.update_item(
                TableName=self._table, Key=to_item({"pk": f"APIKEY#{key.key_hash}", "sk": "APIKEY"}),
                UpdateExpression="SET last_used_at = :at, gsi1pk = :p, gsi1sk = :s",
                ConditionExpression="attribute_exists(pk) AND (attribute_not_exists(last_used_at) "
                                    "OR last_used_at < :since)",
                ExpressionAttributeValues={":at": value(_iso(at)), ":since": value(_iso(unless_since)),
                                           ":p": value(key_index(key)["gsi1pk"]), ":s": value(key.key_id)})
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def revoke_key(self, key: ApiKey, *, at: datetime, by: str, event: AuditEvent,
                   keep: ApiKey | None = None) -> None:
        """Revoke it, on condition that it is still active and that `keep` (another admin key the
        agency must not lose) still is: two admins revoking each other cannot both succeed."""
        writes: list[dict[str, Any]] = [self._revocation(key, at, by)]
        if keep is not None:
            writes.append({"ConditionCheck": {
                "TableName": self._table, "Key": to_item({"pk": f"APIKEY#{keep.key_hash}", "sk": "APIKEY"}),
                "ConditionExpression": "attribute_exists(pk) AND attribute_not_exists(revoked_at)"}})
        self._commit(*writes, event=event, code="key_changed",
                     conflict="The key, or the agency's other admin key, changed meanwhile; list the keys again.")

    def rotate_key(self, old: ApiKey, new: ApiKey, *, at: datetime, by: str, event: AuditEvent) -> None:
        """Revoke the old key and create its successor in one transaction with the event."""
        self._commit(self._revocation(old, at, by), {"Put": self._write(self._key(new), new=True)}, event=event,
                     code="key_changed", conflict="The key changed meanwhile; list the keys again.")

    def unfiled_keys(self) -> Iterator[ApiKey]:
        """Keys missing from the index (issued before it and never used since): a one-off scan."""
        pages = self._db.get_paginator("scan").paginate(
            TableName=self._table, FilterExpression="sk = :s AND attribute_not_exists(gsi1pk)",
            ExpressionAttributeValues={":s": value("APIKEY")})
        for page in pages:
            yield from (ApiKey.model_validate(from_item(i)) for i in page["Items"])

    def file_key(self, key: ApiKey) -> None:
        self._db.update_item(
            TableName=self._table, Key=to_item({"pk": f"APIKEY#{key.key_hash}", "sk": "APIKEY"}),
            UpdateExpression="SET gsi1pk = :p, gsi1sk = :s", ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues={":p": value(key_index(key)["gsi1pk"]), ":s": value(key.key_id)})

    def _revocation(self, key: ApiKey, at: datetime, by: str) -> dict[str, Any]:
        return {"Update": {
            "TableName": self._table, "Key": to_item({"pk": f"APIKEY#{key.key_hash}", "sk": "APIKEY"}),
            "UpdateExpression": "SET revoked_at = :at, revoked_by = :by, gsi1pk = :p, gsi1sk = :s",
            "ConditionExpression": "attribute_exists(pk) AND attribute_not_exists(revoked_at)",
            "ExpressionAttributeValues": {":at": value(_iso(at)), ":by": value(by),
                                          ":p": value(key_index(key)["gsi1pk"]), ":s": value(key.key_id)}}}

    @staticmethod
    def _key(key: ApiKey) -> dict[str, Any]:
        return {"pk": f"APIKEY#{key.key_hash}", "sk": "APIKEY", **key_index(key), **key.model_dump(mode="json")}

    def list_agencies(self, *, limit: int, cursor: str | None) -> Page:
        """The operator's directory, by agency id, from gsi1 (`AGENCIES`): profiles are filed there
        when created or saved (`./dev cli refile-agencies` files those made before)."""
        query: dict[str, Any] = {"TableName": self._table, "IndexName": "gsi1", "Limit": limit,
                                 "KeyConditionExpression": "gsi1pk = :p",
                                 "ExpressionAttributeValues": {":p": value(DIRECTORY)}}
        if cursor:
            start = decode_cursor(cursor, ("gsi1sk",))
            query["ExclusiveStartKey"] = to_item({"pk": f"AGENCY#{start['gsi1sk']}", "sk": "PROFILE",
                                                  "gsi1pk": DIRECTORY, **start})
        found = self._db.query(**query)
        return Page(items=[Agency.model_validate(from_item(i)) for i in found["Items"]],
                    next_cursor=encode_cursor(found.get("LastEvaluatedKey"), ("gsi1sk",)))

    def unfiled_agencies(self) -> Iterator[Agency]:
        """Profiles missing from the directory index: a one-off scan for the re-filing command."""
        pages = self._db.get_paginator("scan").paginate(
            TableName=self._table, FilterExpression="sk = :s AND attribute_not_exists(gsi1pk)",
            ExpressionAttributeValues={":s": value("PROFILE")})
        for page in pages:
            yield from (Agency.model_validate(from_item(i)) for i in page["Items"])

    @staticmethod
    def _agency(agency: Agency) -> dict[str, object]:
        return {"pk": f"AGENCY#{agency.agency_id}", "sk": "PROFILE", "gsi1pk": DIRECTORY,
                "gsi1sk": agency.agency_id, **agency.model_dump(mode="json")}
