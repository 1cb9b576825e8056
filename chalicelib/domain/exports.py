"""Exports: an agency takes its evidence to its own storage (a bucket it owns, or download links).
Pure: the ports the export use cases need, the records they keep, and the rules (which files an
export covers, where each copy goes, what the manifest says). Time comes in as a parameter."""
from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from enum import Enum
from typing import Annotated, Any, Literal, Protocol

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from .commands import CaseRef, Command
from .errors import Forbidden
from .models import AuditEvent, EvidenceFile, FileStatus, Origin, Record, Submission

TAG_KEY = "citizen-evidence-agency"  # on every object written to a target bucket; see docs/EXPORT.md
DOWNLOAD_TTL = timedelta(minutes=5)
STALE_AFTER = timedelta(minutes=20)  # a running job untouched this long (Lambda caps at 15) may be retried


# --- ports -----------------------------------------------------------------------------------

class ExportRepository(Protocol):
    # Writes take the audit event that records them and commit both together (see domain/audit.py).
    def create_job(self, job: ExportJob, *, event: AuditEvent | None = None,
                   events: Sequence[AuditEvent] = ()) -> None:
        """Conflict if it exists. `events` records it in several logs at once (an export through a
        share: the recipient's export.started and the owner's shared_export.started)."""
    def get_job(self, agency_id: str, export_id: str) -> ExportJob | None: ...
    def save_job(self, job: ExportJob, *, expected: ExportStatus, event: AuditEvent | None = None) -> ExportJob:
        """Store it if the stored job is still at job.version and in status `expected`; returns it
        at version + 1. Conflict(code="export_busy") otherwise: another run moved the job first."""
    def put_row(self, row: ManifestRow) -> None: ...  # one file's row; an overwrite, so idempotent
    def rows(self, export_id: str, *, after: str | None = None, limit: int | None = None) -> list[ManifestRow]:
        """Rows in row-key order, those after `after` (a row_key) if given, at most `limit`."""


class SourceDigest(BaseModel):
    model_config = ConfigDict(defer_build=True)  # built on first use, not at import

    sha256: str
    size: int
    version_id: str | None = None  # the object version that was hashed, and is then copied


class ExportStorage(Protocol):
    def digest(self, key: str, version_id: str | None = None) -> SourceDigest | None:
        """Stream an evidence object (that version, if given) through SHA-256; None if not there."""
    def copy(self, key: str, *, version_id: str | None, bucket: str, target_key: str,
             tags: dict[str, str]) -> None:
        """Copy an evidence object server-side into a target bucket; TargetRefused if refused."""
    def put(self, key: str, body: bytes, *, content_type: str, bucket: str | None = None,
            tags: dict[str, str] | None = None) -> None:
        """Write a file to a target bucket (TargetRefused if refused), or to the evidence bucket."""
    def presign(self, key: str, *, filename: str, expires_in: timedelta, version_id: str | None = None) -> str:
        """A short-lived GET URL for an evidence-bucket object (that version, if given)."""


class JobQueue(Protocol):
    def enqueue(self, agency_id: str, export_id: str) -> None: ...  # one more chunk of this export


class TargetRefused(Forbidden):
    """The agency's bucket refused a write. The job fails with this message and can be retried."""

    code = "export_target_refused"

    def __init__(self, bucket: str, reason: str) -> None:
        super().__init__(refusal_message(bucket, reason), details={"bucket": bucket, "reason": reason})
        self.bucket, self.reason = bucket, reason


def refusal_message(bucket: str, reason: str) -> str:
    if reason == "NoSuchBucket":
        fix = "create it (or correct the name in the export request)"
    else:
        fix = (f"grant this service's export role s3:PutObject and s3:PutObjectTagging on "
               f"arn:aws:s3:::{bucket}/* in the bucket's policy (see docs/EXPORT.md)")
    return f"The bucket {bucket} refused the write ({reason}): {fix}, then retry the export."


# --- the request -----------------------------------------------------------------------------

_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_PREFIX = re.compile(r"^[A-Za-z0-9!_.*'()/-]*$")


class DownloadLinks(Command):
    type: Literal["download_links"]


