"""The improvement program, the operator's side: record an agency's contract and its end (the end
causes the withdrawal, in the same write), publish and retire terms versions, create, edit,
announce, activate and retire use cases, list open requests by due date. Operator keys only; every
change commits its audit event with it: an agency's contract in that agency's log, terms and use
cases in the operator's. Rules: domain/program.py, domain/program_use_cases.py (docs/PROGRAM.md)."""
from __future__ import annotations

import re
from datetime import datetime, time, timezone
from typing import Any

from pydantic import BaseModel, ConfigDict

from ..domain import ids
from ..domain import program as rules
from ..domain import program_use_cases as uc
from ..domain.errors import Conflict, InvalidInput, NotFound
from ..domain.models import OPERATOR_AGENCY, Listing, Principal
from ..domain.program_commands import VERSION_ID, EndContract, PublishTerms, RecordContract, UseCaseBody
from ..domain.program_notices import SetProgramRules
from . import custody
from .access_requests import require_operator
from .deps import Deps
from .program import participation, request_view, settings

TERMS_VERSION = re.compile(VERSION_ID)


class ContractEnded(BaseModel):
    """A contract's end, and the withdrawal it caused when the agency took part."""

    model_config = ConfigDict(defer_build=True)
    contract: rules.Contract
    withdrawal: rules.WithdrawalRequest | None


class UseCaseHistory(BaseModel):
    """A use case with every version (drafts included), the one in force and the one announced next."""

    model_config = ConfigDict(defer_build=True)
    use_case_id: str
    applying: int | None
    upcoming: int | None
    versions: list[uc.UseCaseVersion]


class UseCaseList(Listing):
    items: list[UseCaseHistory]


class RetiredVersions(Listing):
    items: list[uc.UseCaseVersion]  # every version, now retired



# --- contracts -------------------------------------------------------------------------------------

def record_contract(me: Principal, agency_id: str, cmd: RecordContract, *, deps: Deps) -> rules.Contract:
    require_operator(me)
    _agency(agency_id, deps)
    now = deps.clock.now()
    made = rules.Contract(contract_id=cmd.contract_id or ids.new_id(now), agency_id=agency_id, country=cmd.country,
                          executed_on=cmd.executed_on, includes_program_terms=cmd.includes_program_terms,
                          recorded_at=now, recorded_by=me.actor)
    deps.program.add_contract(made, event=custody.event(
        agency_id, deps=deps, actor=me.actor, action="program.contract_recorded", target=f"contract:{made.contract_id}",
        details={"executed_on": made.executed_on.isoformat(), "country": made.country,
                 "includes_program_terms": made.includes_program_terms}))
    return made


def end_contract(me: Principal, agency_id: str, contract_id: str, cmd: EndContract, *,
                 deps: Deps) -> tuple[rules.Contract, rules.WithdrawalRequest | None]:
    """Record the end once. If the agency takes part, the withdrawal it causes (reason contract_end)
    is written with it: requested at the start of the end day, or now if that day has passed, so
    the agency is out 30 days after whichever is later. An agency already leaving (a withdrawal
    open) keeps that one: the end is recorded alone."""
    require_operator(me)
    _agency(agency_id, deps)
    found = next((c for c in deps.program.contracts(agency_id) if c.contract_id == contract_id), None)
    if found is None:
        raise NotFound("No such contract.", code="contract_not_found")
    if found.ended_on is not None:
        raise Conflict("The contract's end is already recorded.", code="contract_ended")
    if cmd.ended_on < found.executed_on:
        raise InvalidInput("A contract cannot end before it was executed.", code="end_before_execution")
    now = deps.clock.now()
    at = max(now, datetime.combine(cmd.ended_on, time(0), tzinfo=timezone.utc))
    current, withdrawals = participation(agency_id, deps=deps), deps.program.withdrawals(agency_id)
    withdrawal = None
    if current.state is rules.ParticipationState.ACTIVE and rules.open_withdrawal(withdrawals) is None:
        terms = deps.program.get_terms(current.terms_version) if current.terms_version else None
        withdrawal = rules.withdrawal(current, request_id=ids.new_id(now), reason=rules.WithdrawalReason.CONTRACT_END,
                                      at=at, by=me.actor, terms=terms, withdrawals=withdrawals)
    ended = found.model_copy(update={"ended_on": cmd.ended_on})
    details: dict[str, Any] = {"ended_on": cmd.ended_on.isoformat()}
    if withdrawal is not None:
        details |= {"withdrawal_id": withdrawal.request_id, "due_on": withdrawal.due_on.isoformat()}
    deps.program.end_contract(ended, withdrawal, event=custody.event(
        agency_id, deps=deps, actor=me.actor, action="program.contract_ended", target=f"contract:{contract_id}",
        details=details))
    return ended, withdrawal


