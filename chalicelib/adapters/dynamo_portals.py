"""Community portals in the main table: filed under their agency (`AGENCY#<id>`, `PORTAL#<id>`), and
a claim on the slug (`SLUG#<slug>`, `SLUG`) that makes it unique across agencies. The claim is
written, moved or kept in the same transaction as the portal, so neither exists without the other."""
from __future__ import annotations

from typing import Any

from ..domain.models import AuditEvent
from ..domain.portals import Portal
from .dynamo_codec import DynamoBase, conflicts_as, from_item, to_item, value

COUNTERS = frozenset({"sessions", "refused"})  # statistics kept on the portal item


class DynamoPortals(DynamoBase):
    def create_portal(self, portal: Portal, *, event: AuditEvent) -> None:
        self._commit({"Put": self._write(self._item(portal), new=True)},
                     {"Put": self._write(self._claim(portal), new=True)},
                     event=event, conflict="That address is already taken.", code="slug_taken")

    def save_portal(self, portal: Portal, *, read_version: int, old_slug: str, event: AuditEvent) -> Portal:
        """Write the portal if it is still the version read (counters are kept, not overwritten)."""
        saved = portal.model_copy(update={"version": read_version + 1})
        item = {k: v for k, v in self._item(saved).items() if k not in COUNTERS}
        names = {f"#{k}": k for k in item if k not in ("pk", "sk")}
        writes: list[dict[str, Any]] = [{"Update": {
            "TableName": self._table, "Key": to_item(self._key(portal.agency_id, portal.portal_id)),
            "UpdateExpression": "SET " + ", ".join(f"#{k} = :{k}" for k in item if k not in ("pk", "sk")),
            "ConditionExpression": "attribute_exists(pk) AND #version = :read",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": {**{f":{k}": value(v) for k, v in item.items() if k not in ("pk", "sk")},
                                          ":read": value(read_version)},
        }}]
        if portal.slug != old_slug:
            old_claim = to_item({"pk": f"SLUG#{old_slug}", "sk": "SLUG"})
            writes.append({"Delete": {"TableName": self._table, "Key": old_claim,
                                      "ConditionExpression": "portal_id = :p",
                                      "ExpressionAttributeValues": {":p": value(portal.portal_id)}}})
            writes.append({"Put": self._write(self._claim(saved), new=True)})
        self._commit(*writes, event=event, conflict="The portal changed meanwhile, or its new address is taken.")
        return saved

    def get_portal(self, agency_id: str, portal_id: str) -> Portal | None:
        item = self._get(f"AGENCY#{agency_id}", f"PORTAL#{portal_id}")
        return Portal.model_validate(item) if item else None

    def portal_by_slug(self, slug: str) -> Portal | None:
        claim = self._get(f"SLUG#{slug}", "SLUG")
        return self.get_portal(claim["agency_id"], claim["portal_id"]) if claim else None

    def list_portals(self, agency_id: str) -> list[Portal]:
        query: dict[str, Any] = {"TableName": self._table, "KeyConditionExpression": "pk = :p AND begins_with(sk, :s)",
                                 "ExpressionAttributeValues": {":p": value(f"AGENCY#{agency_id}"),
                                                               ":s": value("PORTAL#")},
                                 "ScanIndexForward": False}
        found: list[Portal] = []
        while True:
            page = self._db.query(**query)
            found += [Portal.model_validate(from_item(i)) for i in page["Items"]]
            if "LastEvaluatedKey" not in page:
                return found
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def count(self, portal: Portal, field: str, amount: int = 1) -> None:
        if field not in COUNTERS:
            raise ValueError(f"{field} is not a portal counter")
        with conflicts_as("No such portal."):
            self._db.update_item(TableName=self._table, Key=to_item(self._key(portal.agency_id, portal.portal_id)),
                                 UpdateExpression="ADD #f :n", ConditionExpression="attribute_exists(pk)",
                                 ExpressionAttributeNames={"#f": field},
                                 ExpressionAttributeValues={":n": value(amount)})

    def _item(self, portal: Portal) -> dict[str, Any]:
        return {**self._key(portal.agency_id, portal.portal_id), **portal.model_dump(mode="json")}

    @staticmethod
    def _claim(portal: Portal) -> dict[str, Any]:
        return {"pk": f"SLUG#{portal.slug}", "sk": "SLUG", "agency_id": portal.agency_id, "portal_id": portal.portal_id}

    @staticmethod
    def _key(agency_id: str, portal_id: str) -> dict[str, str]:
        return {"pk": f"AGENCY#{agency_id}", "sk": f"PORTAL#{portal_id}"}
