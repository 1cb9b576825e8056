"""Legal holds on whole cases, in the main table."""
from __future__ import annotations

from ..domain.errors import Conflict
from ..domain.models import AuditEvent, Hold
from .dynamo_codec import DynamoBase, to_item


class DynamoHolds(DynamoBase):
    def place_hold(self, hold: Hold, *, event: AuditEvent | None = None) -> bool:
        item = {"pk": f"AGENCY#{hold.agency_id}", "sk": f"HOLD#CASE#{hold.case_ref}", **hold.model_dump(mode="json")}
        try:
            self._commit({"Put": {"TableName": self._table, "Item": to_item(item),
                                  "ConditionExpression": "attribute_not_exists(pk)"}},
                         event=event, conflict="The case is already on hold.")
            return True
        except Conflict:
            return False

    def release_hold(self, agency_id: str, case_ref: str, *, event: AuditEvent | None = None) -> bool:
        key = to_item({"pk": f"AGENCY#{agency_id}", "sk": f"HOLD#CASE#{case_ref}"})
        try:
            self._commit({"Delete": {"TableName": self._table, "Key": key,
                                     "ConditionExpression": "attribute_exists(pk)"}},
                         event=event, conflict="The case has no hold.")
            return True
        except Conflict:
            return False

    def case_hold(self, agency_id: str, case_ref: str) -> Hold | None:
        item = self._get(f"AGENCY#{agency_id}", f"HOLD#CASE#{case_ref}")
        return Hold.model_validate(item) if item else None
