"""Licences in the main table, filed in the generic gsi1 index under their program end day
(`ENDS#<YYYY-MM-DD>`, or `ENDS#global` for agencies that follow the global date), so the daily
scheduler queries a few partitions and never scans. The program settings are one item."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

from ..domain.licensing import GLOBAL_END, MAX_ENDING_RANGE_DAYS, AgencyLicense, ProgramSettings, end_index_key
from ..domain.models import AuditEvent
from .dynamo_codec import DynamoBase, to_item, value
from .dynamo_pages import query_items

SETTINGS_KEY = ("SYSTEM", "PROGRAM_SETTINGS")


class DynamoLicenses(DynamoBase):
    def get(self, agency_id: str) -> AgencyLicense | None:
        item = self._get(f"AGENCY#{agency_id}", "LICENSE")
        return AgencyLicense.model_validate(item) if item else None

    def create(self, lic: AgencyLicense, *, event: AuditEvent | None = None) -> None:
        self._commit({"Put": self._write(self._item(lic), new=True)}, event=event,
                     conflict=f"Agency {lic.agency_id} already has a licence.")

    def save(self, lic: AgencyLicense, *, event: AuditEvent | None = None) -> AgencyLicense:
        saved = lic.model_copy(update={"version": lic.version + 1})
        self._commit({"Put": {"TableName": self._table, "Item": to_item(self._item(saved)),
                              "ConditionExpression": "version = :v",
                              "ExpressionAttributeValues": {":v": value(lic.version)}}},
                     event=event, conflict="The licence changed meanwhile; try again.", code="concurrent_change")
        return saved

    def ending_between(self, start: date, end: date) -> Iterator[str]:
        if (end - start).days > MAX_ENDING_RANGE_DAYS:
            raise ValueError(f"ending_between answers at most {MAX_ENDING_RANGE_DAYS} days at a time")
        keys = [(start + timedelta(days=n)).isoformat() for n in range((end - start).days + 1)]
        if start <= self.get_settings().end <= end:
            keys.append(GLOBAL_END)
        found: set[str] = set()
        for key in keys:
            found |= set(self._members(key))
        yield from sorted(found)

    def _members(self, key: str) -> Iterator[str]:
        query: dict[str, Any] = {"TableName": self._table, "IndexName": "gsi1",
                                 "KeyConditionExpression": "gsi1pk = :p",
                                 "ExpressionAttributeValues": {":p": value(f"ENDS#{key}")}}
        yield from (item["gsi1sk"] for item in query_items(self._db, query))

    def get_settings(self) -> ProgramSettings:
        item = self._get(*SETTINGS_KEY)
        return ProgramSettings.model_validate(item) if item else ProgramSettings()

    def save_settings(self, settings: ProgramSettings, *, event: AuditEvent | None = None) -> ProgramSettings:
        saved = settings.model_copy(update={"version": settings.version + 1})
        condition = "version = :v" if settings.version else "attribute_not_exists(pk)"
        values = {"ExpressionAttributeValues": {":v": value(settings.version)}} if settings.version else {}
        item = to_item({"pk": SETTINGS_KEY[0], "sk": SETTINGS_KEY[1], **saved.model_dump(mode="json")})
        self._commit({"Put": {"TableName": self._table, "ConditionExpression": condition, **values, "Item": item}},
                     event=event, conflict="The program settings changed meanwhile; try again.",
                     code="concurrent_change")
        return saved

    @staticmethod
    def _item(lic: AgencyLicense) -> dict[str, Any]:
        key = end_index_key(lic)
        index = {"gsi1pk": f"ENDS#{key}", "gsi1sk": lic.agency_id} if key else {}
        return {"pk": f"AGENCY#{lic.agency_id}", "sk": "LICENSE", **index, **lic.model_dump(mode="json")}
