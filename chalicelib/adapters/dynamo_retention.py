"""Legal holds on cases, tombstones of deleted submissions, and the sweep's checkpoint."""
from __future__ import annotations

from datetime import date

from ..domain.errors import Conflict
from ..domain.models import AuditEvent, Hold, Tombstone
from .dynamo_codec import DynamoBase, to_item

SWEEP_KEY = ("SYSTEM", "RETENTION_SWEEP")


class DynamoRetention(DynamoBase):
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

    def tombstone(self, agency_id: str, submission_id: str) -> Tombstone | None:
        item = self._get(f"AGENCY#{agency_id}", f"TOMBSTONE#{submission_id}")
        return Tombstone.model_validate(item) if item else None

    def last_swept_day(self) -> date | None:
        item = self._get(*SWEEP_KEY)
        return date.fromisoformat(item["day"]) if item else None

    def set_last_swept_day(self, day: date) -> None:
        self._db.put_item(TableName=self._table, Item=to_item(
            {"pk": SWEEP_KEY[0], "sk": SWEEP_KEY[1], "day": day.isoformat()}))
