"""Citizen links in the main table. The link lives under its agency; a separate token item maps
the token's hash to it, written in one transaction so neither exists without the other."""
from __future__ import annotations

from typing import Any

from ..domain.models import AuditEvent, CitizenLink
from .dynamo_codec import DynamoBase, to_item, value


class DynamoLinks(DynamoBase):
    def create_link(self, link: CitizenLink, token_hash: str, *, event: AuditEvent | None = None) -> None:
        link_item = {"pk": f"AGENCY#{link.agency_id}", "sk": f"LINK#{link.link_id}", **link.model_dump(mode="json")}
        token_item = {"pk": f"TOKEN#{token_hash}", "sk": "TOKEN", "agency_id": link.agency_id,
                      "link_id": link.link_id,
                      # TTL is only a backstop for tidiness; expiry is enforced on every use.
                      "expires_ttl": int(link.expires_at.timestamp()) + 90 * 86400}
        self._commit({"Put": self._new(link_item)}, {"Put": self._new(token_item)}, event=event,
                     conflict="That link already exists.")

    def save_deliveries(self, link: CitizenLink, *, event: AuditEvent | None = None) -> None:
        self._commit({"Update": {
            "TableName": self._table, "Key": to_item({"pk": f"AGENCY#{link.agency_id}", "sk": f"LINK#{link.link_id}"}),
            "UpdateExpression": "SET deliveries = :d",
            "ExpressionAttributeValues": {":d": value([d.model_dump(mode="json") for d in link.deliveries])},
        }}, event=event, conflict="No such link.")

    def link_by_token_hash(self, token_hash: str) -> CitizenLink | None:
        token = self._get(f"TOKEN#{token_hash}", "TOKEN")
        return self.get_link(token["agency_id"], token["link_id"]) if token else None

    def get_link(self, agency_id: str, link_id: str) -> CitizenLink | None:
        item = self._get(f"AGENCY#{agency_id}", f"LINK#{link_id}")
        return CitizenLink.model_validate(item) if item else None

    def _new(self, data: dict[str, Any]) -> dict[str, Any]:
        return {"TableName": self._table, "Item": to_item(data), "ConditionExpression": "attribute_not_exists(pk)"}
