"""Interfaces the services depend on. adapters/ implements them on AWS; tests/fakes.py in memory."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict

from .access_requests import AccessRequest, RequestStatus
from .models import Agency, ApiKey, AuditEntry, CitizenLink, EvidenceFile, Hold, Page, Submission, Tombstone


class Clock(Protocol):
    def now(self) -> datetime: ...


class AgencyRepository(Protocol):
    def create_agency(self, agency: Agency) -> None: ...
    def get_agency(self, agency_id: str) -> Agency | None: ...
    def save_agency(self, agency: Agency) -> None: ...
    def add_usage(self, agency_id: str, delta_bytes: int) -> None:
        """Atomically add (or with a negative delta, remove) stored bytes."""
    def create_key(self, key: ApiKey) -> None: ...
    def key_by_hash(self, key_hash: str) -> ApiKey | None: ...


class LinkRepository(Protocol):
    def create_link(self, link: CitizenLink, token_hash: str) -> None: ...
    def save_deliveries(self, link: CitizenLink) -> None: ...
    def link_by_token_hash(self, token_hash: str) -> CitizenLink | None: ...
    def get_link(self, agency_id: str, link_id: str) -> CitizenLink | None: ...


class SubmissionRepository(Protocol):
    def get_submission(self, agency_id: str, submission_id: str) -> Submission | None: ...
    def open_submission(self, submission: Submission) -> None:
        """Create it; Conflict if it already exists."""
    def add_files(self, submission: Submission, files: list[EvidenceFile]) -> None:
        """Append files if the stored version still equals submission.version; Conflict otherwise."""
    def save(self, submission: Submission, fields: set[str]) -> Submission:
        """Write these top-level fields if the stored version still equals submission.version
        (Conflict otherwise); the indexes that derive from them follow. Returns it, version + 1."""
    def pending_reviews(self) -> Iterator[tuple[str, str]]:
        """(agency id, submission id) of every submission waiting for review."""
    def due_on(self, day: date) -> Iterator[tuple[str, str]]:
        """(agency id, submission id) of submissions whose retention ends that day, not on hold."""
    def delete_with_tombstone(self, submission: Submission, tombstone: Tombstone) -> None:
        """Remove the submission and leave its tombstone, in one step."""
    def record_check(self, agency_id: str, submission_id: str, file: EvidenceFile) -> bool:
        """Store a file's verification result once; False if it was already recorded."""
    def list_submissions(
        self, agency_id: str, *, case_ref: str | None, limit: int, cursor: str | None
    ) -> Page: ...


class AccessRequestRepository(Protocol):
    def create(self, request: AccessRequest) -> None:
        """Conflict (duplicate_request) if the same organisation already asked."""
    def get(self, request_id: str) -> AccessRequest | None: ...
    def decide(self, request: AccessRequest) -> None:
        """Store an approval or denial; Conflict (already_decided) unless it was pending."""
    def attach_agency(self, request_id: str, agency_id: str) -> None: ...
    def list(self, status: RequestStatus, *, limit: int, cursor: str | None) -> Page: ...


class RetentionRepository(Protocol):
    def place_hold(self, hold: Hold) -> None: ...
    def release_hold(self, agency_id: str, case_ref: str) -> bool: ...
    def case_hold(self, agency_id: str, case_ref: str) -> Hold | None: ...
    def tombstone(self, agency_id: str, submission_id: str) -> Tombstone | None: ...
    def last_swept_day(self) -> date | None: ...
    def set_last_swept_day(self, day: date) -> None: ...


class AuditLog(Protocol):
    def append(
        self, agency_id: str, *, at: datetime, actor: str, action: str, target: str,
        outcome: str = "success", details: dict[str, Any] | None = None, source: str | None = None,
    ) -> AuditEntry:
        """Append an entry; source defaults to where the current request or event came from."""
    def entries(self, agency_id: str, after_seq: int = 0) -> Iterator[AuditEntry]:
        """The chain in sequence order, from after_seq on."""


class PresignedPost(BaseModel):
    model_config = ConfigDict(defer_build=True)  # built on first use, not at import

    url: str
    fields: dict[str, str]
    expires_at: datetime


class ObjectInfo(BaseModel):
    model_config = ConfigDict(defer_build=True)  # built on first use, not at import

    size: int
    etag: str
    content_type: str | None = None


class BlobStore(Protocol):
    def presign_upload(self, key: str, *, content_type: str, size: int, expires_in: timedelta,
                       now: datetime) -> PresignedPost: ...
    def presign_download(self, key: str, *, filename: str, expires_in: timedelta) -> str: ...
    def head(self, key: str) -> ObjectInfo | None: ...
    def read_head(self, key: str, length: int) -> bytes: ...
    def iter_chunks(self, key: str) -> Iterator[bytes]: ...
    def delete_all_versions(self, key: str) -> int:
        """Delete every version and delete marker of the key; returns how many were removed."""


class SmsSender(Protocol):
    def send_sms(self, phone: str, text: str) -> str:
        """Send and return the provider's message id; raise DeliveryFailed."""


class EmailSender(Protocol):
    def send_email(self, to: str, subject: str, text: str) -> str: ...
