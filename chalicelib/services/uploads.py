"""Declaring files and signing their uploads: the one path every way of adding evidence takes (a
citizen's link, an officer's capture). Rules in domain/links.py (type allow-list, size, how many
files); each signed POST is bound to the file's exact key, type and size, and expires quickly."""
from __future__ import annotations

import base64
from typing import TYPE_CHECKING

from ..domain import ids, links, multipart
from ..domain.errors import InvalidInput, LimitExceeded
from ..domain.models import EvidenceFile, Submission
from .deps import Deps

if TYPE_CHECKING:  # for the annotations only: a citizen's first request loads neither module
    from ..domain.commands import DeclaredFile
    from ..domain.ports import PresignedPost

    Signed = list[tuple[EvidenceFile, PresignedPost]]


def plan(submission: Submission, declared: list[DeclaredFile], *, max_files: int, deps: Deps,
         resumable: bool = False) -> tuple[list[EvidenceFile], list[EvidenceFile]]:
    """(new files to add, every file of the request in its order): checked, nothing written yet.
    Without `resumable` (pages that only POST) a file is capped at what one POST carries."""
    now = deps.clock.now()
    max_bytes = deps.max_upload_bytes if resumable else min(deps.max_upload_bytes, multipart.SINGLE_POST_MAX)
    added, again = links.plan_files(submission, declared, max_files=max_files, max_bytes=max_bytes,
                                    now=now, new_id=lambda: ids.new_id(now))
    hashes = {item.file_id: item.sha256 for item in declared if item.file_id}
    again = [_with_hash(f, hashes.get(f.file_id)) for f in again]
    fresh_hashes = iter([item.sha256 for item in declared if not item.file_id])
    added = [f.model_copy(update={"client_sha256": next(fresh_hashes)}) for f in added]
    fresh, earlier = iter(added), iter(again)
    return added, [next(earlier) if item.file_id else next(fresh) for item in declared]


def _with_hash(file: EvidenceFile, sha256: str | None) -> EvidenceFile:
    ensure_same_content(file, sha256)
    return file.model_copy(update={"client_sha256": file.client_sha256 or sha256})


def ensure_same_content(file: EvidenceFile, sha256: str | None) -> None:
    """A file keeps the hash the page first gave for it (signed again, or completed): its bytes cannot change."""
    if sha256 and file.client_sha256 and sha256 != file.client_sha256:
        raise InvalidInput("This file is not the one first chosen (its content changed).", code="file_changed")


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
    return [(f, sign_one(f, deps)) for f in files]


def sign_one(file: EvidenceFile, deps: Deps) -> PresignedPost:
    return deps.blobs.presign_upload(file.key, content_type=file.content_type, size=file.size,
                                     expires_in=links.UPLOAD_URL_TTL, now=deps.clock.now(),
                                     sha256_b64=hex_to_b64(file.client_sha256))


def hex_to_b64(digest: str | None) -> str | None:
    """S3's checksum headers carry the digest in base64; we keep it in hex."""
    return base64.b64encode(bytes.fromhex(digest)).decode() if digest else None
