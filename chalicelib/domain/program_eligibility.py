"""What the improvement program may take: the one filter every program read of content goes through
(services/program_extraction.py reads nothing else). Only a participant's own captures qualify;
citizen-link, portal and shared items never do, in any tier, for any use case, nor anything derived
from them. Pure: the caller passes what it read and `now`."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum

from .models import FileStatus, Origin, Submission, SubmissionStatus
from .program import Participation, ParticipationState, RemovalRequest
from .program_use_cases import UseCaseState, UseCaseVersion


class Exclusion(str, Enum):
    """Why something is not taken (None: it may be)."""

    NOT_OWN_CAPTURE = "not_own_capture"  # citizen link, community portal, shared, or another agency's
    NOT_SUBMITTED = "not_submitted"  # still open: its files may change
    BEFORE_PARTICIPATION = "before_participation"  # captured before the agency's current participation began
    RETENTION_DELETED = "retention_deleted"  # deleted, or due for deletion, under the agency's retention
    REMOVAL_REQUESTED = "removal_requested"
    WITHDRAWAL_OPEN = "withdrawal_open"
    NOT_PARTICIPANT = "not_participant"
    NO_USE_CASE = "no_use_case"  # retired, or no version active
    NOT_YET_EFFECTIVE = "not_yet_effective"
    TIER_EXCEEDED = "tier_exceeded"


@dataclass(frozen=True)
class Scope:
    """Everything the filter needs to judge one agency's items for one use-case version, now."""

    participation: Participation
    version: UseCaseVersion | None  # the version applying (domain/program_use_cases.applying)
    now: datetime
    removals: tuple[RemovalRequest, ...] = ()
    deleted: frozenset[str] = field(default_factory=frozenset)  # submission ids known deleted (tombstones)


def agency_exclusion(scope: Scope) -> Exclusion | None:
    """Reasons that exclude every item of the agency for this use case."""
    version, current = scope.version, scope.participation
    if version is None or version.state is not UseCaseState.ACTIVE or version.retired_at is not None:
        return Exclusion.NO_USE_CASE
    if version.effective_on is None or scope.now.date() < version.effective_on:
        return Exclusion.NOT_YET_EFFECTIVE
    if current.state is ParticipationState.WITHDRAWING:
        return Exclusion.WITHDRAWAL_OPEN
    if current.state is not ParticipationState.ACTIVE:
        return Exclusion.NOT_PARTICIPANT
    if not current.tier.includes(version.tier):
        return Exclusion.TIER_EXCEEDED
    return None


def exclusion(item: Submission, scope: Scope) -> Exclusion | None:
    """Why this item may not be taken, or None. The origin check comes first: nothing else can
    make a citizen, portal or shared item eligible."""
    if item.origin is not Origin.AGENCY_CAPTURE or item.agency_id != scope.participation.agency_id:
        return Exclusion.NOT_OWN_CAPTURE
    whole = agency_exclusion(scope)
    if whole is not None:
        return whole
    if item.status is not SubmissionStatus.SUBMITTED or item.submitted_at is None:
        return Exclusion.NOT_SUBMITTED
    if scope.participation.since is None or item.submitted_at.date() < scope.participation.since:
        return Exclusion.BEFORE_PARTICIPATION
    if item.submission_id in scope.deleted or (item.retain_until is not None and item.retain_until <= scope.now):
        return Exclusion.RETENTION_DELETED
    if any(removal_covers(r, item) for r in scope.removals if r.requested_at <= scope.now):
        return Exclusion.REMOVAL_REQUESTED
    return None


def removal_covers(request: RemovalRequest, item: Submission) -> bool:
    return request.agency_id == item.agency_id and (
        item.submission_id in request.submission_ids or (request.case_ref is not None
                                                         and request.case_ref == item.case_ref))


def eligible(items: Iterable[Submission], scope: Scope) -> list[Submission]:
    """The items the program may take, each with only its verified files (an unverified file's
    bytes are not the evidence)."""
    taken = []
    for item in items:
        if exclusion(item, scope) is None:
            files = {k: f for k, f in item.files.items() if f.status is FileStatus.VERIFIED and f.sha256}
            if files:
                taken.append(item.model_copy(update={"files": files}))
    return taken


def source_ref(agency_id: str, submission_id: str) -> str:
    """How lineage names a source item."""
    return f"{agency_id}/{submission_id}"
