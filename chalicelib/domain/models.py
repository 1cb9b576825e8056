"""The records the system keeps. Pure data: no I/O, no clock."""
from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Role(str, Enum):
    OFFICER = "officer"
    AGENCY_ADMIN = "agency_admin"
    OPERATOR = "operator"  # the vendor's staff: programme and licences, no agency's evidence


OPERATOR_AGENCY = "operator"  # the pseudo agency that operator keys and global audit entries belong to


class Record(BaseModel):
    # defer_build: each schema is built on first use, not at import (a cold start needs a few)
    model_config = ConfigDict(extra="ignore", use_enum_values=False, defer_build=True)


class AccessMode(str, Enum):
    FULL = "full"
    LIMITED = "limited"  # read, download and export only (decided by domain/licensing.py)


class RetentionPolicy(Record):
    """Days to keep a submission after it was sent, per category; None keeps it indefinitely."""

    default_days: int | None = None
    declined_days: int | None = None
    by_case_type: dict[str, int | None] = Field(default_factory=dict)


class Agency(Record):
    agency_id: str
    name: str
    country: str = "US"
    time_zone: str | None = None  # IANA name set by an operator; None: its country's (domain/time_zones.py)
    created_at: datetime
    link_ttl_hours: int = 72
    max_files_per_link: int = 50
    auto_accept: bool = False
    contact_email: str | None = None
    retention: RetentionPolicy = Field(default_factory=RetentionPolicy)
    used_bytes: int = 0  # what its evidence occupies, counted as files land and are deleted


class ApiKey(Record):
    key_id: str
    key_hash: str
    agency_id: str
    role: Role
    label: str
    created_at: datetime
    email: str | None = None  # where this user's notifications go
    last_used_at: datetime | None = None  # approximate: written at most once an hour (services/keys.py)
    revoked_at: datetime | None = None
    revoked_by: str | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class Principal(Record):
    """Who is calling: resolved by the authorizer from a bearer key."""

    agency_id: str
    role: Role
    key_id: str
    email: str | None = None

    @property
    def actor(self) -> str:
        return f"key:{self.key_id}"


class Delivery(Record):
    channel: str  # "sms" | "email"
    status: str  # "sent" | "failed"
    detail: str | None = None


class Origin(str, Enum):
    """Where evidence came from: set by the system when the item is created, never taken from a
    request body, kept for good. The improvement program reads it to decide what it may never use."""

    CITIZEN_LINK = "citizen_link"  # a citizen, through an officer's personal link
    COMMUNITY_PORTAL = "community_portal"  # a member of the public, through an event's portal
    AGENCY_CAPTURE = "agency_capture"  # the agency's own officers
    SHARED = "shared"  # another agency's item, seen through a share (never stored as an item)


class CitizenLink(Record):
    link_id: str
    agency_id: str
    case_ref: str
    case_type: str | None = None
    notify_email: str | None = None  # the requesting officer, told when the citizen is done
    language: str
    note: str | None = None
    phone_masked: str | None = None
    email_masked: str | None = None
    created_by: str
    created_at: datetime
    expires_at: datetime
    max_files: int
    deliveries: list[Delivery] = Field(default_factory=list)
    origin: Origin = Origin.CITIZEN_LINK  # COMMUNITY_PORTAL: opened by a submitter on a portal's page
    portal_id: str | None = None
    terms_version: str | None = None  # the portal's terms the submitter accepted
    contact: dict[str, str] = Field(default_factory=dict)  # what the portal asked the submitter for


class FileStatus(str, Enum):
    AWAITING_UPLOAD = "awaiting_upload"
    VERIFIED = "verified"
    REJECTED = "rejected"
    ABANDONED = "abandoned"  # never arrived; its multipart upload was aborted (domain/multipart.py)


class RejectCode(str, Enum):
    """Why a received file was refused: the page translates it for the citizen."""

    SIZE_MISMATCH = "size_mismatch"
    TYPE_MISMATCH = "type_mismatch"
    HASH_MISMATCH = "hash_mismatch"  # the bytes stored are not the bytes the browser read


