"""The citizen's side of a link: open it, get upload URLs, say it is done."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from ..domain import ids, links, media, retention, review
from ..domain.errors import Conflict, DeliveryFailed, Forbidden, Gone, InvalidInput, NotFound
from ..domain.licensing import Entitlements
from ..domain.models import Agency, CitizenLink, EvidenceFile, Origin, Submission, SubmissionStatus
from . import access, custody, resumable, uploads
from .deps import Deps

if TYPE_CHECKING:  # request bodies, for the annotations only: a citizen's first request validates none
    from ..domain.commands import CompleteFile, CompleteSubmission, RequestUploads, SignParts
    from ..domain.ports import PresignedPost


def resolve(token: str, *, deps: Deps) -> tuple[CitizenLink, Submission | None]:
    link = deps.links.link_by_token_hash(ids.digest(token)) if 20 <= len(token) <= 100 else None
    if link is None:
        raise NotFound("This link is not valid. Check that it was copied whole.", code="link_not_found")
    return link, deps.submissions.get_submission(link.agency_id, link.link_id)


def page_state(token: str, *, deps: Deps) -> tuple[str | None, str | None, Agency | None]:
    """(problem code or None, the link's language if known, its agency if known), to choose which
    page to show: a dead link still names the agency that sent it and how to reach it."""
    try:
        link, submission = resolve(token, deps=deps)
    except NotFound as exc:
        return exc.code, None, None
    try:
        _usable_agency(link, submission, deps)
    except Gone as exc:
        return exc.code, link.language, deps.agencies.get_agency(link.agency_id)
    except Forbidden:  # the agency may no longer collect through links: to the citizen, it expired
        return "link_expired", link.language, deps.agencies.get_agency(link.agency_id)
    return None, link.language, None


def _usable_agency(link: CitizenLink, submission: Submission | None, deps: Deps) -> tuple[Agency, Entitlements]:
    """The link is live and its agency may still collect through it (checked on every citizen call):
    the agency, read once, and its entitlements."""
    links.ensure_usable(link, submission, deps.clock.now())
    agency = deps.agencies.get_agency(link.agency_id)
    if agency is None:  # a link that outlived its agency (the page shows it as expired)
        raise Forbidden("This agency no longer collects evidence here.", code="entitlement_missing")
    ent = access.entitlements_of(agency, deps=deps)
    # A portal's session is a link too, but the agency's right to it is Citizen for Communities.
    portal = link.origin is Origin.COMMUNITY_PORTAL
    access.ensure_feature(ent, access.Capability.PORTALS if portal else access.Capability.SEND_LINKS)
    return agency, ent


class LinkSession(BaseModel):
    """`GET /c/{token}/session`: what the upload page needs. Nothing identifies the case or the citizen."""

    model_config = ConfigDict(defer_build=True)
    agency_name: str
    language: str
    note: str | None
    expires_at: datetime
    max_files: int
    files_declared: int
    max_file_bytes: int
    multipart_threshold: int
    allowed_types: list[str]


class Sent(BaseModel):
    """`POST /c/{token}/complete`: the submission sent, and how many files it holds."""

    model_config = ConfigDict(defer_build=True)
    submission_id: str
    status: SubmissionStatus
    files: int


def open_link(token: str, *, deps: Deps) -> dict[str, Any]:
    """What the upload page needs to know. Nothing here identifies the case or the citizen."""
    link, submission = resolve(token, deps=deps)
    agency, _ = _usable_agency(link, submission, deps)
    return LinkSession(
        agency_name=agency.name, language=link.language, note=link.note, expires_at=link.expires_at,
        max_files=link.max_files, files_declared=links.slots_held(submission, deps.clock.now()) if submission else 0,
        max_file_bytes=deps.max_upload_bytes, multipart_threshold=deps.multipart_threshold,
        allowed_types=sorted(media.ALLOWED_TYPES)).model_dump(mode="json")


def request_uploads(
    token: str, cmd: RequestUploads, *, deps: Deps, address: str | None = None
) -> tuple[str, list[tuple[EvidenceFile, PresignedPost | None]]]:
    """Declare files and sign each upload; returns the submission id and (file, POST) pairs, the
    POST None for a multipart file (its parts are signed on demand). `address`: the caller's, which
    a portal's caps count per client."""
    from . import portal_sessions  # here: the citizen's first request (the session) does not need it

    link, submission = resolve(token, deps=deps)
    agency, ent = _usable_agency(link, submission, deps)
    submission = submission or _open(link, deps)
    added, in_order = uploads.plan(submission, cmd.files, max_files=link.max_files, deps=deps, resumable=True)
    uploads.check_quota(ent.storage_quota_bytes, agency.used_bytes, sum(f.size for f in added))
    portal_sessions.admit_uploads(link, added, address=address, deps=deps)
    if added:
        started = {f.file_id: f for f in resumable.start(added, deps=deps)}
        deps.submissions.add_files(submission, list(started.values()))
        in_order = [started.get(f.file_id, f) for f in in_order]
    return submission.submission_id, [(f, None if f.upload_id else uploads.sign_one(f, deps)) for f in in_order]


def _live_file(token: str, file_id: str, deps: Deps) -> tuple[Submission, EvidenceFile]:
    link, submission = resolve(token, deps=deps)
    _usable_agency(link, submission, deps)
    file = resumable.resumable_file(submission, file_id)
    assert submission is not None
    return submission, file


def sign_parts(token: str, file_id: str, cmd: SignParts, *, deps: Deps) -> list[dict[str, Any]]:
    _, file = _live_file(token, file_id, deps)
    return resumable.sign_parts(file, cmd, deps=deps)


def held_parts(token: str, file_id: str, *, deps: Deps) -> dict[str, Any]:
    _, file = _live_file(token, file_id, deps)
    return resumable.held_parts(file, deps=deps)


def complete_file(token: str, file_id: str, cmd: CompleteFile, *, deps: Deps) -> EvidenceFile:
    """Assemble a multipart file. Like completing the session, allowed a little past expiry."""
    link, submission = resolve(token, deps=deps)
    links.ensure_in_grace(link, deps.clock.now())
    file = resumable.resumable_file(submission, file_id)
    assert submission is not None
    return resumable.complete(submission, file, cmd, deps=deps)


def verdicts(token: str, *, deps: Deps) -> list[EvidenceFile]:
    """The link's files as the server sees them: the page waits for these before saying 'received'.
    Readable after the session closed (the confirmation asks then), never after the link expired."""
    link, submission = resolve(token, deps=deps)
    links.ensure_in_grace(link, deps.clock.now())
    return list(submission.files.values()) if submission else []


def _open(link: CitizenLink, deps: Deps) -> Submission:
    submission = Submission(submission_id=link.link_id, agency_id=link.agency_id, origin=link.origin,
                            link_id=link.link_id, case_ref=link.case_ref, case_type=link.case_type,
                            requested_by=link.created_by, created_at=deps.clock.now())
    try:
        deps.submissions.open_submission(submission)
        return submission
    except Conflict:  # opened by a parallel request from the same page: use theirs
        stored = deps.submissions.get_submission(link.agency_id, link.link_id)
        if stored is None:
            raise
        return stored


def complete(token: str, cmd: CompleteSubmission, *, deps: Deps) -> Submission:
    """Close the session. Allowed a little past expiry: uploads signed before it may still land."""
    link, submission = resolve(token, deps=deps)
    now = deps.clock.now()
    if submission is None or not submission.files:
        links.ensure_usable(link, submission, now)
        raise InvalidInput("No files were sent through this link yet.", code="nothing_uploaded")
    if submission.status is SubmissionStatus.SUBMITTED:
        raise Gone("These files were already sent.", code="link_used")
    links.ensure_in_grace(link, now)
    agency = deps.agencies.get_agency(link.agency_id)
    done = submission.model_copy(update={"status": SubmissionStatus.SUBMITTED, "submitted_at": now})
    if agency:
        done.review = review.on_arrival(agency, now)
        done = retention.schedule(done, agency.retention, now)
    event = custody.event(link.agency_id, deps=deps, actor="citizen", action="submission.completed",
                          target=f"submission:{submission.submission_id}",
                          details={"files": len(submission.files), "case_ref": submission.case_ref,
                                   "review": done.review.state.value, "origin": submission.origin.value})
    try:
        saved = deps.submissions.save(done, {"status", "submitted_at", "review", *retention.SCHEDULE_FIELDS},
                                      event=event)
    except Conflict:  # a parallel complete won, or files were declared meanwhile: look again
        raise Conflict("The submission changed meanwhile; try again.", code="concurrent_change") from None
    _tell_officer(link, saved, deps)
    return saved


def _tell_officer(link: CitizenLink, submission: Submission, deps: Deps) -> None:
    """Email the officer who sent the link. A failure is audited; the citizen's part is done."""
    if not link.notify_email:
        return
    try:
        deps.email.send_email(
            link.notify_email, f"Case {link.case_ref}: a citizen sent {len(submission.files)} file(s)",
            f"The citizen you sent a link to for case {link.case_ref} has finished uploading "
            f"{len(submission.files)} file(s). Submission {submission.submission_id} is "
            f"{submission.review.state.value}.")
        outcome, details = "success", {}
    except DeliveryFailed as exc:
        outcome, details = "failed", {"error": exc.message}
    deps.audit.append(link.agency_id, at=deps.clock.now(), actor="system:notify", action="officer.notified",
                      target=f"submission:{submission.submission_id}", outcome=outcome, details=details)
