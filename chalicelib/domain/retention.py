"""Retention: when a submission becomes due for deletion, and what stops it."""
from __future__ import annotations

from datetime import datetime, timedelta
from enum import Enum

from .models import RetentionPolicy, ReviewState, Submission, SubmissionStatus

MAX_DAYS = 36_500  # a century: anything longer is "keep indefinitely" (None)


def category(submission: Submission, policy: RetentionPolicy) -> str:
    """Which rule of the policy applies: declined first, then the case type, then the default."""
    if submission.review.state is ReviewState.DECLINED:
        return "declined"
    if submission.case_type and submission.case_type in policy.by_case_type:
        return f"case_type:{submission.case_type}"
    return "default"


def days_for(category_name: str, policy: RetentionPolicy) -> int | None:
    if category_name == "declined":
        return policy.declined_days if policy.declined_days is not None else policy.default_days
    if category_name.startswith("case_type:"):
        return policy.by_case_type[category_name.removeprefix("case_type:")]
    return policy.default_days


def retain_until(submission: Submission, policy: RetentionPolicy) -> datetime | None:
    """When the submission may be deleted; None while it is still open, or kept indefinitely.
    A legal hold does not change the date: it stops the deletion (see verdict)."""
    if submission.status is not SubmissionStatus.SUBMITTED or submission.submitted_at is None:
        return None
    days = days_for(category(submission, policy), policy)
    return None if days is None else submission.submitted_at + timedelta(days=days)


def schedule(submission: Submission, policy: RetentionPolicy, now: datetime) -> Submission:
    """The submission with its due date and the day the sweep should find it. A date already past
    (a lifted hold, a shortened policy) is filed under today: the sweep never looks back."""
    due = retain_until(submission, policy)
    day = max(due.date(), now.date()) if due and not submission.legal_hold else None
    return submission.model_copy(update={"retain_until": due, "sweep_day": day})


SCHEDULE_FIELDS = {"retain_until", "sweep_day"}


class Verdict(str, Enum):
    """What the sweep may do with a submission it found on the due index."""

    DELETE = "delete"
    NOT_DUE = "not_due"  # the date moved (a policy change, a decision) since it was indexed
    SUBMISSION_HELD = "submission_held"
    CASE_HELD = "case_held"

    @property
    def is_hold(self) -> bool:
        return self in (Verdict.SUBMISSION_HELD, Verdict.CASE_HELD)


def verdict(submission: Submission, *, case_on_hold: bool, now: datetime) -> Verdict:
    if submission.legal_hold:
        return Verdict.SUBMISSION_HELD
    if case_on_hold:
        return Verdict.CASE_HELD
    if submission.retain_until is None or submission.retain_until > now:
        return Verdict.NOT_DUE
    return Verdict.DELETE