# --- terms -----------------------------------------------------------------------------------------

def publish_terms(me: Principal, cmd: PublishTerms, *, deps: Deps) -> rules.TermsVersion:
    """The document's SHA-256 is computed here: what agencies accept is the hash of what was published."""
    require_operator(me)
    made = rules.TermsVersion(version=cmd.version, tier=rules.Tier(cmd.tier), document=cmd.document,
                              sha256=rules.terms_hash(cmd.document), deletion_days=cmd.deletion_days,
                              published_at=deps.clock.now())
    deps.program.publish_terms(made, event=_event(me, deps, "program.terms_published", f"terms:{made.version}",
                                                  {"sha256": made.sha256, "tier": made.tier.value,
                                                   "deletion_days": made.deletion_days}))
    return made


def retire_terms(me: Principal, version: str, *, deps: Deps) -> rules.TermsVersion:
    require_operator(me)
    if not TERMS_VERSION.match(version) or deps.program.get_terms(version) is None:  # never a stranger's key
        raise NotFound("No terms version has that id.", code="terms_unknown")
    now = deps.clock.now()
    deps.program.retire_terms(version, now, event=_event(me, deps, "program.terms_retired", f"terms:{version}", {}))
    retired = deps.program.get_terms(version)
    assert retired is not None
    return retired


# --- use cases -------------------------------------------------------------------------------------

def list_use_cases(me: Principal, *, deps: Deps) -> list[dict[str, Any]]:
    """Every use case with all its versions (drafts included: this is the operator's view)."""
    require_operator(me)
    by_case = uc.by_use_case(deps.program.all_use_case_versions())
    return [{"use_case_id": key, "applying": _number(uc.applying(vs)), "upcoming": _number(uc.upcoming(vs)),
             "versions": [v.model_dump(mode="json") for v in vs]} for key, vs in sorted(by_case.items())]


def create_use_case(me: Principal, cmd: UseCaseBody, *, deps: Deps) -> uc.UseCaseVersion:
    require_operator(me)
    now = deps.clock.now()
    made = uc.UseCaseVersion(**_content(cmd), use_case_id=ids.new_id(now), version=1, created_at=now,
                             created_by=me.actor)
    deps.program.add_use_case_version(made, event=_use_case_event(me, deps, "program.use_case_created", made))
    return made


def edit_use_case(me: Principal, use_case_id: str, cmd: UseCaseBody, *, deps: Deps) -> uc.UseCaseVersion:
    """A new version: a material edit is a draft to announce again; another keeps the latest's state."""
    require_operator(me)
    versions = _versions(use_case_id, deps)
    made = uc.edit(versions, uc.UseCaseContent(**_content(cmd)), now=deps.clock.now(), by=me.actor)
    material = uc.is_material(versions[-1], made)
    deps.program.add_use_case_version(made, event=_use_case_event(me, deps, "program.use_case_edited", made,
                                                                  material=material))
    return made


def announce_use_case(me: Principal, use_case_id: str, *, deps: Deps) -> uc.UseCaseVersion:
    """The latest version, if a draft: effective after the notice period (never under 30 days)."""
    require_operator(me)
    latest = _versions(use_case_id, deps)[-1]
    moved = uc.announce(latest, settings(deps), now=deps.clock.now())
    deps.program.move_use_case_versions([(moved, latest.state.value)], event=_use_case_event(
        me, deps, "program.use_case_announced", moved))
    return moved


