"""Triage: a sent submission waits as pending until someone accepts or declines it."""
from __future__ import annotations

from datetime import datetime

from .errors import Conflict, InvalidInput
from .models import Agency, Review, ReviewState, Submission, SubmissionStatus

AUTO_ACCEPT_ACTOR = "system:auto_accept"


def on_arrival(agency: Agency, now: datetime) -> Review:
    """The review a submission starts with when the citizen completes it."""
    if agency.auto_accept:
        return Review(state=ReviewState.ACCEPTED, by=AUTO_ACCEPT_ACTOR, at=now, reason="agency auto-accepts")
    return Review()


def decide(submission: Submission, decision: ReviewState, *, reason: str | None, change: bool,
           actor: str, now: datetime) -> Review | None:
    """The new review, or None when the decision repeats the current one (nothing to record).
    Reversing a decision must be asked for explicitly, so a double click or a colleague's
    stale screen cannot silently overturn a review."""
    if submission.status is not SubmissionStatus.SUBMITTED:
        raise Conflict("The citizen has not finished sending this submission yet.", code="not_submitted")
    if decision is ReviewState.PENDING:
        raise InvalidInput("A review accepts or declines.", code="validation_error")
    if decision is ReviewState.DECLINED and not (reason and reason.strip()):
        raise InvalidInput("Declining needs a reason.", code="reason_required")
    current = submission.review.state
    if current is decision:
        return None
    if current is not ReviewState.PENDING and not change:
        raise Conflict(
            f"This submission was already {current.value}; send \"change\": true to change the decision.",
            code="already_reviewed",
        )
    return Review(state=decision, by=actor, at=now, reason=reason)
