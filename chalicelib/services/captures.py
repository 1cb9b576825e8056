"""Agency capture: an officer's own evidence, uploaded from a phone or a desktop with an agency key.

A capture is a Submission whose origin is AGENCY_CAPTURE (set here, never from the request), whose
`link_id` is its own id and whose `requested_by` is the officer's key. Files are declared and
signed exactly as a citizen's (services/uploads.py), under the same object keys, so ingest
verifies, hashes and pins them unchanged. Completing it closes it, accepts it in the capturing
officer's name (the agency's own evidence needs no triage; a later review may still decline it
with `"change": true`) and schedules its retention; each step is written with its audit event."""
from __future__ import annotations

from ..domain import ids, retention
from ..domain.commands import CompleteSubmission, RequestUploads, StartCapture
from ..domain.errors import Conflict, NotFound
from ..domain.models import Agency, Origin, Principal, Review, ReviewState, Submission, SubmissionStatus
from . import access, custody, submissions, uploads
from .access import Capability
from .deps import Deps


def start_capture(principal: Principal, cmd: StartCapture, *, deps: Deps) -> tuple[Submission, uploads.Signed]:
    """Open a capture with its files declared, in one write with `capture.started`; sign each upload.
    Everything is checked before anything is written."""
    agency = access.allow(principal, Capability.CAPTURE, deps=deps)
    now = deps.clock.now()
    capture_id = ids.new_id(now)
    capture = Submission(submission_id=capture_id, agency_id=agency.agency_id, origin=Origin.AGENCY_CAPTURE,
                         link_id=capture_id, case_ref=cmd.case_ref, case_type=cmd.case_type,
                         requested_by=principal.actor, created_at=now)
    _, files = uploads.plan(capture, cmd.files, max_files=agency.max_files_per_link, deps=deps)
    capture.files = {f.file_id: f for f in files}
    event = custody.event(agency.agency_id, deps=deps, actor=principal.actor, action="capture.started",
                          target=f"submission:{capture_id}",
                          details={"origin": Origin.AGENCY_CAPTURE.value, "case_ref": cmd.case_ref,
                                   "files": len(files), "bytes": sum(f.size for f in files)})
    deps.submissions.open_submission(capture, event=event)
    return capture, uploads.sign(files, deps=deps)


def declare_files(principal: Principal, capture_id: str, cmd: RequestUploads, *,
                  deps: Deps) -> tuple[Submission, uploads.Signed]:
    """Add files to an open capture, or sign a declared one again (by its file_id) once its
    15-minute upload form has expired."""
    agency = access.allow(principal, Capability.CAPTURE, deps=deps)
    capture = _open_capture(agency, capture_id, deps)
    added, in_order = uploads.plan(capture, cmd.files, max_files=agency.max_files_per_link, deps=deps)
    if added:
        deps.submissions.add_files(capture, added)
    return capture, uploads.sign(in_order, deps=deps)


def complete_capture(principal: Principal, capture_id: str, cmd: CompleteSubmission, *, deps: Deps) -> Submission:
    """Close the capture: submitted, accepted by the capturing officer, retention scheduled, with
    `capture.completed` in the same write. Files still uploading are verified when they land."""
    agency = access.allow(principal, Capability.CAPTURE, deps=deps)
    capture = _open_capture(agency, capture_id, deps)
    now = deps.clock.now()
    done = capture.model_copy(update={
        "status": SubmissionStatus.SUBMITTED, "submitted_at": now,
        "review": Review(state=ReviewState.ACCEPTED, by=principal.actor, at=now, reason="captured by the agency"),
    })
    done = retention.schedule(done, agency.retention, now)
    event = custody.event(agency.agency_id, deps=deps, actor=principal.actor, action="capture.completed",
                          target=f"submission:{capture_id}",
                          details={"origin": capture.origin.value, "case_ref": capture.case_ref,
                                   "files": len(capture.files), "review": done.review.state.value})
    try:
        return deps.submissions.save(done, {"status", "submitted_at", "review", *retention.SCHEDULE_FIELDS},
                                     event=event)
    except Conflict:  # a parallel complete won, or files were declared meanwhile
        raise Conflict("The capture changed meanwhile; try again.", code="concurrent_change") from None


def _open_capture(agency: Agency, capture_id: str, deps: Deps) -> Submission:
    """The agency's capture, still open. Another agency's id, a citizen's submission and a made-up
    id are all simply not found."""
    try:
        capture = submissions.find(agency.agency_id, capture_id, deps=deps)
    except NotFound:
        capture = None
    if capture is None or capture.origin is not Origin.AGENCY_CAPTURE:
        raise NotFound("No such capture.", code="capture_not_found")
    if capture.status is SubmissionStatus.SUBMITTED:
        raise Conflict("This capture was already completed; start a new capture to add evidence.",
                       code="capture_completed")
    return capture
