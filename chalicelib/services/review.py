"""Triage of what citizens sent: accept or decline, and the daily digest of what waits."""
from __future__ import annotations

from collections import Counter

from ..domain import retention, review
from ..domain.commands import ReviewSubmission
from ..domain.errors import DeliveryFailed
from ..domain.models import Principal, ReviewState, Submission
from . import custody, submissions
from .access import Capability, allow
from .deps import Deps


def review_submission(principal: Principal, submission_id: str, cmd: ReviewSubmission, *, deps: Deps) -> Submission:
    agency = allow(principal, Capability.REVIEW, deps=deps)
    submission = submissions.find(principal.agency_id, submission_id, deps=deps)
    now = deps.clock.now()
    decision = ReviewState.ACCEPTED if cmd.decision == "accept" else ReviewState.DECLINED
    new_review = review.decide(submission, decision, reason=cmd.reason, change=cmd.change,
                               actor=principal.actor, now=now)
    if new_review is None:
        return submission
    previous = submission.review.state
    # Declined items follow their own retention period: the due date moves with the decision.
    updated = retention.schedule(submission.model_copy(update={"review": new_review}), agency.retention, now)
    event = custody.event(principal.agency_id, deps=deps, actor=principal.actor, action="submission.reviewed",
                          target=f"submission:{submission_id}",
                          details={"from": previous.value, "to": decision.value, "reason": cmd.reason,
                                   "retain_until": updated.retain_until.isoformat() if updated.retain_until else None})
    return deps.submissions.save(updated, {"review", *retention.SCHEDULE_FIELDS}, event=event)


def send_digests(*, deps: Deps) -> dict[str, int]:
    """Email each agency's contact how many submissions wait for review. Returns the counts."""
    waiting = Counter(agency_id for agency_id, _ in deps.submissions.pending_reviews())
    for agency_id, count in sorted(waiting.items()):
        agency = deps.agencies.get_agency(agency_id)
        if agency is None or not agency.contact_email:
            continue
        try:
            deps.email.send_email(agency.contact_email, f"{count} citizen submission(s) waiting for review",
                                  f"{agency.name}: {count} submission(s) sent by citizens are waiting to be "
                                  "accepted or declined.")
        except DeliveryFailed as exc:
            deps.audit.append(agency_id, at=deps.clock.now(), actor="system:digest", action="digest.sent",
                              target=f"agency:{agency_id}", outcome="failed", details={"error": exc.message})
    return dict(waiting)
