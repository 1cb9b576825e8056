"""Interfaces the services depend on. adapters/ implements them on AWS; tests/fakes.py in memory."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any, Protocol

from pydantic import BaseModel

from .models import Agency, ApiKey, AuditEntry, CitizenLink, EvidenceFile, Page, Submission


class Clock(Protocol):
    def now(self) -> datetime: ...


class AgencyRepository(Protocol):
    def create_agency(self, agency: Agency) -> None: ...
    def get_agency(self, agency_id: str) -> Agency | None: ...
    def save_agency(self, agency: Agency) -> None: ...
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
    def mark_submitted(self, agency_id: str, submission_id: str, at: datetime) -> None:
        """Open -> submitted; Conflict if it was not open."""
    def record_check(self, agency_id: str, submission_id: str, file: EvidenceFile) -> bool:
        """Store a file's verification result once; False if it was already recorded."""
    def list_submissions(
        self, agency_id: str, *, case_ref: str | None, limit: int, cursor: str | None
    ) -> Page: ...


class AuditLog(Protocol):
    def append(
        self, agency_id: str, *, at: datetime, actor: str, action: str, target: str,
        outcome: str = "success", details: dict[str, Any] | None = None,
    ) -> AuditEntry: ...
    def entries(self, agency_id: str) -> Iterator[AuditEntry]: ...


class PresignedPost(BaseModel):
    url: str
    fields: dict[str, str]
    expires_at: datetime


class ObjectInfo(BaseModel):
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


class SmsSender(Protocol):
    def send_sms(self, phone: str, text: str) -> str:
        """Send and return the provider's message id; raise DeliveryFailed."""


class EmailSender(Protocol):
    def send_email(self, to: str, subject: str, text: str) -> str: ...
