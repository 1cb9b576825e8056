"""Interfaces the services depend on. adapters/ implements them on AWS; tests/fakes.py in memory."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:  # the protocols name every record; at run time only the models below are needed
    from .access_requests import AccessRequest, RequestStatus
    from .licensing import AgencyLicense, ProgramSettings
    from .models import (
        Agency,
        ApiKey,
        AuditEntry,
        AuditEvent,
        CitizenLink,
        EvidenceFile,
        Hold,
        Page,
        Submission,
        TamperAttempt,
        Tombstone,
    )
    from .multipart import Part
    from .portals import Portal
    from .program import Acceptance, Contract, RemovalRequest, TermsVersion, WithdrawalRequest
    from .program_use_cases import UseCaseVersion
    from .sharing import Share


class Clock(Protocol):
    def now(self) -> datetime: ...


# Every write that changes evidence, custody or the program takes the AuditEvent that records it
# and commits both together (see domain/audit.py): a crash leaves both or neither.

class AgencyRepository(Protocol):
    def create_agency(self, agency: Agency, *, event: AuditEvent | None = None) -> None: ...
    def get_agency(self, agency_id: str) -> Agency | None: ...
    def save_agency(self, agency: Agency, *, event: AuditEvent | None = None) -> None: ...
    def create_key(self, key: ApiKey, *, event: AuditEvent | None = None) -> None: ...
    def key_by_hash(self, key_hash: str) -> ApiKey | None: ...
    def list_keys(self, agency_id: str) -> list[ApiKey]: ...
    def key_by_id(self, agency_id: str, key_id: str) -> ApiKey | None: ...
    def touch_key(self, key: ApiKey, at: datetime, *, unless_since: datetime) -> bool:
        """Set last_used_at unless set at or after `unless_since` (False then); files a key issued
        before the listing index."""
    def revoke_key(self, key: ApiKey, *, at: datetime, by: str, event: AuditEvent,
                   keep: ApiKey | None = None) -> None:
        """Conflict if the key is already revoked, or if `keep` is no longer active."""
    def rotate_key(self, old: ApiKey, new: ApiKey, *, at: datetime, by: str, event: AuditEvent) -> None: ...
    def list_agencies(self, *, limit: int, cursor: str | None) -> Page:
        """Every agency by id, a page at a time, through an index (never a scan)."""


class AgencyDirectory(Protocol):
    """The part of AgencyRepository the licensing service needs (the replay has only this)."""

    def get_agency(self, agency_id: str) -> Agency | None: ...
    def save_agency(self, agency: Agency, *, event: AuditEvent | None = None) -> None: ...


class LinkRepository(Protocol):
    def create_link(self, link: CitizenLink, token_hash: str, *, event: AuditEvent | None = None) -> None: ...
    def save_deliveries(self, link: CitizenLink, *, event: AuditEvent | None = None) -> None: ...
    def link_by_token_hash(self, token_hash: str) -> CitizenLink | None: ...
    def get_link(self, agency_id: str, link_id: str) -> CitizenLink | None: ...


class SubmissionRepository(Protocol):
    def get_submission(self, agency_id: str, submission_id: str) -> Submission | None: ...
    def open_submission(self, submission: Submission, *, event: AuditEvent | None = None) -> None:
        """Create it (with the files it already has); Conflict if it already exists."""
    def add_files(self, submission: Submission, files: list[EvidenceFile]) -> None:
        """Append files if the stored version still equals submission.version; Conflict otherwise."""
    def save(self, submission: Submission, fields: set[str], *, event: AuditEvent | None = None) -> Submission:
        """Write these top-level fields if the stored version still equals submission.version
        (Conflict otherwise); the indexes that derive from them follow. Returns it, version + 1."""
    def pending_reviews(self) -> Iterator[tuple[str, str]]:
        """(agency id, submission id) of every submission waiting for review."""
    def due_on(self, day: date) -> Iterator[tuple[str, str]]:
        """(agency id, submission id) of submissions whose retention ends that day, not on hold."""
    def delete_with_tombstone(self, submission: Submission, tombstone: Tombstone, *,
                              event: AuditEvent | None = None) -> None:
        """Remove the submission and leave its tombstone, in one step; Conflict if it changed
        since it was read (its version) or is already gone."""
    def record_check(self, agency_id: str, submission_id: str, file: EvidenceFile, *,
                     event: AuditEvent | None = None) -> bool:
        """Store a file's verification result once; False if it was already recorded."""
    def record_tamper(self, agency_id: str, submission_id: str, file_id: str, attempt: TamperAttempt, *,
                      event: AuditEvent | None = None) -> bool:
        """Note another version written over a recorded file, once per version; False if noted."""
    def list_submissions(
        self, agency_id: str, *, case_ref: str | None, limit: int, cursor: str | None
    ) -> Page: ...
    def tombstone(self, agency_id: str, submission_id: str) -> Tombstone | None:
        """What a deletion left of the submission."""
    def last_swept_day(self) -> date | None:
        """The retention sweep's checkpoint: the last day whose due index it finished."""
    def set_last_swept_day(self, day: date) -> None: ...


