"""Verify what landed in the bucket: the object a citizen uploaded is checked against what was
declared (size, type by its first bytes), hashed, and recorded once, however often the event comes."""
from __future__ import annotations

import hashlib
import logging

from ..domain import links, media
from ..domain.models import EvidenceFile, FileStatus
from ..domain.ports import ObjectInfo
from .deps import Deps

log = logging.getLogger(__name__)


def ingest_object(key: str, *, deps: Deps) -> str:
    """Returns what happened: recorded, rejected, duplicate, unknown or missing."""
    parts = links.parse_object_key(key)
    submission = deps.submissions.get_submission(parts["agency_id"], parts["submission_id"]) if parts else None
    file = submission.files.get(parts["file_id"]) if submission and parts else None
    if submission is None or file is None or file.key != key:
        log.warning("object %s matches no declared file", key)
        return "unknown"
    if file.status is not FileStatus.AWAITING_UPLOAD:
        return "duplicate"
    info = deps.blobs.head(key)
    if info is None:
        return "missing"
    checked = _check(file, info, deps)
    if not deps.submissions.record_check(submission.agency_id, submission.submission_id, checked):
        return "duplicate"
    deps.agencies.add_usage(submission.agency_id, info.size)  # what landed counts, verified or not
    outcome = "recorded" if checked.status is FileStatus.VERIFIED else "rejected"
    deps.audit.append(
        submission.agency_id, at=checked.checked_at or deps.clock.now(), actor="system:ingest",
        action="evidence.recorded", target=f"file:{file.file_id}",
        outcome="success" if outcome == "recorded" else "rejected",
        details={"submission_id": submission.submission_id, "sha256": checked.sha256,
                 "size": info.size, "reason": checked.reject_reason},
    )
    return outcome


def _check(file: EvidenceFile, info: ObjectInfo, deps: Deps) -> EvidenceFile:
    matches, detected = media.matches_declared(file.content_type, deps.blobs.read_head(file.key, media.SNIFF_BYTES))
    reason = None
    if info.size != file.size:
        reason = f"size {info.size} differs from the declared {file.size}"
    elif not matches:
        reason = f"content is {detected or 'not a recognised media file'}, declared {file.content_type}"
    return file.model_copy(update={
        "status": FileStatus.REJECTED if reason else FileStatus.VERIFIED,
        "reject_reason": reason, "detected_type": detected, "etag": info.etag,
        "sha256": _sha256(file.key, deps), "checked_at": deps.clock.now(),
    })


def _sha256(key: str, deps: Deps) -> str:
    digest = hashlib.sha256()
    for chunk in deps.blobs.iter_chunks(key):
        digest.update(chunk)
    return digest.hexdigest()