class TamperAttempt(Record):
    """Another version written to a recorded file's key (a replayed upload form): kept aside, audited,
    never served in place of the pinned version."""

    version_id: str
    size: int
    detected_at: datetime


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
    reject_code: RejectCode | None = None
    upload_id: str | None = None  # the S3 multipart upload carrying it (large files)
    part_size: int | None = None  # bytes per part of that upload (the last may be shorter)
    client_sha256: str | None = None  # hex SHA-256 the browser computed while reading the file
    # The S3 object version that was checked: the evidence. Downloads and exports read this one only.
    version_id: str | None = None
    tamper_attempts: dict[str, TamperAttempt] = Field(default_factory=dict)  # by version id


class SubmissionStatus(str, Enum):
    OPEN = "open"
    SUBMITTED = "submitted"


class ReviewState(str, Enum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"


class Review(Record):
    state: ReviewState = ReviewState.PENDING
    by: str | None = None
    at: datetime | None = None
    reason: str | None = None


class Submission(Record):
    """One upload session: a citizen's (for an officer's link it shares the link's id) or an
    officer's own capture. Review, retention and legal hold apply to the submission as a whole;
    integrity to each file."""

    submission_id: str
    agency_id: str
    origin: Origin = Origin.CITIZEN_LINK  # items stored before origins were recorded all came from links
    link_id: str
    case_ref: str
    case_type: str | None = None
    status: SubmissionStatus = SubmissionStatus.OPEN
    created_at: datetime
    submitted_at: datetime | None = None
    files: dict[str, EvidenceFile] = Field(default_factory=dict)
    review: Review = Field(default_factory=Review)
    requested_by: str | None = None  # the officer's key that created the link
    legal_hold: bool = False
    retain_until: datetime | None = None  # None: no deletion scheduled
    sweep_day: date | None = None  # the due-index day the sweep will look on; None while held or kept
    version: int = 0


class Hold(Record):
    agency_id: str
    case_ref: str
    reason: str
    placed_by: str
    placed_at: datetime


class Tombstone(Record):
    """What remains of a deleted submission: enough to prove what was deleted, when and why."""

    agency_id: str
    submission_id: str
    case_ref: str
    deleted_at: datetime
    retain_until: datetime
    rule: str  # the policy category that deleted it, e.g. "default" or "declined"
    days: int
    files: list[dict[str, Any]]


class AuditFacts(Record):
    """What happened, by whom, to what, and from where: the part an event and its entry share."""

    agency_id: str
    at: datetime
    actor: str
    action: str
    target: str
    outcome: str = "success"
    details: dict[str, Any] = Field(default_factory=dict)
    source: str = ""  # client address and agent, or the schedule/event that acted


class AuditEvent(AuditFacts):
    """Something that happened, written to the agency's audit inbox in the same transaction as
    the change it records. The sequencer later gives it its place (seq) and hash in the chain."""

    event_id: str  # unique and time-sortable: the inbox key, kept on the chained entry
    usage_delta: int = 0  # stored bytes this change adds (or removes); applied when chained


class AuditEntry(AuditFacts):
    """An event in its place in the agency's hash chain."""

    seq: int
    event_id: str = ""  # the inbox event it was chained from; empty on entries chained before the inbox
    prev_hash: str
    hash: str


class AuditFilter(Record):
    target: str | None = None
    actor: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def matches(self, entry: AuditEntry) -> bool:
        return ((self.target is None or entry.target == self.target)
                and (self.actor is None or entry.actor == self.actor)
                and (self.action is None or entry.action == self.action)
                and (self.since is None or entry.at >= self.since)
                and (self.until is None or entry.at < self.until))


class Page(Record):
    items: list[Any]
    next_cursor: str | None = None


class Listing(BaseModel):
    """A list answer: each list route's subclass declares `items: list[ItsView]`; `next` is the cursor
    of the next page (null: no more, or a list without pages). Not generic: parametrizing a generic
    model builds its schema at import, which a cold start would pay for."""

    model_config = ConfigDict(defer_build=True)
    next: str | None = None
