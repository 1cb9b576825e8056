"""Verify what landed in the bucket: the object version a citizen uploaded is checked against what
was declared (size, type by its first bytes), hashed, and recorded once, however often the event
comes.

Idempotency is the conditional write alone: recording a check requires the file to be still
`awaiting_upload`, and the audit event (with the bytes it adds to the agency's usage) is written
in the same transaction. A run killed anywhere before that transaction left nothing, and the
redelivered event does all of it; a run killed after it finds the file recorded and stops. (A
separate idempotency store would add a window: marked done before the record, or the record
before the mark.)

A later version of a recorded key is a tampering attempt (a replayed upload form): it is audited
and noted on the file, and the version recorded first stays the evidence."""
from __future__ import annotations

import hashlib
import logging
from enum import Enum

from ..domain import links, media
from ..domain.models import EvidenceFile, FileStatus, RejectCode, Submission, TamperAttempt
from ..domain.ports import ObjectInfo
from . import custody
from .deps import Deps

log = logging.getLogger(__name__)


class IngestOutcome(str, Enum):
    RECORDED = "recorded"
    REJECTED = "rejected"  # kept, marked rejected with the reason
    DUPLICATE = "duplicate"  # this version was already handled
    TAMPER_ATTEMPT = "tamper_attempt"
    UNKNOWN = "unknown"  # no declared file has this key
    MISSING = "missing"  # the object (version) is no longer there


def ingest_object(key: str, *, version_id: str | None = None, deps: Deps) -> IngestOutcome:
    parts = links.parse_object_key(key)
    submission = deps.submissions.get_submission(parts["agency_id"], parts["submission_id"]) if parts else None
    file = submission.files.get(parts["file_id"]) if submission and parts else None
    if submission is None or file is None or file.key != key:
        log.warning("object %s matches no declared file", key)
        return IngestOutcome.UNKNOWN
    if file.status is not FileStatus.AWAITING_UPLOAD:
        return _another_version(submission, file, version_id, deps)
    info = deps.blobs.head(key, version_id)
    if info is None:
        return IngestOutcome.MISSING
    checked = _check(file, info, deps)
    recorded = checked.status is FileStatus.VERIFIED
    event = custody.event(
        submission.agency_id, deps=deps, actor="system:ingest", action="evidence.recorded",
        target=f"file:{file.file_id}", outcome="success" if recorded else "rejected",
        details={"submission_id": submission.submission_id, "sha256": checked.sha256, "size": info.size,
                 "version_id": checked.version_id, "reason": checked.reject_reason,
                 "reject_code": checked.reject_code.value if checked.reject_code else None,
                 "client_sha256": checked.client_sha256,
                 "origin": submission.origin.value},
        usage_delta=info.size)  # what landed counts, verified or not
    if not deps.submissions.record_check(submission.agency_id, submission.submission_id, checked, event=event):
        return IngestOutcome.DUPLICATE
    return IngestOutcome.RECORDED if recorded else IngestOutcome.REJECTED


def _another_version(submission: Submission, file: EvidenceFile, version_id: str | None,
                     deps: Deps) -> IngestOutcome:
    """An event for a file already recorded: the same version again is a duplicate delivery; any
    other version was written over the evidence and is recorded as an attempt, once."""
    known = {file.version_id, *file.tamper_attempts}
    if version_id is None or version_id in known:
        return IngestOutcome.DUPLICATE
    info = deps.blobs.head(file.key, version_id)
    if info is None:
        return IngestOutcome.MISSING
    attempt = TamperAttempt(version_id=version_id, size=info.size, detected_at=deps.clock.now())
    event = custody.event(
        submission.agency_id, deps=deps, actor="system:ingest", action="evidence.tamper_attempt",
        target=f"file:{file.file_id}", outcome="refused",
        details={"submission_id": submission.submission_id, "pinned_version": file.version_id,
                 "new_version": version_id, "size": info.size, "origin": submission.origin.value},
        usage_delta=info.size)  # the extra version is stored (and kept for the investigation)
    if not deps.submissions.record_tamper(submission.agency_id, submission.submission_id, file.file_id,
                                          attempt, event=event):
        return IngestOutcome.DUPLICATE
    log.warning("tampering attempt on %s: version %s after %s", file.key, version_id, file.version_id)
    return IngestOutcome.TAMPER_ATTEMPT


def _check(file: EvidenceFile, info: ObjectInfo, deps: Deps) -> EvidenceFile:
    sniffed = deps.blobs.read_head(file.key, media.SNIFF_BYTES, info.version_id)
    matches, detected = media.matches_declared(file.content_type, sniffed)
    sha256 = _sha256(file.key, info.version_id, deps)
    code, reason = None, None
    if info.size != file.size:
        code, reason = RejectCode.SIZE_MISMATCH, f"size {info.size} differs from the declared {file.size}"
    elif file.client_sha256 and file.client_sha256 != sha256:  # not the bytes the browser read
        code, reason = RejectCode.HASH_MISMATCH, f"SHA-256 {sha256} differs from the browser's {file.client_sha256}"
    elif not matches:
        code, reason = (RejectCode.TYPE_MISMATCH,
                        f"content is {detected or 'not a recognised media file'}, declared {file.content_type}")
    return file.model_copy(update={
        "status": FileStatus.REJECTED if reason else FileStatus.VERIFIED, "reject_code": code,
        "reject_reason": reason, "detected_type": detected, "etag": info.etag, "version_id": info.version_id,
        "sha256": sha256, "checked_at": deps.clock.now(),
    })


def _sha256(key: str, version_id: str | None, deps: Deps) -> str:
    digest = hashlib.sha256()
    for chunk in deps.blobs.iter_chunks(key, version_id):
        digest.update(chunk)
    return digest.hexdigest()
