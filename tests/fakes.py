"""In-memory implementations of the ports: real classes whose state tests can assert on.
They follow the same contract as the DynamoDB/S3 adapters (tests/integration runs both)."""
from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from typing import Any

from chalicelib.adapters.memory_audit import MemoryAuditLog
from chalicelib.adapters.memory_licenses import MemoryLicenses
from chalicelib.domain.access_requests import AccessRequest, RequestStatus
from chalicelib.domain.errors import Conflict, DeliveryFailed, InvalidInput
from chalicelib.domain.models import (
    Agency,
    ApiKey,
    CitizenLink,
    EvidenceFile,
    FileStatus,
    Hold,
    Page,
    ReviewState,
    Submission,
    SubmissionStatus,
    Tombstone,
)
from chalicelib.domain.ports import ObjectInfo, PresignedPost
from chalicelib.services.deps import Deps

START = datetime(2020, 4, 1, 9, 0, tzinfo=timezone.utc)


class FixedClock:
    def __init__(self, at: datetime = START) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)


class MemoryAgencies:
    def __init__(self) -> None:
        self.agencies: dict[str, Agency] = {}
        self.keys: dict[str, ApiKey] = {}

    def create_agency(self, agency: Agency) -> None:
        if agency.agency_id in self.agencies:
            raise Conflict("That agency already exists.")
        self.agencies[agency.agency_id] = agency

    def save_agency(self, agency: Agency) -> None:
        if agency.agency_id not in self.agencies:
            raise Conflict("No such agency.")
        self.agencies[agency.agency_id] = agency

    def get_agency(self, agency_id: str) -> Agency | None:
        return self.agencies.get(agency_id)

    def add_usage(self, agency_id: str, delta_bytes: int) -> None:
        agency = self.agencies[agency_id]
        self.agencies[agency_id] = agency.model_copy(update={"used_bytes": agency.used_bytes + delta_bytes})

    def create_key(self, key: ApiKey) -> None:
        if key.key_hash in self.keys:
            raise Conflict("That key already exists.")
        self.keys[key.key_hash] = key

    def key_by_hash(self, key_hash: str) -> ApiKey | None:
        return self.keys.get(key_hash)


class MemoryLinks:
    def __init__(self) -> None:
        self.links: dict[tuple[str, str], CitizenLink] = {}
        self.tokens: dict[str, tuple[str, str]] = {}

    def create_link(self, link: CitizenLink, token_hash: str) -> None:
        if token_hash in self.tokens or (link.agency_id, link.link_id) in self.links:
            raise Conflict("That link already exists.")
        self.links[(link.agency_id, link.link_id)] = link.model_copy(deep=True)
        self.tokens[token_hash] = (link.agency_id, link.link_id)

    def save_deliveries(self, link: CitizenLink) -> None:
        self.links[(link.agency_id, link.link_id)].deliveries = list(link.deliveries)

    def link_by_token_hash(self, token_hash: str) -> CitizenLink | None:
        where = self.tokens.get(token_hash)
        return self.get_link(*where) if where else None

    def get_link(self, agency_id: str, link_id: str) -> CitizenLink | None:
        found = self.links.get((agency_id, link_id))
        return found.model_copy(deep=True) if found else None


class MemorySubmissions:
    def __init__(self) -> None:
        self.items: dict[tuple[str, str], Submission] = {}
        self.tombstones: dict[tuple[str, str], Tombstone] = {}
        self.due_queries = 0

    def get_submission(self, agency_id: str, submission_id: str) -> Submission | None:
        found = self.items.get((agency_id, submission_id))
        return found.model_copy(deep=True) if found else None

    def open_submission(self, submission: Submission) -> None:
        if (submission.agency_id, submission.submission_id) in self.items:
            raise Conflict("This submission is already open.")
        self.items[(submission.agency_id, submission.submission_id)] = submission.model_copy(deep=True)

    def add_files(self, submission: Submission, files: list[EvidenceFile]) -> None:
        stored = self.items[(submission.agency_id, submission.submission_id)]
        if stored.version != submission.version or stored.status is not SubmissionStatus.OPEN:
            raise Conflict("The files changed meanwhile; send the request again.", code="concurrent_change")
        stored.files.update({f.file_id: f for f in files})
        stored.version += 1

    def save(self, submission: Submission, fields: set[str]) -> Submission:
        stored = self.items.get((submission.agency_id, submission.submission_id))
        if stored is None or stored.version != submission.version:
            raise Conflict("The submission changed meanwhile; try again.", code="concurrent_change")
        for name in fields:
            setattr(stored, name, getattr(submission, name))
        stored.version += 1
        return submission.model_copy(update={"version": stored.version})

    def pending_reviews(self) -> Iterator[tuple[str, str]]:
        for (agency_id, sid), s in sorted(self.items.items()):
            if s.status is SubmissionStatus.SUBMITTED and s.review.state is ReviewState.PENDING:
                yield agency_id, sid

    def due_on(self, day: date) -> Iterator[tuple[str, str]]:
        self.due_queries += 1
        for (agency_id, sid), s in sorted(self.items.items()):
            if s.sweep_day == day:
                yield agency_id, sid

    def delete_with_tombstone(self, submission: Submission, tombstone: Tombstone) -> None:
        self.items.pop((submission.agency_id, submission.submission_id), None)
        self.tombstones[(submission.agency_id, submission.submission_id)] = tombstone

    def record_check(self, agency_id: str, submission_id: str, file: EvidenceFile) -> bool:
        stored = self.items.get((agency_id, submission_id))
        current = stored.files.get(file.file_id) if stored else None
        if stored is None or current is None or current.status is not FileStatus.AWAITING_UPLOAD:
            return False
        stored.files[file.file_id] = file
        return True

    def list_submissions(self, agency_id: str, *, case_ref: str | None, limit: int, cursor: str | None) -> Page:
        mine = sorted((s for (a, _), s in self.items.items()
                       if a == agency_id and (case_ref is None or s.case_ref == case_ref)),
                      key=lambda s: s.submission_id, reverse=True)
        if cursor:
            if not any(s.submission_id == cursor for s in mine):
                raise InvalidInput("The page cursor is not valid.", code="bad_cursor")
            mine = [s for s in mine if s.submission_id < cursor]
        page = mine[:limit]
        more = len(mine) > limit
        return Page(items=[s.model_copy(deep=True) for s in page], next_cursor=page[-1].submission_id if more else None)


