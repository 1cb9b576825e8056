"""Agencies and API keys in the main table."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..domain.models import Agency, ApiKey, AuditEvent, Page
from .dynamo_codec import DynamoBase, decode_cursor, encode_cursor, from_item, to_item, value

DIRECTORY = "AGENCIES"  # gsi1 partition of every agency profile, sorted by id: the operator's directory


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
        data = {"pk": f"APIKEY#{key.key_hash}", "sk": "APIKEY", **key.model_dump(mode="json")}
        self._commit({"Put": self._write(data, new=True)}, event=event, conflict="That key already exists.")

    def key_by_hash(self, key_hash: str) -> ApiKey | None:
        item = self._get(f"APIKEY#{key_hash}", "APIKEY")
        return ApiKey.model_validate(item) if item else None

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
