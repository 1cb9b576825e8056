"""What a use case may touch. bootstrap.py fills it with AWS adapters, tests with fakes."""
from __future__ import annotations

from dataclasses import dataclass

from ..domain.licensing import LicenseRepository
from ..domain.ports import (
    AccessRequestRepository,
    AgencyRepository,
    AuditLog,
    BlobStore,
    Clock,
    EmailSender,
    LinkRepository,
    RetentionRepository,
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
    retention: RetentionRepository
    access_requests: AccessRequestRepository
    licenses: LicenseRepository
    blobs: BlobStore
    sms: SmsSender
    email: EmailSender
    max_upload_bytes: int