class AccessRequestRepository(Protocol):
    def create(self, request: AccessRequest, *, event: AuditEvent | None = None) -> None:
        """Conflict (duplicate_request) if the same organisation already asked."""
    def get(self, request_id: str) -> AccessRequest | None: ...
    def decide(self, request: AccessRequest, *, event: AuditEvent | None = None) -> None:
        """Store an approval or denial; Conflict (already_decided) unless it was pending."""
    def attach_agency(self, request_id: str, agency_id: str, *, event: AuditEvent | None = None) -> None: ...
    def list(self, status: RequestStatus, *, limit: int, cursor: str | None) -> Page: ...


class HoldRepository(Protocol):
    """Legal holds on whole cases (a submission's own hold is a field of the submission)."""

    def place_hold(self, hold: Hold, *, event: AuditEvent | None = None) -> bool:
        """False (and nothing written) if the case is already on hold."""
    def release_hold(self, agency_id: str, case_ref: str, *, event: AuditEvent | None = None) -> bool: ...
    def case_hold(self, agency_id: str, case_ref: str) -> Hold | None: ...


class LicenseRepository(Protocol):
    def get(self, agency_id: str) -> AgencyLicense | None: ...
    def create(self, lic: AgencyLicense, *, event: AuditEvent | None = None) -> None:
        """Store a new licence; Conflict if the agency already has one."""
    def save(self, lic: AgencyLicense, *, event: AuditEvent | None = None) -> AgencyLicense:
        """Write it if the stored version still equals lic.version (Conflict otherwise) and return
        the stored copy with version + 1. The end-date index follows `licensing.end_index_key(lic)`."""
    def ending_between(self, start: date, end: date) -> Iterator[str]:
        """Ids of agencies whose effective program end is in [start, end], at most
        licensing.MAX_ENDING_RANGE_DAYS days: agencies indexed under each day in the range, plus
        those indexed under licensing.GLOBAL_END when the global end date falls in the range."""
    def get_settings(self) -> ProgramSettings:
        """The stored settings, or the defaults (version 0) if none were ever saved."""
    def save_settings(self, settings: ProgramSettings, *, event: AuditEvent | None = None) -> ProgramSettings:
        """Write them if the stored version still equals settings.version (Conflict otherwise)."""


class ShareRepository(Protocol):
    """Shares between agencies (domain/sharing.py): filed under the owner, found by the recipient
    through an index. Writes carry the owner's and the recipient's audit events together."""

    def create_share(self, share: Share, *, events: list[AuditEvent]) -> None: ...
    def get_share(self, owner_agency_id: str, share_id: str) -> Share | None: ...
    def shared_with(self, recipient_agency_id: str, share_id: str) -> Share | None:
        """The share if it was made with this agency (read consistently from the owner's item)."""
    def revoke_share(self, share: Share, *, events: list[AuditEvent]) -> None:
        """Store revoked_at/by; Conflict (already_revoked) if it was revoked before."""
    def record_view(self, share: Share, *, events: list[AuditEvent]) -> None:
        """Record a view's events only if the share is still not revoked (Conflict otherwise)."""
    def list_outgoing(self, owner_agency_id: str, *, limit: int, cursor: str | None) -> Page: ...
    def list_incoming(self, recipient_agency_id: str, *, limit: int, cursor: str | None) -> Page: ...


class AuditLog(Protocol):
    def record(self, event: AuditEvent) -> None:
        """Write an event to the inbox on its own: for actions that change nothing else (a read,
        a notice sent). Changes pass their event to the repository write instead."""
    def append(
        self, agency_id: str, *, at: datetime, actor: str, action: str, target: str,
        outcome: str = "success", details: dict[str, Any] | None = None, source: str | None = None,
    ) -> AuditEvent:
        """Build an event (source defaults to where the current request came from) and record it."""
    def entries(self, agency_id: str, after_seq: int = 0) -> Iterator[AuditEntry]:
        """The chained log in sequence order, from after_seq on."""
    def waiting(self, agency_id: str) -> int:
        """How many events are recorded but not chained yet."""
    def chain_waiting(self, agency_id: str) -> int:
        """The sequencer's step: chain one batch of waiting events (and apply their usage deltas)
        in one transaction; returns how many it chained (0: none waiting, or another run won)."""


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
    version_id: str | None = None


class PendingUpload(BaseModel):
    """A multipart upload S3 still holds open (for the schedule that aborts abandoned ones)."""

    model_config = ConfigDict(defer_build=True)

    key: str
    upload_id: str
    initiated: datetime


