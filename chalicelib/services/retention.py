"""Retention policies, legal holds, and the sweep that deletes what is due.

The sweep finds due submissions through the due-date index (one query per day since the last
sweep, never a table scan). A deletion is two steps, each safe to repeat: delete the files' object
versions, then swap the submission for its tombstone together with its audit event (and the bytes
it frees) in one transaction. Killed anywhere, the next run finds the submission still indexed and
finishes it; once the swap is done it is gone from the index and audited."""
from __future__ import annotations

import contextlib
import logging
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ..domain import retention
from ..domain.commands import PlaceHold, SetRetentionPolicy
from ..domain.errors import Conflict, NotFound
from ..domain.models import AuditEvent, Hold, Principal, RetentionPolicy, Submission, Tombstone
from . import custody, submissions
from .access import Capability, allow
from .deps import Deps

log = logging.getLogger(__name__)


class HoldView(Hold):
    """A case's hold as its agency sees it."""

    model_config = ConfigDict(from_attributes=True)
    agency_id: str = Field(exclude=True)


class HoldReleased(BaseModel):
    model_config = ConfigDict(defer_build=True)
    case_ref: str
    legal_hold: bool  # False: released


class SweepOutcome(str, Enum):
    """What the sweep did with a submission it found on the due index (the report counts these)."""

    DELETED = "deleted"
    HELD = "held"  # a legal hold stopped it: refused and audited
    NOT_DUE = "not_due"  # its date moved since it was indexed
    CHANGED = "changed"  # changed while being deleted: that change filed it again
    GONE = "gone"  # already deleted
MAX_CATCH_UP_DAYS = 400  # a sweep that never ran starts this far back


def set_policy(principal: Principal, cmd: SetRetentionPolicy, *, deps: Deps) -> RetentionPolicy:
    agency = allow(principal, Capability.CONFIGURE, deps=deps)
    policy = RetentionPolicy(**cmd.model_dump())
    deps.agencies.save_agency(agency.model_copy(update={"retention": policy}), event=custody.event(
        principal.agency_id, deps=deps, actor=principal.actor, action="retention.policy_changed",
        target=f"agency:{principal.agency_id}", details={"policy": policy.model_dump()}))
    _reschedule(principal.agency_id, None, policy, deps)  # rerun after a crash: finishes what is left
    return policy


def _reschedule(agency_id: str, case_ref: str | None, policy: RetentionPolicy, deps: Deps) -> int:
    """Recompute due dates of the agency's (or one case's) submissions; returns how many moved."""
    moved, cursor, now = 0, None, deps.clock.now()
    while True:
        page = deps.submissions.list_submissions(agency_id, case_ref=case_ref, limit=100, cursor=cursor)
        for submission in page.items:
            scheduled = retention.schedule(submission, policy, now)
            if (scheduled.retain_until, scheduled.sweep_day) != (submission.retain_until, submission.sweep_day):
                deps.submissions.save(scheduled, retention.SCHEDULE_FIELDS)
                moved += 1
        cursor = page.next_cursor
        if not cursor:
            return moved


def hold_case(principal: Principal, case_ref: str, cmd: PlaceHold, *, deps: Deps) -> Hold:
    submissions.check_case_ref(case_ref)
    allow(principal, Capability.LEGAL_HOLD, deps=deps)
    hold = Hold(agency_id=principal.agency_id, case_ref=case_ref, reason=cmd.reason, placed_by=principal.actor,
                placed_at=deps.clock.now())
    event = _hold_event(principal, f"case:{case_ref}", "legal_hold.placed", {"reason": cmd.reason}, deps)
    if not deps.holds.place_hold(hold, event=event):  # already held: PUT again changes nothing
        return deps.holds.case_hold(principal.agency_id, case_ref) or hold
    return hold


def release_case(principal: Principal, case_ref: str, *, deps: Deps) -> None:
    submissions.check_case_ref(case_ref)
    agency = allow(principal, Capability.LEGAL_HOLD, deps=deps)
    if deps.holds.case_hold(principal.agency_id, case_ref) is None:
        raise NotFound(f"Case {case_ref} has no legal hold.", code="hold_not_found")
    # What fell due during the hold was skipped by the sweep: file it under today again. First,
    # while the hold still stops the sweep, so a crash before the release leaves nothing half done.
    _reschedule(principal.agency_id, case_ref, agency.retention, deps)
    event = _hold_event(principal, f"case:{case_ref}", "legal_hold.released", {}, deps)
    if not deps.holds.release_hold(principal.agency_id, case_ref, event=event):
        raise NotFound(f"Case {case_ref} has no legal hold.", code="hold_not_found")