def activate_use_case(me: Principal, use_case_id: str, *, deps: Deps) -> uc.UseCaseVersion:
    """The announced version waiting beyond the one in force; refused before its effective day."""
    require_operator(me)
    versions = _versions(use_case_id, deps)
    waiting = uc.upcoming(versions)
    if waiting is None:
        raise Conflict("No announced version of this use case waits to be activated.", code="not_announced")
    moved = uc.activate(waiting, now=deps.clock.now())
    deps.program.move_use_case_versions([(moved, waiting.state.value)], event=_use_case_event(
        me, deps, "program.use_case_activated", moved))
    return moved


def retire_use_case(me: Principal, use_case_id: str, *, deps: Deps) -> list[uc.UseCaseVersion]:
    require_operator(me)
    versions = _versions(use_case_id, deps)
    retired = uc.retire(versions, now=deps.clock.now())
    was = {v.version: v.state.value for v in versions}
    deps.program.move_use_case_versions([(v, was[v.version]) for v in retired], event=_use_case_event(
        me, deps, "program.use_case_retired", retired[-1]))
    return retired


# --- settings --------------------------------------------------------------------------------------

def get_rules(me: Principal, *, deps: Deps) -> rules.ProgramRules:
    require_operator(me)
    return settings(deps)


def set_rules(me: Principal, cmd: SetProgramRules, *, deps: Deps) -> rules.ProgramRules:
    """The Tier 1 terms date and the notice period (never under 30: `notice_too_short`), saved on
    the revision read; announcements from now on use them, earlier ones keep their dates."""
    require_operator(me)
    made = rules.rules(terms_from=cmd.terms_from, notice_days=cmd.notice_days)
    stored, revision = deps.program_notices.get_rules()
    if stored == made:  # already so (a retry): nothing to write or record
        return made
    before = (stored or rules.ProgramRules()).model_dump(mode="json")
    deps.program_notices.save_rules(made, revision=revision, event=_event(
        me, deps, "program.settings_changed", "program:settings",
        {"before": before, "after": made.model_dump(mode="json")}))
    return made


# --- requests --------------------------------------------------------------------------------------

def open_requests(me: Principal, *, deps: Deps, limit: int = 500) -> list[dict[str, Any]]:
    """Open withdrawal and removal requests of every agency, earliest due first, with days left."""
    require_operator(me)
    today, found = deps.clock.now().date(), []
    for request in deps.program.open_requests():
        found.append(request_view(request, today).model_dump(mode="json"))
        if len(found) >= limit:
            break
    return found


# --- helpers ---------------------------------------------------------------------------------------

def _agency(agency_id: str, deps: Deps) -> None:
    if not ids.is_id(agency_id) or deps.agencies.get_agency(agency_id) is None:
        raise NotFound(f"No agency {agency_id[:40]}.", code="agency_not_found")


def _versions(use_case_id: str, deps: Deps) -> list[uc.UseCaseVersion]:
    versions = deps.program.use_case_versions(use_case_id) if ids.is_id(use_case_id) else []
    if not versions:
        raise NotFound("No such use case.", code="use_case_not_found")
    return versions


def _content(cmd: UseCaseBody) -> dict[str, Any]:
    return cmd.model_dump() | {"tier": rules.Tier(cmd.tier)}


def _number(version: uc.UseCaseVersion | None) -> int | None:
    return version.version if version is not None else None


def _use_case_event(me: Principal, deps: Deps, action: str, version: uc.UseCaseVersion, **extra: Any) -> Any:
    details: dict[str, Any] = {"version": version.version, "state": version.state.value, "title": version.title,
                               **({"effective_on": version.effective_on.isoformat()} if version.effective_on else {}),
                               **extra}
    return _event(me, deps, action, f"use_case:{version.use_case_id}", details)


def _event(me: Principal, deps: Deps, action: str, target: str, details: dict[str, Any]) -> Any:
    return custody.event(OPERATOR_AGENCY, deps=deps, actor=me.actor, action=action, target=target, details=details)
