"""Submissions in the main table: one item per submission, its files in a map (at most a few
hundred small entries, far below DynamoDB's 400 KB item limit), so every state change is one
conditional update of one item."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

from ..domain.errors import Conflict
from ..domain.models import (
    AuditEvent,
    EvidenceFile,
    FileStatus,
    Page,
    ReviewState,
    Submission,
    SubmissionStatus,
    TamperAttempt,
    Tombstone,
)
from .dynamo_codec import DynamoBase, conflicts_as, decode_cursor, encode_cursor, from_item, to_item, value
from .dynamo_pages import query_items

CASE_INDEX, DUE_INDEX, PENDING_INDEX = "gsi1", "gsi2", "gsi3"
SWEEP_KEY = ("SYSTEM", "RETENTION_SWEEP")
PENDING = "PENDING"


class DynamoSubmissions(DynamoBase):
    def get_submission(self, agency_id: str, submission_id: str) -> Submission | None:
        item = self._get(f"AGENCY#{agency_id}", f"SUB#{submission_id}")
        return Submission.model_validate(item) if item else None

    def open_submission(self, submission: Submission, *, event: AuditEvent | None = None) -> None:
        data = {**self._key(submission.agency_id, submission.submission_id),
                "gsi1pk": f"CASE#{submission.agency_id}#{submission.case_ref}",
                "gsi1sk": f"SUB#{submission.submission_id}", **submission.model_dump(mode="json")}
        self._commit({"Put": self._write(data, new=True)}, event=event, conflict="This submission is already open.")

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

    def save(self, submission: Submission, fields: set[str], *, event: AuditEvent | None = None) -> Submission:
        data = submission.model_dump(mode="json", include=fields)
        sets = [f"#{k} = :{k}" for k in data]
        removes: list[str] = []
        index = self._index_attributes(submission)
        for name, attr in index.items():
            if attr is None:
                removes.append(name)
            else:
                sets.append(f"{name} = :{name}")
        expression = "SET " + ", ".join(sets + ["version = version + :one"])
        if removes:
            expression += " REMOVE " + ", ".join(removes)
        update = {
            "TableName": self._table, "Key": to_item(self._key(submission.agency_id, submission.submission_id)),
            "UpdateExpression": expression, "ConditionExpression": "version = :v",
            "ExpressionAttributeNames": {f"#{k}": k for k in data},
            "ExpressionAttributeValues": {
                **{f":{k}": value(v) for k, v in data.items()},
                **{f":{k}": value(v) for k, v in index.items() if v is not None},
                ":v": value(submission.version), ":one": value(1)},
        }
        self._commit({"Update": update}, event=event, conflict="The submission changed meanwhile; try again.",
                     code="concurrent_change")
        return submission.model_copy(update={"version": submission.version + 1})

    @staticmethod
    def _index_attributes(submission: Submission) -> dict[str, str | None]:
        """The sparse indexes a submission belongs to follow from its state: waiting for review
        (gsi3), and the day the retention sweep should look at it (gsi2). None removes the attribute."""
        member = f"{submission.agency_id}#{submission.submission_id}"
        pending = submission.status is SubmissionStatus.SUBMITTED and submission.review.state is ReviewState.PENDING
        due = submission.sweep_day
        return {
            "gsi3pk": PENDING if pending else None, "gsi3sk": member if pending else None,
            "gsi2pk": f"DUE#{due:%Y-%m-%d}" if due else None, "gsi2sk": member if due else None,
        }

    def pending_reviews(self) -> Iterator[tuple[str, str]]:
        yield from self._members(PENDING_INDEX, "gsi3pk", PENDING)

    def due_on(self, day: date) -> Iterator[tuple[str, str]]:
        yield from self._members(DUE_INDEX, "gsi2pk", f"DUE#{day:%Y-%m-%d}")

    def _members(self, index: str, key: str, partition: str) -> Iterator[tuple[str, str]]:
        query: dict[str, Any] = {"TableName": self._table, "IndexName": index,
                                 "KeyConditionExpression": f"{key} = :p",
                                 "ExpressionAttributeValues": {":p": value(partition)},
                                 "ProjectionExpression": "agency_id, submission_id"}
        yield from ((item["agency_id"], item["submission_id"]) for item in query_items(self._db, query))

    def delete_with_tombstone(self, submission: Submission, tombstone: Tombstone, *,
                              event: AuditEvent | None = None) -> None:
        grave = {"pk": f"AGENCY#{submission.agency_id}", "sk": f"TOMBSTONE#{submission.submission_id}",
                 **tombstone.model_dump(mode="json")}
        key = to_item(self._key(submission.agency_id, submission.submission_id))
        self._commit(
            {"Delete": {"TableName": self._table, "Key": key, "ConditionExpression": "version = :v",
                        "ExpressionAttributeValues": {":v": value(submission.version)}}},
            {"Put": {"TableName": self._table, "Item": to_item(grave)}},
            event=event, conflict="The submission changed or is gone.", code="concurrent_change")

    def record_check(self, agency_id: str, submission_id: str, file: EvidenceFile, *,
                     event: AuditEvent | None = None) -> bool:
        update = {
            "TableName": self._table, "Key": to_item(self._key(agency_id, submission_id)),
            "UpdateExpression": "SET files.#f = :file", "ConditionExpression": "files.#f.#st = :awaiting",
            "ExpressionAttributeNames": {"#f": file.file_id, "#st": "status"},
            "ExpressionAttributeValues": {":file": value(file.model_dump(mode="json")),
                                          ":awaiting": value(FileStatus.AWAITING_UPLOAD.value)},
        }
        try:
            self._commit({"Update": update}, event=event, conflict="This file's check is already recorded.")
            return True
        except Conflict:  # a duplicate event got here first
            return False

    def record_tamper(self, agency_id: str, submission_id: str, file_id: str, attempt: TamperAttempt, *,
                      event: AuditEvent | None = None) -> bool:
        key = to_item(self._key(agency_id, submission_id))
        noted = attempt.model_dump(mode="json")
        # Files recorded before attempts were kept have no map yet: the first attempt creates it.
        stored = (self._get(*self._key(agency_id, submission_id).values()) or {}).get("files", {}).get(file_id, {})
        if "tamper_attempts" in stored:
            change = ("SET files.#f.#t.#v = :a", "attribute_not_exists(files.#f.#t.#v)", noted)
        else:
            change = ("SET files.#f.#t = :a", "attribute_not_exists(files.#f.#t)", {attempt.version_id: noted})
        names = {"#f": file_id, "#t": "tamper_attempts", **({"#v": attempt.version_id} if "#v" in change[0] else {})}
        update = {"TableName": self._table, "Key": key, "UpdateExpression": change[0],
                  "ConditionExpression": change[1], "ExpressionAttributeNames": names,
                  "ExpressionAttributeValues": {":a": value(change[2])}}
        try:
            self._commit({"Update": update}, event=event, conflict="This attempt is already noted.")
            return True
        except Conflict:  # noted by an earlier delivery of the same event
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

    def tombstone(self, agency_id: str, submission_id: str) -> Tombstone | None:
        item = self._get(f"AGENCY#{agency_id}", f"TOMBSTONE#{submission_id}")
        return Tombstone.model_validate(item) if item else None

    def last_swept_day(self) -> date | None:
        item = self._get(*SWEEP_KEY)
        return date.fromisoformat(item["day"]) if item else None

    def set_last_swept_day(self, day: date) -> None:
        self._db.put_item(TableName=self._table, Item=to_item(
            {"pk": SWEEP_KEY[0], "sk": SWEEP_KEY[1], "day": day.isoformat()}))
