"""The improvement program for an agency: what it takes part in (derived on every read), accepting
Tier 2 terms, leaving, and asking for content to be taken out. Every change commits its audit event
with it. Rules: domain/program.py and domain/program_use_cases.py (docs/PROGRAM.md)."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..domain import ids
from ..domain import program as rules
from ..domain import program_use_cases as uc
from ..domain.errors import Forbidden, NotFound
from ..domain.models import Listing, Principal, Role
from . import access, custody
from .deps import Deps


def settings(deps: Deps) -> rules.ProgramRules:
    """The operator's terms date and notice period (`PUT /operator/program/settings`), or the defaults
    until set; read on each use, so a change applies at once (built then: importing the routes
    builds no schema, tests/unit/test_cold_import.py)."""
    stored, _ = deps.program_notices.get_rules()
    return stored or rules.ProgramRules()


class WithdrawalView(rules.WithdrawalRequest):
    model_config = ConfigDict(from_attributes=True)
    kind: Literal["WithdrawalRequest"] = "WithdrawalRequest"
    days_left: int  # until due_on (negative once overdue)


class RemovalView(rules.RemovalRequest):
    model_config = ConfigDict(from_attributes=True)
    kind: Literal["RemovalRequest"] = "RemovalRequest"
    days_left: int


class OpenRequests(Listing):
    items: list[WithdrawalView | RemovalView]


def request_view(request: rules.WithdrawalRequest | rules.RemovalRequest, today: date) -> WithdrawalView | RemovalView:
    """A withdrawal or removal request as the agency and the operator see it: its kind and days left."""
    view = WithdrawalView if isinstance(request, rules.WithdrawalRequest) else RemovalView
    return view.model_validate(request.model_dump() | {"days_left": rules.days_left(request.due_on, today)})


class ProgramView(BaseModel):
    """`GET /agency/program`: tier, since when, terms, use cases in force and announced, open requests."""

    model_config = ConfigDict(defer_build=True)
    tier: rules.Tier
    state: rules.ParticipationState
    since: date | None
    tier_2_since: date | None
    basis: str | None
    terms_version: str | None
    takes_new_data: bool
    use_cases_applying: list[uc.UseCaseVersion]
    use_cases_announced: list[uc.UseCaseVersion]
    open_requests: list[WithdrawalView | RemovalView]


class PublicVersion(uc.UseCaseVersion):
    """A use case version as the public sees it: not who wrote it or when the draft was made."""

    model_config = ConfigDict(from_attributes=True)
    use_case_id: str = Field(exclude=True)
    created_at: datetime = Field(exclude=True)
    created_by: str = Field(exclude=True)


class PublicUseCase(BaseModel):
    model_config = ConfigDict(defer_build=True)
    use_case_id: str
    title: str
    state: uc.UseCaseState
    applying: int | None  # the version in force
    upcoming: int | None  # the version announced next
    first_announced_at: datetime | None
    versions: list[PublicVersion]


class Transparency(BaseModel):
    """`GET /transparency.json`: the program's registry."""

    model_config = ConfigDict(defer_build=True)
    generated_at: datetime
    notice_days: int
    use_cases: list[PublicUseCase]


def participation(agency_id: str, *, deps: Deps) -> rules.Participation:
    repo = deps.program
    return rules.participation(agency_id, contracts=repo.contracts(agency_id), acceptances=repo.acceptances(agency_id),
                               withdrawals=repo.withdrawals(agency_id), settings=settings(deps), now=deps.clock.now())


def view(principal: Principal, *, deps: Deps) -> dict[str, Any]:
    """`GET /agency/program`: tier, since when, terms, use cases in force and announced, open requests."""
    access.allow(principal, access.Capability.READ, deps=deps)
    current, today = participation(principal.agency_id, deps=deps), deps.clock.now().date()
    by_case = uc.by_use_case(deps.program.all_use_case_versions())
    applying, announced = [], []
    for versions in by_case.values():
        now_v, next_v = uc.applying(versions), uc.upcoming(versions)
        if now_v and current.tier.includes(now_v.tier) and current.takes_new_data:
            applying.append(now_v)
        if next_v:
            announced.append(next_v)
    requests: list[rules.WithdrawalRequest | rules.RemovalRequest] = [
        *deps.program.withdrawals(principal.agency_id), *deps.program.removals(principal.agency_id)]
    made = ProgramView(
        tier=current.tier, state=current.state, since=current.since, tier_2_since=current.tier_2_since,
        basis=current.basis, terms_version=current.terms_version, takes_new_data=current.takes_new_data,
        use_cases_applying=applying, use_cases_announced=announced,
        open_requests=[request_view(r, today) for r in sorted(requests, key=lambda r: r.due_on) if r.done_at is None])
    return made.model_dump(mode="json")


