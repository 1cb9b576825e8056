"""What a use case may touch. bootstrap.py fills it with AWS adapters, tests with fakes."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from ..domain.limits import RateCaps

if TYPE_CHECKING:  # for the annotations only: the ports module imports every domain model
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
        PortalRepository,
        ProgramRepository,
        RateCounter,
        ShareRepository,
        SmsSender,
        SubmissionRepository,
    )
    from ..domain.program_notices import ProgramNoticesRepository


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
    program_notices: ProgramNoticesRepository  # its settings, change notices and the public's feedback
    portals: PortalRepository  # community portals
    counters: RateCounter  # the public routes' rate limits (services/limits.py)
    rate_caps: RateCaps = field(default_factory=RateCaps)
    multipart_threshold: int = 100 * 1024**2  # larger files upload as S3 multipart
    part_bytes: int = 16 * 1024**2  # preferred part size (raised for files past 10,000 parts)


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
