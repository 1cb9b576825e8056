"""The records the system keeps. Pure data: no I/O, no clock."""
from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Role(str, Enum):
    OFFICER = "officer"
    AGENCY_ADMIN = "agency_admin"


class Record(BaseModel):
    model_config = ConfigDict(extra="ignore", use_enum_values=False)


class Agency(Record):
    agency_id: str
    name: str
    country: str = "US"
    created_at: datetime
    link_ttl_hours: int = 72
    max_files_per_link: int = 50


class ApiKey(Record):
    key_id: str
    key_hash: str
    agency_id: str
    role: Role
    label: str
    created_at: datetime


class Principal(Record):
    """Who is calling: resolved by the authorizer from a bearer key."""

    agency_id: str
    role: Role
    key_id: str

    @property
    def actor(self) -> str:
        return f"key:{self.key_id}"


class Delivery(Record):
    channel: str  # "sms" | "email"
    status: str  # "sent" | "failed"
    detail: str | None = None


class CitizenLink(Record):
    link_id: str
    agency_id: str
    case_ref: str
    language: str
    note: str | None = None
    phone_masked: str | None = None
    email_masked: str | None = None
    created_by: str
    created_at: datetime
    expires_at: datetime
    max_files: int
    deliveries: list[Delivery] = Field(default_factory=list)


class FileStatus(str, Enum):
    AWAITING_UPLOAD = "awaiting_upload"
    VERIFIED = "verified"
    REJECTED = "rejected"


class EvidenceFile(Record):
    file_id: str
    name: str
    size: int
    content_type: str
    caption: str | None = None
    key: str
    status: FileStatus = FileStatus.AWAITING_UPLOAD
    declared_at: datetime
    sha256: str | None = None
    detected_type: str | None = None
    etag: str | None = None
    checked_at: datetime | None = None
    reject_reason: str | None = None


class SubmissionStatus(str, Enum):
    OPEN = "open"
    SUBMITTED = "submitted"


class Submission(Record):
    """One citizen's upload session. For an officer's link it shares the link's id."""

    submission_id: str
    agency_id: str
    link_id: str
    case_ref: str
    status: SubmissionStatus = SubmissionStatus.OPEN
    created_at: datetime
    submitted_at: datetime | None = None
    files: dict[str, EvidenceFile] = Field(default_factory=dict)
    version: int = 0


class AuditEntry(Record):
    agency_id: str
    seq: int
    at: datetime
    actor: str
    action: str
    target: str
    outcome: str = "success"
    details: dict[str, Any] = Field(default_factory=dict)
    prev_hash: str
    hash: str


class Page(Record):
    items: list[Any]
    next_cursor: str | None = None
