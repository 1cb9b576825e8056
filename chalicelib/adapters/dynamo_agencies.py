"""Agencies and API keys in the main table."""
from __future__ import annotations

from ..domain.models import Agency, ApiKey
from .dynamo_codec import DynamoBase, to_item, value


class DynamoAgencies(DynamoBase):
    def create_agency(self, agency: Agency) -> None:
        self._put(self._agency(agency), new=True, conflict="That agency already exists.")

    def save_agency(self, agency: Agency) -> None:
        self._put(self._agency(agency), new=False, conflict="No such agency.")

    def add_usage(self, agency_id: str, delta_bytes: int) -> None:
        self._db.update_item(TableName=self._table, Key=to_item({"pk": f"AGENCY#{agency_id}", "sk": "PROFILE"}),
                             UpdateExpression="ADD used_bytes :d", ConditionExpression="attribute_exists(pk)",
                             ExpressionAttributeValues={":d": value(delta_bytes)})

    def get_agency(self, agency_id: str) -> Agency | None:
        item = self._get(f"AGENCY#{agency_id}", "PROFILE")
        return Agency.model_validate(item) if item else None

    def create_key(self, key: ApiKey) -> None:
        data = {"pk": f"APIKEY#{key.key_hash}", "sk": "APIKEY", **key.model_dump(mode="json")}
        self._put(data, new=True, conflict="That key already exists.")

    def key_by_hash(self, key_hash: str) -> ApiKey | None:
        item = self._get(f"APIKEY#{key_hash}", "APIKEY")
        return ApiKey.model_validate(item) if item else None

    @staticmethod
    def _agency(agency: Agency) -> dict[str, object]:
        return {"pk": f"AGENCY#{agency.agency_id}", "sk": "PROFILE", **agency.model_dump(mode="json")}
