"""Rules of a citizen link: when it expires, when it can be used, what may be uploaded through it."""
from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from . import media, multipart
from .errors import Conflict, Gone, InvalidInput, LimitExceeded, NotFound, UnsupportedMedia
from .models import Agency, CitizenLink, EvidenceFile, FileStatus, Submission, SubmissionStatus

if TYPE_CHECKING:  # request bodies, for the annotations only: a citizen's first request validates none
    from .commands import DeclaredFile

MIN_TTL_HOURS, MAX_TTL_HOURS = 1, 336
UPLOAD_URL_TTL = timedelta(minutes=15)
DOWNLOAD_URL_TTL = timedelta(minutes=5)


def past_grace(link: CitizenLink, now: datetime) -> bool:
    """Finishing what was sent (a file's assembly, the session's close, the verdicts) is allowed a
    little past expiry, as long as an upload signed just before it may still be landing."""
    return now >= link.expires_at + UPLOAD_URL_TTL


def ensure_in_grace(link: CitizenLink, now: datetime) -> None:
    if past_grace(link, now):
        raise Gone("This link has expired. Ask the officer for a new one.", code="link_expired")

CASE_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")  # as commands.CaseRef
_KEY = re.compile(  # the case segment follows CaseRef in commands.py
    r"agencies/(?P<agency_id>[0-9a-z]{26})/cases/(?P<case_ref>[A-Za-z0-9][A-Za-z0-9._-]{0,63})/"
    r"(?P<submission_id>[0-9a-z]{26})/(?P<file_id>[0-9a-z]{26})"
)


def expiry(now: datetime, agency: Agency, requested_hours: int | None) -> datetime:
    hours = requested_hours or agency.link_ttl_hours
    return now + timedelta(hours=max(MIN_TTL_HOURS, min(MAX_TTL_HOURS, hours)))


def ensure_usable(link: CitizenLink, submission: Submission | None, now: datetime) -> None:
    """A link works until it expires (the expiry instant itself is too late) and until its
    one submission has been completed."""
    if submission is not None and submission.status is SubmissionStatus.SUBMITTED:
        raise Gone("This link has already been used to send files.", code="link_used")
    if now >= link.expires_at:
        raise Gone("This link has expired. Ask the officer for a new one.", code="link_expired")


def object_key(agency_id: str, case_ref: str, submission_id: str, file_id: str) -> str:
    return f"agencies/{agency_id}/cases/{case_ref}/{submission_id}/{file_id}"


def parse_object_key(key: str) -> dict[str, str] | None:
    match = _KEY.fullmatch(key)
    return match.groupdict() if match else None


def check_declared(declared: DeclaredFile, max_bytes: int) -> None:
    if media.family_of(declared.content_type) is None:
        raise UnsupportedMedia(
            f"{declared.name}: files of type {declared.content_type!r} are not accepted; "
            "send photos, videos, audio or PDF documents.",
            details={"allowed": sorted(media.ALLOWED_TYPES)},
        )
    if declared.size <= 0:
        raise InvalidInput(f"{declared.name}: the file is empty.", code="empty_file")
    if declared.size > max_bytes:
        raise LimitExceeded(
            f"{declared.name}: {declared.size} bytes is over the limit of {max_bytes} bytes.",
            code="file_too_large", details={"max_bytes": max_bytes},
        )


def plan_files(
    submission: Submission, declared: list[DeclaredFile], *, max_files: int, max_bytes: int,
    now: datetime, new_id: Callable[[], str],
) -> tuple[list[EvidenceFile], list[EvidenceFile]]:
    """Split a request into files to add and earlier files to sign again; enforce the limits."""
    for item in declared:
        check_declared(item, max_bytes)
    again = [_redeclared(submission, item, now) for item in declared if item.file_id]
    fresh = [item for item in declared if not item.file_id]
    held = slots_held(submission, now)
    if held + len(fresh) > max_files:
        raise LimitExceeded(
            f"This link accepts at most {max_files} files; {held} already declared.",
            code="too_many_files", details={"max_files": max_files},
        )
    added = []
    for item in fresh:
        file_id = new_id()
        added.append(EvidenceFile(
            file_id=file_id, name=item.name, size=item.size, content_type=item.content_type,
            caption=item.caption, declared_at=now,
            key=object_key(submission.agency_id, submission.case_ref, submission.submission_id, file_id),
        ))
    return added, again


def slots_held(submission: Submission, now: datetime) -> int:
    """Files counted against the link's limit: every declared file but those abandoned."""
    return sum(1 for f in submission.files.values() if multipart.holds_slot(f, now))


def _redeclared(submission: Submission, item: DeclaredFile, now: datetime) -> EvidenceFile:
    existing = submission.files.get(item.file_id or "")
    if existing is None:
        raise NotFound(f"No file {item.file_id} was declared through this link.", code="unknown_file")
    if not multipart.holds_slot(existing, now):  # given up, so no longer counted: never signed again
        raise Gone(f"{existing.name} was given up; choose it again to send it.", code="upload_abandoned")
    if existing.status is not FileStatus.AWAITING_UPLOAD:  # never let a recorded file be overwritten
        raise Conflict(f"{existing.name} has already been received.", code="file_already_received")
    if (existing.size, existing.content_type) != (item.size, item.content_type):
        raise InvalidInput("A file signed again must keep its size and type.", code="file_changed")
    return existing


def mask_phone(phone: str) -> str:
    return phone[:2] + "*" * (len(phone) - 6) + phone[-4:]


def mask_email(email: str) -> str:
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"