def hold_submission(principal: Principal, submission_id: str, hold: bool, reason: str | None, *,
                    deps: Deps) -> Submission:
    agency = allow(principal, Capability.LEGAL_HOLD, deps=deps)
    submission = submissions.find(principal.agency_id, submission_id, deps=deps)
    if submission.legal_hold == hold:
        return submission
    changed = retention.schedule(submission.model_copy(update={"legal_hold": hold}), agency.retention,
                                 deps.clock.now())
    action = "legal_hold.placed" if hold else "legal_hold.released"
    event = _hold_event(principal, f"submission:{submission_id}", action, {"reason": reason}, deps)
    return deps.submissions.save(changed, {"legal_hold", *retention.SCHEDULE_FIELDS}, event=event)


def _hold_event(principal: Principal, target: str, action: str, details: dict[str, Any], deps: Deps) -> AuditEvent:
    return custody.event(principal.agency_id, deps=deps, actor=principal.actor, action=action, target=target,
                         details=details)


def sweep(*, deps: Deps, now: datetime | None = None) -> dict[str, int]:
    """Delete every submission due by `now` (default: the clock). Returns counts. A `now` in the
    future (time travel from the CLI) never moves the checkpoint past the real yesterday, or the
    real sweeps that follow would skip the days in between."""
    real_today = deps.clock.now().date()
    now = now or deps.clock.now()
    report = {"checked": 0, SweepOutcome.DELETED.value: 0, SweepOutcome.HELD.value: 0}
    policies: dict[str, RetentionPolicy] = {}  # each agency's policy, read once per sweep
    last = deps.submissions.last_swept_day()
    day = (last + timedelta(days=1)) if last else now.date() - timedelta(days=MAX_CATCH_UP_DAYS)
    while day <= now.date():
        for agency_id, submission_id in list(deps.submissions.due_on(day)):
            report["checked"] += 1
            outcome = sweep_one(agency_id, submission_id, now, deps=deps, policies=policies)
            report[outcome.value] = report.get(outcome.value, 0) + 1
        if day < min(now.date(), real_today):  # today stays open: more of it may fall due later today
            deps.submissions.set_last_swept_day(day)
        day += timedelta(days=1)
    return report


def sweep_one(agency_id: str, submission_id: str, now: datetime, *, deps: Deps,
              policies: dict[str, RetentionPolicy] | None = None) -> SweepOutcome:
    """Judge one submission found on the due index, and delete it if it is due and not held."""
    policies = {} if policies is None else policies
    submission = deps.submissions.get_submission(agency_id, submission_id)
    if submission is None:  # deleted between the index read and now
        return SweepOutcome.GONE
    case_hold = deps.holds.case_hold(agency_id, submission.case_ref) is not None
    verdict = retention.verdict(submission, case_on_hold=case_hold, now=now)
    if verdict.is_hold:
        _refuse(submission, verdict, deps)
        return SweepOutcome.HELD
    if verdict is retention.Verdict.NOT_DUE:
        return SweepOutcome.NOT_DUE
    if agency_id not in policies:
        agency = deps.agencies.get_agency(agency_id)
        policies[agency_id] = agency.retention if agency else RetentionPolicy()
    try:
        _delete(submission, policies[agency_id], now, deps)
    except Conflict:  # changed since it was read (a hold, a decision): that change re-filed it
        return SweepOutcome.CHANGED
    return SweepOutcome.DELETED


def _refuse(submission: Submission, verdict: retention.Verdict, deps: Deps) -> None:
    """A hold stops the deletion: the refusal is audited once, and the submission leaves the due
    index in the same write (releasing the hold files it under that day again)."""
    event = custody.event(submission.agency_id, deps=deps, actor="system:retention",
                          action="evidence.deletion_refused", target=f"submission:{submission.submission_id}",
                          outcome="refused", details={"reason": verdict.value, "case_ref": submission.case_ref})
    with contextlib.suppress(Conflict):  # changed meanwhile: that change re-filed it for the next sweep
        deps.submissions.save(submission.model_copy(update={"sweep_day": None}), {"sweep_day"}, event=event)


def _delete(submission: Submission, policy: RetentionPolicy, now: datetime, deps: Deps) -> None:
    rule = retention.category(submission, policy)
    removed = sum(deps.blobs.delete_all_versions(f.key) for f in submission.files.values())
    files = [{"file_id": f.file_id, "name": f.name, "size": f.size, "sha256": f.sha256}
             for f in submission.files.values()]
    tombstone = Tombstone(agency_id=submission.agency_id, submission_id=submission.submission_id,
                          case_ref=submission.case_ref, deleted_at=now, retain_until=submission.retain_until or now,
                          rule=rule, days=retention.days_for(rule, policy) or 0, files=files)
    freed = sum(f.size for f in submission.files.values() if f.sha256)
    freed += sum(a.size for f in submission.files.values() for a in f.tamper_attempts.values())
    event = custody.event(submission.agency_id, deps=deps, actor="system:retention", action="evidence.deleted",
                          target=f"submission:{submission.submission_id}",
                          details={"rule": rule, "files": files}, usage_delta=-freed)
    deps.submissions.delete_with_tombstone(submission, tombstone, event=event)
    log.info("deleted %s: %d object versions", submission.submission_id, removed)

