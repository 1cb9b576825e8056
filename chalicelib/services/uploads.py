"""Declaring files and signing their uploads: the one path every way of adding evidence takes (a
citizen's link, an officer's capture). Rules in domain/links.py (type allow-list, size, how many
files); each signed POST is bound to the file's exact key, type and size, and expires quickly."""
from __future__ import annotations

from ..domain import ids, links
from ..domain.commands import DeclaredFile
from ..domain.errors import LimitExceeded
from ..domain.models import EvidenceFile, Submission
from ..domain.ports import PresignedPost
from .deps import Deps

Signed = list[tuple[EvidenceFile, PresignedPost]]


def plan(submission: Submission, declared: list[DeclaredFile], *, max_files: int,
         deps: Deps) -> tuple[list[EvidenceFile], list[EvidenceFile]]:
    """(new files to add, every file of the request in its order): checked, nothing written yet."""
    now = deps.clock.now()
    added, again = links.plan_files(submission, declared, max_files=max_files, max_bytes=deps.max_upload_bytes,
                                    now=now, new_id=lambda: ids.new_id(now))
    fresh, earlier = iter(added), iter(again)
    return added, [next(earlier) if item.file_id else next(fresh) for item in declared]


def check_quota(quota_bytes: int | None, used_bytes: int, adding: int) -> None:
    """A restricted program account has a storage quota: refuse what would pass it now, when the URL
    is asked for (usage itself is counted from what actually lands, in ingest)."""
    if quota_bytes is None or not adding or used_bytes + adding <= quota_bytes:
        return
    raise LimitExceeded(
        "The agency's storage is full; these files cannot be accepted. Please contact the agency.",
        code="storage_quota_exceeded",
        details={"quota_bytes": quota_bytes, "used_bytes": used_bytes, "requested_bytes": adding})


def sign(files: list[EvidenceFile], *, deps: Deps) -> Signed:
    return [(f, deps.blobs.presign_upload(f.key, content_type=f.content_type, size=f.size,
                                          expires_in=links.UPLOAD_URL_TTL, now=deps.clock.now()))
            for f in files]
