"""The agency's view of what citizens sent."""
from __future__ import annotations

from typing import Any

from ..domain import ids, links
from ..domain.errors import InvalidInput, NotFound
from ..domain.models import Page, Principal, Submission
from .access import Capability, allow
from .deps import Deps

MAX_PAGE = 100


def find(agency_id: str, submission_id: str, *, deps: Deps) -> Submission:
    """The agency's submission, or NotFound: another agency's id is as unknown as a made-up one."""
    found = deps.submissions.get_submission(agency_id, submission_id) if ids.is_id(submission_id) else None
    if found is None:
        raise NotFound("No such submission.", code="submission_not_found")
    return found


def check_case_ref(case_ref: str | None) -> None:
    if case_ref is not None and not links.CASE_REF.fullmatch(case_ref):
        raise InvalidInput("That is not a valid case reference.", code="validation_error")


def list_submissions(principal: Principal, *, case_ref: str | None, limit: int, cursor: str | None,
                     deps: Deps) -> Page:
    allow(principal, Capability.READ, deps=deps)
    check_case_ref(case_ref)
    return deps.submissions.list_submissions(principal.agency_id, case_ref=case_ref,
                                             limit=max(1, min(limit, MAX_PAGE)), cursor=cursor)


def view_submission(principal: Principal, submission_id: str, *, deps: Deps) -> tuple[Submission, dict[str, Any]]:
    """The submission with a short-lived download URL per stored file; the view is audited."""
    allow(principal, Capability.DOWNLOAD, deps=deps)
    submission = find(principal.agency_id, submission_id, deps=deps)
    urls = {
        f.file_id: deps.blobs.presign_download(f.key, filename=f.name, expires_in=links.DOWNLOAD_URL_TTL,
                                               version_id=f.version_id)
        for f in submission.files.values() if f.sha256
    }
    deps.audit.append(principal.agency_id, at=deps.clock.now(), actor=principal.actor,
                      action="submission.viewed", target=f"submission:{submission_id}",
                      details={"download_urls": len(urls)})
    return submission, {"download_urls": urls, "expires_in": int(links.DOWNLOAD_URL_TTL.total_seconds())}
