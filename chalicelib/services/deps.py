"""What a use case may touch. bootstrap.py fills it with AWS adapters, tests with fakes."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ..domain.ports import (
    AccessRequestRepository,
    AgencyDirectory,
    AgencyRepository,
    AuditLog,
    BlobStore,
    Clock,
    EmailSender,
    HoldRepository,
    LicenseRepository,
    LinkRepository,
    ProgramRepository,
    ShareRepository,
    SmsSender,
    SubmissionRepository,
)


@dataclass(frozen=True)
class Deps:
    clock: Clock
    agencies: AgencyRepository
    links: LinkRepository
    submissions: SubmissionRepository
    audit: AuditLog
    holds: HoldRepository
    access_requests: AccessRequestRepository
    licenses: LicenseRepository
    shares: ShareRepository
    blobs: BlobStore
    sms: SmsSender
    email: EmailSender
    max_upload_bytes: int
    program: ProgramRepository  # the improvement program's records


class LicensingDeps(Protocol):
    """What services/licensing.py touches. Deps has all of it; the replay passes a smaller world."""

    @property
    def clock(self) -> Clock: ...
    @property
    def agencies(self) -> AgencyDirectory: ...
    @property
    def licenses(self) -> LicenseRepository: ...
    @property
    def audit(self) -> AuditLog: ...
    @property
    def email(self) -> EmailSender: ...
