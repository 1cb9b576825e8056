"""Submissions in the main table: one item per submission, its files in a map (at most a few
hundred small entries, far below DynamoDB's 400 KB item limit), so every state change is one
conditional update of one item."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from ..domain.errors import Conflict
from ..domain.models import EvidenceFile, FileStatus, Page, Submission, SubmissionStatus
from .dynamo_codec import DynamoBase, conflicts_as, decode_cursor, encode_cursor, from_item, to_item, value

CASE_INDEX = "gsi1"


class DynamoSubmissions(DynamoBase):
    def get_submission(self, agency_id: str, submission_id: str) -> Submission | None:
        item = self._get(f"AGENCY#{agency_id}", f"SUB#{submission_id}")
        return Submission.model_validate(item) if item else None

    def open_submission(self, submission: Submission) -> None:
        data = {**self._key(submission.agency_id, submission.submission_id),
                "gsi1pk": f"CASE#{submission.agency_id}#{submission.case_ref}",
                "gsi1sk": f"SUB#{submission.submission_id}", **submission.model_dump(mode="json")}
        self._put(data, new=True, conflict="This submission is already open.")

    def add_files(self, submission: Submission, files: list[EvidenceFile]) -> None:
        names = {f"#f{i}": f.file_id for i, f in enumerate(files)}
        values = {f":f{i}": value(f.model_dump(mode="json")) for i, f in enumerate(files)}
        sets = ", ".join(f"files.#f{i} = :f{i}" for i in range(len(files)))
        with conflicts_as("The files changed meanwhile; send the request again.", code="concurrent_change"):
            self._db.update_item(
                TableName=self._table, Key=to_item(self._key(submission.agency_id, submission.submission_id)),
                UpdateExpression=f"SET {sets}, version = version + :one",
                ConditionExpression="version = :v AND #st = :open",
                ExpressionAttributeNames={**names, "#st": "status"},
                ExpressionAttributeValues={**values, ":one": value(1), ":v": value(submission.version),
                                           ":open": value(SubmissionStatus.OPEN.value)},
            )

    def mark_submitted(self, agency_id: str, submission_id: str, at: datetime) -> None:
        with conflicts_as("These files were already sent.", code="link_used"):
            self._db.update_item(
                TableName=self._table, Key=to_item(self._key(agency_id, submission_id)),
                UpdateExpression="SET #st = :done, submitted_at = :at, version = version + :one",
                ConditionExpression="#st = :open",
                ExpressionAttributeNames={"#st": "status"},
                ExpressionAttributeValues={":done": value(SubmissionStatus.SUBMITTED.value),
                                           ":open": value(SubmissionStatus.OPEN.value),
                                           ":at": value(at.isoformat()), ":one": value(1)},
            )

    def record_check(self, agency_id: str, submission_id: str, file: EvidenceFile) -> bool:
        try:
            with conflicts_as("This file's check is already recorded."):
                self._db.update_item(
                    TableName=self._table, Key=to_item(self._key(agency_id, submission_id)),
                    UpdateExpression="SET files.#f = :file",
                    ConditionExpression="files.#f.#st = :awaiting",
                    ExpressionAttributeNames={"#f": file.file_id, "#st": "status"},
                    ExpressionAttributeValues={":file": value(file.model_dump(mode="json")),
                                               ":awaiting": value(FileStatus.AWAITING_UPLOAD.value)},
                )
            return True
        except Conflict:  # a duplicate event got here first
            return False

    def list_submissions(self, agency_id: str, *, case_ref: str | None, limit: int, cursor: str | None) -> Page:
        if case_ref:
            fields: tuple[str, ...] = ("sk", "gsi1sk")
            query: dict[str, Any] = {"IndexName": CASE_INDEX, "KeyConditionExpression": "gsi1pk = :p",
                                     "ExpressionAttributeValues": {":p": value(f"CASE#{agency_id}#{case_ref}")}}
        else:
            fields = ("sk",)
            query = {"KeyConditionExpression": "pk = :p AND begins_with(sk, :s)",
                     "ExpressionAttributeValues": {":p": value(f"AGENCY#{agency_id}"), ":s": value("SUB#")}}
        if cursor:
            query["ExclusiveStartKey"] = self._start_key(agency_id, case_ref, decode_cursor(cursor, fields))
        found = self._db.query(TableName=self._table, Limit=limit, ScanIndexForward=False, **query)
        items = [Submission.model_validate(from_item(i)) for i in found["Items"]]
        return Page(items=items, next_cursor=encode_cursor(found.get("LastEvaluatedKey"), fields))

    @staticmethod
    def _start_key(agency_id: str, case_ref: str | None, sorts: dict[str, str]) -> dict[str, Any]:
        key = {"pk": f"AGENCY#{agency_id}", **sorts}
        if case_ref:
            key["gsi1pk"] = f"CASE#{agency_id}#{case_ref}"
        return to_item(key)

    @staticmethod
    def _key(agency_id: str, submission_id: str) -> dict[str, str]:
        return {"pk": f"AGENCY#{agency_id}", "sk": f"SUB#{submission_id}"}