class BlobStore(Protocol):
    # sha256_b64: when known, the POST policy binds the content to it (S3 refuses other bytes).
    def presign_upload(self, key: str, *, content_type: str, size: int, expires_in: timedelta,
                       now: datetime, sha256_b64: str | None = None) -> PresignedPost: ...
    def start_multipart(self, key: str, *, content_type: str) -> str:
        """Create a multipart upload (with SHA-256 part checksums) for exactly this key; its id."""
    # A presigned UploadPart URL; with sha256_b64 the page must send that x-amz-checksum-sha256.
    def presign_part(self, key: str, upload_id: str, number: int, *, expires_in: timedelta,
                     sha256_b64: str | None = None) -> str: ...
    def list_parts(self, key: str, upload_id: str) -> list[Part] | None:
        """The parts S3 holds; None if the upload is gone (completed or aborted)."""
    def complete_multipart(self, key: str, upload_id: str, parts: list[Part]) -> None: ...
    def abort_multipart(self, key: str, upload_id: str) -> None: ...
    def pending_uploads(self, prefix: str) -> Iterator[PendingUpload]: ...
    # version_id pins one version of the key (the one verified at ingest); None means the latest.
    def presign_download(self, key: str, *, filename: str, expires_in: timedelta,
                         version_id: str | None = None) -> str: ...
    def head(self, key: str, version_id: str | None = None) -> ObjectInfo | None: ...
    def read_head(self, key: str, length: int, version_id: str | None = None) -> bytes: ...
    def iter_chunks(self, key: str, version_id: str | None = None) -> Iterator[bytes]: ...
    def delete_all_versions(self, key: str) -> int:
        """Delete every version and delete marker of the key; returns how many were removed."""


class SmsSender(Protocol):
    def send_sms(self, phone: str, text: str) -> str:
        """Send and return the provider's message id; raise DeliveryFailed."""


class EmailSender(Protocol):
    def send_email(self, to: str, subject: str, text: str) -> str: ...


class ProgramRepository(Protocol):
    """The improvement program's records, append-only (adapters/dynamo_program.py, memory_program.py).
    Every write takes the audit event that records it; a failed condition is Conflict."""

    def add_contract(self, contract: Contract, *, event: AuditEvent) -> None: ...
    def end_contract(self, contract: Contract, withdrawal: WithdrawalRequest | None, *, event: AuditEvent) -> None:
        """Record `contract.ended_on` once, with the withdrawal it causes, in one write."""
    def contracts(self, agency_id: str) -> list[Contract]: ...
    def publish_terms(self, terms: TermsVersion, *, event: AuditEvent) -> None: ...
    def retire_terms(self, version: str, at: datetime, *, event: AuditEvent) -> None: ...
    def get_terms(self, version: str) -> TermsVersion | None: ...
    def list_terms(self) -> list[TermsVersion]: ...
    def add_acceptance(self, acceptance: Acceptance, *, event: AuditEvent) -> None: ...
    def acceptances(self, agency_id: str) -> list[Acceptance]: ...
    def add_withdrawal(self, withdrawal: WithdrawalRequest, *, event: AuditEvent) -> None: ...
    def add_removal(self, removal: RemovalRequest, *, event: AuditEvent) -> None: ...
    def withdrawals(self, agency_id: str) -> list[WithdrawalRequest]: ...
    def removals(self, agency_id: str) -> list[RemovalRequest]: ...
    def open_requests(self) -> Iterator[WithdrawalRequest | RemovalRequest]:
        """Open requests of every agency, earliest due first, from an index."""
    def add_use_case_version(self, version: UseCaseVersion, *, event: AuditEvent) -> None: ...
    def move_use_case_versions(self, moved: list[tuple[UseCaseVersion, str]], *, event: AuditEvent) -> None:
        """Each (version, the state it was read in) written in its new state: all or none."""
    def use_case_versions(self, use_case_id: str) -> list[UseCaseVersion]: ...
    def all_use_case_versions(self) -> list[UseCaseVersion]: ...


class PortalRepository(Protocol):
    """Community portals. A slug belongs to one portal across all agencies: its claim is written in
    the same transaction as the portal (and moved in the same transaction as an edit)."""

    def create_portal(self, portal: Portal, *, event: AuditEvent) -> None: ...
    def save_portal(self, portal: Portal, *, read_version: int, old_slug: str, event: AuditEvent) -> Portal: ...
    def get_portal(self, agency_id: str, portal_id: str) -> Portal | None: ...
    def portal_by_slug(self, slug: str) -> Portal | None: ...
    def list_portals(self, agency_id: str) -> list[Portal]: ...
    def count(self, portal: Portal, field: str, amount: int = 1) -> None: ...


class RateCounter(Protocol):
    """Fixed-window counters: add `cost` to the counter under `key` if it stays within `limit`;
    False (nothing added) when it would not. One atomic write per call."""

    def take(self, key: str, cost: int, limit: int, expires_at: int) -> bool: ...