class MemoryRetention:
    def __init__(self, submissions: MemorySubmissions | None = None) -> None:
        self.holds: dict[tuple[str, str], Hold] = {}
        self.submissions = submissions
        self.swept: date | None = None

    def place_hold(self, hold: Hold) -> None:
        self.holds[(hold.agency_id, hold.case_ref)] = hold

    def release_hold(self, agency_id: str, case_ref: str) -> bool:
        return self.holds.pop((agency_id, case_ref), None) is not None

    def case_hold(self, agency_id: str, case_ref: str) -> Hold | None:
        return self.holds.get((agency_id, case_ref))

    def tombstone(self, agency_id: str, submission_id: str) -> Tombstone | None:
        return self.submissions.tombstones.get((agency_id, submission_id)) if self.submissions else None

    def last_swept_day(self) -> date | None:
        return self.swept

    def set_last_swept_day(self, day: date) -> None:
        self.swept = day


class MemoryAccessRequests:
    def __init__(self) -> None:
        self.requests: dict[str, AccessRequest] = {}
        self.fingerprints: dict[str, str] = {}

    def create(self, request: AccessRequest) -> None:
        if request.fingerprint in self.fingerprints:
            raise Conflict("A request from this organisation is already on file.", code="duplicate_request")
        self.requests[request.request_id] = request
        self.fingerprints[request.fingerprint] = request.request_id

    def get(self, request_id: str) -> AccessRequest | None:
        return self.requests.get(request_id)

    def decide(self, request: AccessRequest) -> None:
        if self.requests[request.request_id].status is not RequestStatus.PENDING:
            raise Conflict("This request was already decided.", code="already_decided")
        self.requests[request.request_id] = request
        if request.status is RequestStatus.DENIED:
            self.fingerprints.pop(request.fingerprint, None)

    def attach_agency(self, request_id: str, agency_id: str) -> None:
        self.requests[request_id] = self.requests[request_id].model_copy(update={"agency_id": agency_id})

    def list(self, status: RequestStatus, *, limit: int, cursor: str | None) -> Page:
        matching = sorted((r for r in self.requests.values() if r.status is status), key=lambda r: r.request_id)
        if cursor:
            matching = [r for r in matching if r.request_id > cursor]
        page = matching[:limit]
        return Page(items=page, next_cursor=page[-1].request_id if len(matching) > limit else None)


class MemoryBlobs:
    """Objects in a dict. `put` stands in for the browser's POST to S3."""

    def __init__(self) -> None:
        self.objects: dict[str, tuple[bytes, str]] = {}
        self.signed: list[dict[str, Any]] = []

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        self.objects[key] = (data, content_type)

    def presign_upload(self, key: str, *, content_type: str, size: int, expires_in: timedelta,
                       now: datetime) -> PresignedPost:
        self.signed.append({"key": key, "content_type": content_type, "size": size})
        return PresignedPost(url="https://uploads.example/", fields={"key": key, "Content-Type": content_type},
                             expires_at=now + expires_in)

    def presign_download(self, key: str, *, filename: str, expires_in: timedelta) -> str:
        return f"https://downloads.example/{key}?expires={int(expires_in.total_seconds())}"

    def head(self, key: str) -> ObjectInfo | None:
        if key not in self.objects:
            return None
        data, content_type = self.objects[key]
        return ObjectInfo(size=len(data), etag=hashlib.md5(data).hexdigest(), content_type=content_type)

    def read_head(self, key: str, length: int) -> bytes:
        return self.objects[key][0][:length]

    def iter_chunks(self, key: str) -> Iterator[bytes]:
        data = self.objects[key][0]
        for start in range(0, len(data), 4096):
            yield data[start:start + 4096]

    def delete_all_versions(self, key: str) -> int:
        return 1 if self.objects.pop(key, None) is not None else 0


class RecordingSms:
    def __init__(self, fail: bool = False) -> None:
        self.sent: list[tuple[str, str]] = []
        self.fail = fail

    def send_sms(self, phone: str, text: str) -> str:
        if self.fail:
            raise DeliveryFailed("SMS not sent: the number has opted out")
        self.sent.append((phone, text))
        return f"sms-{len(self.sent)}"


class RecordingEmail:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []

    def send_email(self, to: str, subject: str, text: str) -> str:
        self.sent.append((to, subject, text))
        return f"email-{len(self.sent)}"


def make_deps(clock: FixedClock | None = None, **overrides: Any) -> Deps:
    submissions = overrides.pop("submissions", None) or MemorySubmissions()
    parts: dict[str, Any] = dict(
        clock=clock or FixedClock(), agencies=MemoryAgencies(), links=MemoryLinks(), submissions=submissions,
        retention=MemoryRetention(submissions), access_requests=MemoryAccessRequests(), licenses=MemoryLicenses(),
        audit=MemoryAuditLog(),
        blobs=MemoryBlobs(), sms=RecordingSms(),
        email=RecordingEmail(), max_upload_bytes=100 * 1024 * 1024,
    )
    parts.update(overrides)
    return Deps(**parts)
