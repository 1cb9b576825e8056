"""Agencies and API keys in the main table."""
from __future__ import annotations

from ..domain.models import Agency, ApiKey, AuditEvent
from .dynamo_codec import DynamoBase, to_item, value


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

    @staticmethod
    def _agency(agency: Agency) -> dict[str, object]:
        return {"pk": f"AGENCY#{agency.agency_id}", "sk": "PROFILE", **agency.model_dump(mode="json")}