class BucketTarget(Command):
    type: Literal["bucket"]
    bucket: str
    prefix: str = ""

    @field_validator("bucket")
    @classmethod
    def s3_bucket_name(cls, name: str) -> str:
        if not _BUCKET.match(name) or ".." in name or name.startswith("xn--") or name.endswith("-s3alias"):
            raise ValueError("not a valid S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)")
        if re.fullmatch(r"[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+", name):
            raise ValueError("a bucket name cannot look like an IP address")
        return name

    @field_validator("prefix")
    @classmethod
    def safe_prefix(cls, prefix: str) -> str:
        trimmed = prefix.rstrip("/")
        if len(prefix) > 200 or ".." in prefix or prefix.startswith("/") or "//" in trimmed:
            raise ValueError("at most 200 characters, no '..', no leading '/', no empty segments")
        if not _PREFIX.match(prefix):
            raise ValueError("use letters, digits and ! _ . * ' ( ) / - only")
        return trimmed


ExportTarget = Annotated[DownloadLinks | BucketTarget, Field(discriminator="type")]


class ExportFilter(Command):
    """Which submissions: one case and/or created_at in [from, to). Empty: all of them."""

    model_config = ConfigDict(validate_by_name=True, validate_by_alias=True)
    case_ref: CaseRef | None = None
    date_from: AwareDatetime | None = Field(default=None, alias="from", strict=False)
    date_to: AwareDatetime | None = Field(default=None, alias="to", strict=False)

    @field_validator("date_from", "date_to", mode="before")
    @classmethod
    def iso_text(cls, value: Any) -> Any:
        if value is not None and not isinstance(value, (str, datetime)):
            raise ValueError("give an ISO 8601 date-time with a time zone, e.g. 2024-01-31T00:00:00Z")
        return value

    @model_validator(mode="after")
    def from_before_to(self) -> ExportFilter:
        if self.date_from and self.date_to and self.date_from >= self.date_to:
            raise ValueError("'from' must be before 'to'")
        return self

    def covers(self, submission: Submission) -> bool:
        return ((self.case_ref is None or submission.case_ref == self.case_ref)
                and (self.date_from is None or submission.created_at >= self.date_from)
                and (self.date_to is None or submission.created_at < self.date_to))


class StartExport(ExportFilter):
    """POST /agency/exports: {"case_ref"?, "from"?, "to"?, "share_id"?, "target": {...}}. With a
    share_id, the export reads another agency's items through a share made with the caller."""

    share_id: Annotated[str, StringConstraints(min_length=1, max_length=40)] | None = None
    target: ExportTarget

    def export_filter(self) -> ExportFilter:
        return ExportFilter.model_validate(self.model_dump(exclude={"target", "share_id"}))


class ChunkMessage(Command):
    """The queue message that asks for one more chunk of an export."""

    agency_id: Annotated[str, Field(pattern=r"^[0-9a-z]{26}$")]
    export_id: Annotated[str, Field(pattern=r"^[0-9a-z]{26}$")]


# --- the records -----------------------------------------------------------------------------

class ExportStatus(str, Enum):
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class ExportPhase(str, Enum):
    COUNTING = "counting"  # walking the submissions once to know items_total
    COPYING = "copying"  # one file at a time: verify, copy, write its row
    MANIFEST = "manifest"  # assemble the rows, write manifest.json and manifest.csv
    FINISHED = "finished"


class Integrity(str, Enum):
    VERIFIED = "verified"  # re-hashed on export and equal to the recorded SHA-256
    MISMATCH = "mismatch"  # re-hashed and different: exported anyway, flagged and audited
    MISSING = "missing"  # a hash was recorded but the object is gone: flagged and audited
    NOT_RECEIVED = "not_received"  # declared, never uploaded
    REJECTED = "rejected"  # refused at ingest before it was hashed


class ExportCursor(Record):
    """Where the walk is: the listing page (its cursor) and the last item done on it."""

    page: str | None = None
    after_submission: str | None = None
    after_file: str | None = None


class ExportJob(Record):
    export_id: str
    agency_id: str
    requested_by: str
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None = None
    filter: ExportFilter
    target: ExportTarget
    status: ExportStatus = ExportStatus.RUNNING
    phase: ExportPhase = ExportPhase.COUNTING
    items_total: int = 0
    items_done: int = 0
    bytes_done: int = 0
    counts: dict[str, int] = Field(default_factory=dict)  # integrity value -> files
    cursor: ExportCursor = Field(default_factory=ExportCursor)
    error: str | None = None
    error_code: str | None = None
    chunks: int = 0
    version: int = 0
    share_id: str | None = None  # read through this share (made with agency_id) ...
    shared_by_agency_id: str | None = None  # ... of this agency's items; None: the agency's own

    @property
    def shared(self) -> bool:
        return self.share_id is not None


