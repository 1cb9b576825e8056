"""Export jobs and their manifest rows in the main table.

    job   pk AGENCY#<agency_id>  sk EXPORT#<export_id>          (another agency's id finds nothing)
    row   pk EXPORT#<export_id>  sk ROW#<submission_id>#<file_id>   (the manifest is one Query)

A job is created with a conditional put and every later save is a put conditioned on the version
and status that were read, so of two chunk runs only one can advance a job. (Rows and progress
are two writes, not a transaction: moto copies whole tables per transaction, and a row is an
idempotent overwrite anyway.)"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..domain.exports import ExportJob, ExportStatus, ManifestRow
from ..domain.models import AuditEvent
from .dynamo_codec import DynamoBase, to_item, value
from .dynamo_pages import query_items


class DynamoExports(DynamoBase):
    def create_job(self, job: ExportJob, *, event: AuditEvent | None = None,
                   events: Sequence[AuditEvent] = ()) -> None:
        self._commit({"Put": self._write(self._job_item(job), new=True)}, event=event, events=events,
                     conflict="That export already exists.")

    def get_job(self, agency_id: str, export_id: str) -> ExportJob | None:
        item = self._get(f"AGENCY#{agency_id}", f"EXPORT#{export_id}")
        return ExportJob.model_validate(item) if item else None

    def save_job(self, job: ExportJob, *, expected: ExportStatus, event: AuditEvent | None = None) -> ExportJob:
        saved = job.model_copy(update={"version": job.version + 1})
        self._commit({"Put": self._job_put(saved, expected)}, event=event,
                     conflict="Another run moved this export first.", code="export_busy")
        return saved

    def put_row(self, row: ManifestRow) -> None:
        item = {"pk": f"EXPORT#{row.export_id}", "sk": f"ROW#{row.row_key}", **row.model_dump(mode="json")}
        self._db.put_item(TableName=self._table, Item=to_item(item))

    def rows(self, export_id: str, *, after: str | None = None, limit: int | None = None) -> list[ManifestRow]:
        query: dict[str, Any] = {
            "TableName": self._table, "ConsistentRead": True,
            "KeyConditionExpression": "pk = :p AND begins_with(sk, :r)",
            "ExpressionAttributeValues": {":p": value(f"EXPORT#{export_id}"), ":r": value("ROW#")},
        }
        if after:
            query["ExclusiveStartKey"] = to_item({"pk": f"EXPORT#{export_id}", "sk": f"ROW#{after}"})
        return [ManifestRow.model_validate(item) for item in query_items(self._db, query, limit=limit)]

    def _job_put(self, saved: ExportJob, expected: ExportStatus) -> dict[str, Any]:
        """A put of the job at its new version, conditioned on the version and status it had."""
        return {"TableName": self._table, "Item": to_item(self._job_item(saved)),
                "ConditionExpression": "version = :v AND #st = :s", "ExpressionAttributeNames": {"#st": "status"},
                "ExpressionAttributeValues": {":v": value(saved.version - 1), ":s": value(expected.value)}}

    @staticmethod
    def _job_item(job: ExportJob) -> dict[str, Any]:
        return {"pk": f"AGENCY#{job.agency_id}", "sk": f"EXPORT#{job.export_id}", **job.model_dump(mode="json")}