def accept_tier_2(principal: Principal, version: str, sha256: str, *, deps: Deps) -> rules.Acceptance:
    require_admin(principal, deps)
    terms = rules.check_acceptance(deps.program.get_terms(version), sha256, rules.Tier.TIER_2)
    rules.check_tier_2(participation(principal.agency_id, deps=deps))
    now = deps.clock.now()
    made = rules.Acceptance(acceptance_id=ids.new_id(now), agency_id=principal.agency_id, tier=rules.Tier.TIER_2,
                            terms_version=terms.version, terms_sha256=terms.sha256, accepted_by=principal.actor,
                            accepted_at=now)
    deps.program.add_acceptance(made, event=_event(principal, deps, "program.tier2_accepted",
                                                   f"terms:{terms.version}", {"sha256": terms.sha256}))
    return made


def withdraw(principal: Principal, *, deps: Deps) -> rules.WithdrawalRequest:
    """One open withdrawal per agency: refused (409 withdrawal_open) while one is open, including one
    the operator dated ahead; two admins at once are told apart by the store (its guard item)."""
    require_admin(principal, deps)
    current, now = participation(principal.agency_id, deps=deps), deps.clock.now()
    terms = deps.program.get_terms(current.terms_version) if current.terms_version else None
    made = rules.withdrawal(current, request_id=ids.new_id(now), reason=rules.WithdrawalReason.REQUEST, at=now,
                            by=principal.actor, terms=terms, withdrawals=deps.program.withdrawals(principal.agency_id))
    deps.program.add_withdrawal(made, event=_event(principal, deps, "program.withdrawal_requested",
                                                   f"program_request:{made.request_id}",
                                                   {"due_on": made.due_on.isoformat()}))
    return made


def request_removal(principal: Principal, submission_ids: list[str], case_ref: str | None, *,
                    deps: Deps) -> rules.RemovalRequest:
    """Only the agency's own items: anything else is not found (no hint that it exists)."""
    require_admin(principal, deps)
    for submission_id in submission_ids:
        if deps.submissions.get_submission(principal.agency_id, submission_id) is None:
            raise NotFound("No such submission.", code="submission_not_found")
    if case_ref is not None and not deps.submissions.list_submissions(principal.agency_id, case_ref=case_ref,
                                                                      limit=1, cursor=None).items:
        raise NotFound("No such case.", code="case_not_found")
    now = deps.clock.now()
    made = rules.removal(principal.agency_id, request_id=ids.new_id(now), submission_ids=submission_ids,
                         case_ref=case_ref, at=now, by=principal.actor)
    deps.program.add_removal(made, event=_event(principal, deps, "program.removal_requested",
                                                f"program_request:{made.request_id}",
                                                {"due_on": made.due_on.isoformat(), "items": len(submission_ids),
                                                 "case_ref": case_ref}))
    return made


def require_admin(principal: Principal, deps: Deps) -> None:
    access.allow(principal, access.Capability.READ, deps=deps)
    if principal.role is not Role.AGENCY_ADMIN:
        raise Forbidden("Only an agency admin may do this.", code="admin_only")


def _event(principal: Principal, deps: Deps, action: str, target: str, details: dict[str, Any]) -> Any:
    return custody.event(principal.agency_id, deps=deps, actor=principal.actor, action=action, target=target,
                         details=details)


PUBLIC_FIELDS = tuple(name for name, field in PublicVersion.model_fields.items() if not field.exclude)


def transparency(*, deps: Deps) -> dict[str, Any]:
    """`GET /transparency.json`, for anyone: every use case with the versions ever announced (drafts
    are the operator's), oldest version first, and which one applies now and which is announced
    next. Read from the use cases' own partition (a query, never a scan); who edited is not shown."""
    by_case = uc.by_use_case(deps.program.all_use_case_versions())
    items = []
    for use_case_id, versions in by_case.items():
        shown = sorted(uc.public_versions(versions), key=lambda v: v.version)
        if not shown:
            continue
        now_v, next_v = uc.applying(shown), uc.upcoming(shown)
        items.append(PublicUseCase(
            use_case_id=use_case_id, title=shown[-1].title, state=shown[-1].state,
            applying=now_v.version if now_v else None, upcoming=next_v.version if next_v else None,
            first_announced_at=shown[0].announced_at, versions=[PublicVersion.model_validate(v) for v in shown]))
    items.sort(key=lambda item: (item.first_announced_at.isoformat() if item.first_announced_at else "",
                                 item.use_case_id))
    made = Transparency(generated_at=deps.clock.now(), notice_days=settings(deps).notice_days, use_cases=items)
    return made.model_dump(mode="json")  # the page reads it as data too