class ManifestRow(Record):
    """One file of an export. The published columns come first, in manifest order."""

    submission_id: str
    file_id: str
    case_ref: str
    name: str
    size: int
    content_type: str
    sha256: str | None = None  # recorded at ingest
    integrity: Integrity
    sha256_on_export: str | None = None  # computed now, from the bytes exported
    file_status: str
    exported: bool = False
    created_at: datetime
    submitted_at: datetime | None = None
    checked_at: datetime | None = None
    caption: str | None = None
    review_state: str | None = None  # the owner's decision: left out (None) of rows read through a share
    custody_events: int = 0
    custody_last_action: str | None = None
    custody_last_at: datetime | None = None
    target_key: str | None = None
    export_id: str  # internal from here on: not published
    bytes: int = 0
    source_key: str  # where the bytes are in the evidence bucket
    source_version: str | None = None  # the pinned version exported
    origin: Origin = Origin.CITIZEN_LINK  # the item's, copied (published); older rows: citizen links
    shared_by_agency_id: str | None = None  # through a share: the owner agency (origin is then `shared`) ...
    original_origin: Origin | None = None  # ... and the item's own origin; None for the agency's own items

    @property
    def row_key(self) -> str:
        return row_key(self.submission_id, self.file_id)


INTERNAL = ("export_id", "bytes", "source_key")
COLUMNS = tuple(name for name in ManifestRow.model_fields if name not in INTERNAL)


def row_key(submission_id: str, file_id: str) -> str:
    return f"{submission_id}#{file_id}"


# --- rules -----------------------------------------------------------------------------------

def files_in(submission: Submission, job: ExportJob) -> list[EvidenceFile]:
    """The submission's files the job covers, in file-id order. The job is a snapshot of what
    existed when it started: later submissions and files are left out, so counts stay true."""
    if submission.created_at >= job.created_at or not job.filter.covers(submission):
        return []
    return sorted((f for f in submission.files.values() if f.declared_at < job.created_at),
                  key=lambda f: f.file_id)


def pending(page: Iterable[Submission], job: ExportJob) -> list[tuple[Submission, EvidenceFile]]:
    """The page's items not yet done. Listings come newest first (ids descending), files by id."""
    done_sub, done_file = job.cursor.after_submission, job.cursor.after_file
    return [(s, f) for s in page for f in files_in(s, job)
            if done_sub is None or s.submission_id < done_sub
            or (s.submission_id == done_sub and f.file_id > (done_file or ""))]


def integrity_of(file: EvidenceFile, digest: SourceDigest | None) -> Integrity:
    if not file.sha256:
        return Integrity.REJECTED if file.status is FileStatus.REJECTED else Integrity.NOT_RECEIVED
    if digest is None:
        return Integrity.MISSING
    return Integrity.VERIFIED if digest.sha256 == file.sha256 else Integrity.MISMATCH


def target_key(target: BucketTarget, submission: Submission, file: EvidenceFile) -> str:
    name = re.sub(r"[\x00-\x1f\x7f/\\]", "_", file.name) or "file"
    path = f"{submission.case_ref}/{submission.submission_id}/{file.file_id}-{name}"
    return f"{target.prefix}/{path}" if target.prefix else path


def manifest_keys(job: ExportJob) -> tuple[str | None, str, str]:
    """(target bucket, or None for the evidence bucket; JSON key; CSV key)."""
    if isinstance(job.target, BucketTarget):
        base = f"{job.target.prefix}/manifest" if job.target.prefix else "manifest"
        return job.target.bucket, f"{base}.json", f"{base}.csv"
    base = f"exports/{job.agency_id}/{job.export_id}/manifest"
    return None, f"{base}.json", f"{base}.csv"


def can_retry(job: ExportJob, now: datetime) -> bool:
    """A failed job, or one left running by a lost run (no progress for STALE_AFTER)."""
    return job.status is ExportStatus.FAILED or (
        job.status is ExportStatus.RUNNING and now - job.updated_at >= STALE_AFTER)
