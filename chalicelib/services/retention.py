"""Retention policies, legal holds, and the sweep that deletes what is due.

The sweep finds due submissions through the due-date index (one query per day since the last
sweep, never a table scan). Each deletion runs in steps that are each safe to repeat: delete the
files' object versions, then swap the submission for its tombstone, then audit. Killed anywhere,
the next run finds the submission still indexed and finishes it."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from ..domain import retention
from ..domain.commands import PlaceHold, SetRetentionPolicy
from ..domain.errors import NotFound
from ..domain.models import Hold, Principal, RetentionPolicy, Submission, Tombstone
from . import submissions
from .access import Capability, allow
from .deps import Deps

MAX_CATCH_UP_DAYS = 400  # a sweep that never ran starts this far back


def set_policy(principal: Principal, cmd: SetRetentionPolicy, *, deps: Deps) -> RetentionPolicy:
    agency = allow(principal, Capability.CONFIGURE, deps=deps)
    policy = RetentionPolicy(**cmd.model_dump())
    deps.agencies.save_agency(agency.model_copy(update={"retention": policy}))
    moved = _reschedule(principal.agency_id, None, policy, deps)
    deps.audit.append(principal.agency_id, at=deps.clock.now(), actor=principal.actor,
                      action="retention.policy_changed", target=f"agency:{principal.agency_id}",
                      details={"policy": policy.model_dump(), "rescheduled": moved})
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
    allow(principal, Capability.CONFIGURE, deps=deps)
    hold = Hold(agency_id=principal.agency_id, case_ref=case_ref, reason=cmd.reason, placed_by=principal.actor,
                placed_at=deps.clock.now())
    deps.retention.place_hold(hold)
    _audit_hold(principal, f"case:{case_ref}", "legal_hold.placed", {"reason": cmd.reason}, deps)
    return hold


def release_case(principal: Principal, case_ref: str, *, deps: Deps) -> None:
    submissions.check_case_ref(case_ref)
    agency = allow(principal, Capability.CONFIGURE, deps=deps)
    if not deps.retention.release_hold(principal.agency_id, case_ref):
        raise NotFound(f"Case {case_ref} has no legal hold.", code="hold_not_found")
    # What fell due during the hold was skipped by the sweep: file it under today again.
    moved = _reschedule(principal.agency_id, case_ref, agency.retention, deps)
    _audit_hold(principal, f"case:{case_ref}", "legal_hold.released", {"rescheduled": moved}, deps)


def hold_submission(principal: Principal, submission_id: str, hold: bool, reason: str | None, *,
                    deps: Deps) -> Submission:
    agency = allow(principal, Capability.CONFIGURE, deps=deps)
    submission = submissions.find(principal.agency_id, submission_id, deps=deps)
    if submission.legal_hold == hold:
        return submission
    changed = retention.schedule(submission.model_copy(update={"legal_hold": hold}), agency.retention,
                                 deps.clock.now())
    saved = deps.submissions.save(changed, {"legal_hold", *retention.SCHEDULE_FIELDS})
    action = "legal_hold.placed" if hold else "legal_hold.released"
    _audit_hold(principal, f"submission:{submission_id}", action, {"reason": reason}, deps)
    return saved


def _audit_hold(principal: Principal, target: str, action: str, details: dict[str, Any], deps: Deps) -> None:
    deps.audit.append(principal.agency_id, at=deps.clock.now(), actor=principal.actor, action=action,
                      target=target, details=details)


def sweep(*, deps: Deps, now: datetime | None = None) -> dict[str, int]:
    """Delete every submission due by `now` (default: the clock). Returns counts. A `now` in the
    future (time travel from the CLI) never moves the checkpoint past the real yesterday, or the
    real sweeps that follow would skip the days in between."""
    real_today = deps.clock.now().date()
    now = now or deps.clock.now()
    report = {"checked": 0, "deleted": 0, "held": 0}
    policies: dict[str, RetentionPolicy] = {}  # each agency's policy, read once per sweep
    last = deps.retention.last_swept_day()
    day = (last + timedelta(days=1)) if last else now.date() - timedelta(days=MAX_CATCH_UP_DAYS)
    while day <= now.date():
        for agency_id, submission_id in list(deps.submissions.due_on(day)):
            report["checked"] += 1
            outcome = _sweep_one(agency_id, submission_id, now, policies, deps)
            report[outcome] = report.get(outcome, 0) + 1
        if day < min(now.date(), real_today):  # today stays open: more of it may fall due later today
            deps.retention.set_last_swept_day(day)
        day += timedelta(days=1)
    return report


def _sweep_one(agency_id: str, submission_id: str, now: datetime, policies: dict[str, RetentionPolicy],
               deps: Deps) -> str:
    submission = deps.submissions.get_submission(agency_id, submission_id)
    if submission is None:  # deleted between the index read and now
        return "gone"
    case_hold = deps.retention.case_hold(agency_id, submission.case_ref) is not None
    deletable, why = retention.is_deletable(submission, case_on_hold=case_hold, now=now)
    if not deletable:
        if why != "not due":
            deps.audit.append(agency_id, at=now, actor="system:retention", action="evidence.deletion_refused",
                              target=f"submission:{submission_id}", outcome="refused", details={"reason": why})
            return "held"
        return "not_due"
    if agency_id not in policies:
        agency = deps.agencies.get_agency(agency_id)
        policies[agency_id] = agency.retention if agency else RetentionPolicy()
    _delete(submission, policies[agency_id], now, deps)
    return "deleted"


def _delete(submission: Submission, policy: RetentionPolicy, now: datetime, deps: Deps) -> None:
    rule = retention.category(submission, policy)
    removed = sum(deps.blobs.delete_all_versions(f.key) for f in submission.files.values())
    files = [{"file_id": f.file_id, "name": f.name, "size": f.size, "sha256": f.sha256}
             for f in submission.files.values()]
    tombstone = Tombstone(agency_id=submission.agency_id, submission_id=submission.submission_id,
                          case_ref=submission.case_ref, deleted_at=now, retain_until=submission.retain_until or now,
                          rule=rule, days=retention.days_for(rule, policy) or 0, files=files)
    deps.submissions.delete_with_tombstone(submission, tombstone)
    deps.agencies.add_usage(submission.agency_id, -sum(f.size for f in submission.files.values() if f.sha256))
    deps.audit.append(submission.agency_id, at=now, actor="system:retention", action="evidence.deleted",
                      target=f"submission:{submission.submission_id}",
                      details={"rule": rule, "object_versions": removed, "files": files})

