"""Resumable uploads of large files (S3 multipart): the server creates each upload, signs part URLs
on demand, tells the page which parts S3 already holds, and assembles the file; a schedule aborts
what was given up. Rules in domain/multipart.py.

Crash safety: an upload is created before its file is stored (a crash between leaves an upload no
file names: the schedule and the bucket lifecycle abort it). Completing stores the page's hash with
its audit event before asking S3 to assemble, so ingest always finds the hash to compare; a rerun
after S3 assembled finds the upload gone and the object there, and answers as the first run did.
Abandoning marks the file before aborting its upload, so a file never waits on an upload that is
gone."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from ..domain import links, multipart
from ..domain.errors import Conflict, Gone, NotFound
from ..domain.models import CitizenLink, EvidenceFile, FileStatus, Submission
from . import custody, uploads
from .deps import Deps

if TYPE_CHECKING:  # request bodies, for the annotations only: a citizen's first request validates none
    from ..domain.commands import CompleteFile, SignParts

KEY_PREFIX = "agencies/"


def start(files: list[EvidenceFile], *, deps: Deps) -> list[EvidenceFile]:
    """Each new file above the threshold gets its multipart upload (created on its exact key)."""
    return [_started(f, deps) if f.size > deps.multipart_threshold else f for f in files]


def _started(file: EvidenceFile, deps: Deps) -> EvidenceFile:
    upload_id = deps.blobs.start_multipart(file.key, content_type=file.content_type)
    return file.model_copy(update={"upload_id": upload_id,
                                   "part_size": multipart.part_size(file.size, deps.part_bytes)})


class MultipartOffer(BaseModel):
    """What the page needs to send a multipart file (the URLs come part by part)."""

    model_config = ConfigDict(defer_build=True)
    part_size: int
    parts_total: int


class SignedPart(BaseModel):
    model_config = ConfigDict(defer_build=True)
    part_number: int
    url: str
    headers: dict[str, str]  # to send with the PUT (the part's SHA-256, when it was given)
    size: int


class SignedParts(BaseModel):
    model_config = ConfigDict(defer_build=True)
    file_id: str
    parts: list[SignedPart]


class StoredPart(BaseModel):
    model_config = ConfigDict(defer_build=True)
    part_number: int
    size: int
    etag: str


class HeldParts(MultipartOffer):
    """Where a page resumes: the parts S3 holds (none once the file is no longer awaited)."""

    file_id: str
    status: FileStatus
    parts: list[StoredPart]


def offer(file: EvidenceFile) -> dict[str, Any]:
    """What the page needs to send a multipart file (the URLs come part by part)."""
    size_of_part = file.part_size or file.size
    return {"part_size": size_of_part, "parts_total": multipart.parts_total(file.size, size_of_part)}


def resumable_file(submission: Submission | None, file_id: str) -> EvidenceFile:
    """A declared multipart file of this submission. Any other id (another link's, made up) is
    simply not found."""
    file = submission.files.get(file_id) if submission else None
    if file is None or not file.upload_id:
        raise NotFound("No such upload through this link.", code="upload_not_found")
    if file.status is FileStatus.ABANDONED:
        raise Gone(f"{file.name} was given up; choose it again to send it.", code="upload_abandoned")
    return file


def _awaiting(file: EvidenceFile) -> None:
    if file.status is not FileStatus.AWAITING_UPLOAD:
        raise Conflict(f"{file.name} has already been received.", code="file_already_received")


def sign_parts(file: EvidenceFile, cmd: SignParts, *, deps: Deps) -> list[dict[str, Any]]:
    _awaiting(file)
    assert file.upload_id
    signed = []
    for part in cmd.parts:
        multipart.check_part_number(part.part_number, file)
        url = deps.blobs.presign_part(file.key, file.upload_id, part.part_number,
                                      expires_in=links.UPLOAD_URL_TTL, sha256_b64=part.sha256)
        headers = {"x-amz-checksum-sha256": part.sha256} if part.sha256 else {}
        signed.append({"part_number": part.part_number, "url": url, "headers": headers,
                       "size": multipart.expected_size(part.part_number, file)})
    return signed


def held_parts(file: EvidenceFile, *, deps: Deps) -> dict[str, Any]:
    """The parts S3 holds, for a page resuming after a reload or a cut."""
    assert file.upload_id
    parts = deps.blobs.list_parts(file.key, file.upload_id) if file.status is FileStatus.AWAITING_UPLOAD else None
    return offer(file) | {"status": file.status.value, "parts": [
        {"part_number": p.number, "size": p.size, "etag": p.etag} for p in parts or []
        if p.size == multipart.expected_size(p.number, file)]}  # a short part is sent again


def complete(submission: Submission, file: EvidenceFile, cmd: CompleteFile, *, deps: Deps) -> EvidenceFile:
    assert file.upload_id
    if file.status is not FileStatus.AWAITING_UPLOAD:
        return file  # assembled and checked already: the answer is the verdict
    held = deps.blobs.list_parts(file.key, file.upload_id)
    if held is None:
        if deps.blobs.head(file.key) is not None:
            return file  # a rerun after S3 assembled it: ingest is on its way
        raise Gone("This upload is no longer open; choose the file again.", code="upload_gone")
    claimed = {p.part_number: p.etag for p in cmd.parts} if cmd.parts is not None else None
    chosen = multipart.completion(file, held, claimed)
    uploads.ensure_same_content(file, cmd.sha256)
    if cmd.sha256 and cmd.sha256 != file.client_sha256:
        file = _store_hash(submission, file, cmd.sha256, len(chosen), deps)
    deps.blobs.complete_multipart(file.key, file.upload_id or "", chosen)
    return file


def _store_hash(submission: Submission, file: EvidenceFile, sha256: str, parts: int, deps: Deps) -> EvidenceFile:
    claimed = file.model_copy(update={"client_sha256": sha256})
    event = custody.event(submission.agency_id, deps=deps, actor="citizen", action="upload.assembled",
                          target=f"file:{file.file_id}",
                          details={"submission_id": submission.submission_id, "parts": parts,
                                   "client_sha256": sha256, "origin": submission.origin.value})
    if not deps.submissions.record_check(submission.agency_id, submission.submission_id, claimed, event=event):
        raise Conflict(f"{file.name} has already been received.", code="file_already_received")
    return claimed


# --- the schedule ---------------------------------------------------------------------------

def abort_abandoned(*, deps: Deps) -> dict[str, int]:
    """Abort multipart uploads that were given up: no part for a day, their link expired, or named by
    no file (a crash between creating the upload and storing the file). Marks the file first."""
    now, counts = deps.clock.now(), {"checked": 0, "aborted": 0, "marked": 0}
    for pending in deps.blobs.pending_uploads(KEY_PREFIX):
        counts["checked"] += 1
        found = _file_of(pending.key, pending.upload_id, deps)
        if found is None:
            if now < pending.initiated + multipart.ABANDON_AFTER:
                continue  # maybe a declaration still under way
        else:
            submission, file, link = found
            if not _given_up(file, link, now, deps):
                continue
            counts["marked"] += _mark(submission, file, now, deps)
        deps.blobs.abort_multipart(pending.key, pending.upload_id)
        counts["aborted"] += 1
    return counts


def _file_of(key: str, upload_id: str,
             deps: Deps) -> tuple[Submission, EvidenceFile, CitizenLink | None] | None:
    parts = links.parse_object_key(key)
    submission = deps.submissions.get_submission(parts["agency_id"], parts["submission_id"]) if parts else None
    file = submission.files.get(parts["file_id"]) if submission and parts else None
    if submission is None or file is None or file.upload_id != upload_id:
        return None
    return submission, file, deps.links.get_link(submission.agency_id, submission.link_id)


def _given_up(file: EvidenceFile, link: CitizenLink | None, now: datetime, deps: Deps) -> bool:
    if file.status is not FileStatus.AWAITING_UPLOAD:
        return True  # abandoned already (a run stopped before aborting), or received
    if link is not None and links.past_grace(link, now):
        return True
    assert file.upload_id
    held = deps.blobs.list_parts(file.key, file.upload_id) or []
    last = max((p.last_modified for p in held if p.last_modified), default=None)
    return multipart.is_abandoned(file, now, last)


def _mark(submission: Submission, file: EvidenceFile, now: datetime, deps: Deps) -> int:
    if file.status is not FileStatus.AWAITING_UPLOAD:
        return 0
    given_up = file.model_copy(update={"status": FileStatus.ABANDONED, "checked_at": now})
    event = custody.event(submission.agency_id, deps=deps, actor="system:uploads", action="upload.abandoned",
                          target=f"file:{file.file_id}", outcome="aborted",
                          details={"submission_id": submission.submission_id, "size": file.size,
                                   "origin": submission.origin.value})
    return int(deps.submissions.record_check(submission.agency_id, submission.submission_id, given_up, event=event))
