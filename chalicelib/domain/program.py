"""The improvement program: who takes part and at which tier, under which terms, and the requests
to leave it or take content out of it. Participation is never stored: `participation()` derives it
on every read from the agency's contracts, acceptances and withdrawals. Pure: time comes in as
`now`/`today` (UTC days). Use cases (the transparency registry) are in domain/program_use_cases.py."""
from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from enum import Enum

from pydantic import Field, field_validator

from .errors import Conflict, InvalidInput, NotFound
from .models import Record

DEFAULT_TERMS_FROM = date(2021, 4, 1)  # contracts executed on/after it carry the program terms
MIN_NOTICE_DAYS = 30  # a use case applies no earlier than this after it is announced
WITHDRAWAL_DAYS = 30  # out of the program within this many days of the request (or the contract's end)
REMOVAL_DAYS = 30  # content taken out within this many days of the request
DEFAULT_DELETION_DAYS = 30
PROGRAM_COUNTRY = "US"


class Tier(str, Enum):
    NONE = "none"
    TIER_1 = "tier_1"  # limited: aggregated, transformed or de-identified data only
    TIER_2 = "tier_2"  # broader, after additional terms; includes Tier 1

    def includes(self, other: Tier) -> bool:
        order = [Tier.NONE, Tier.TIER_1, Tier.TIER_2]
        return order.index(self) >= order.index(other)


class ParticipationState(str, Enum):
    NOT_PARTICIPATING = "not_participating"
    ACTIVE = "active"
    WITHDRAWING = "withdrawing"  # asked to leave (or the contract ended): nothing new is taken


class WithdrawalReason(str, Enum):
    REQUEST = "request"
    CONTRACT_END = "contract_end"


class ProgramRules(Record):
    """What the operator may configure. The notice period can never go below MIN_NOTICE_DAYS."""

    terms_from: date = DEFAULT_TERMS_FROM
    notice_days: int = MIN_NOTICE_DAYS

    @field_validator("notice_days")
    @classmethod
    def _notice_at_least_minimum(cls, days: int) -> int:
        if days < MIN_NOTICE_DAYS:
            raise ValueError(f"the notice period cannot be under {MIN_NOTICE_DAYS} days")
        return days


def rules(terms_from: date = DEFAULT_TERMS_FROM, notice_days: int = MIN_NOTICE_DAYS) -> ProgramRules:
    """Checked settings: a notice period under the minimum is bad input, not a silent correction."""
    if notice_days < MIN_NOTICE_DAYS:
        raise InvalidInput(f"The notice period cannot be under {MIN_NOTICE_DAYS} days.", code="notice_too_short")
    return ProgramRules(terms_from=terms_from, notice_days=notice_days)


class Contract(Record):
    """A customer agreement as executed. Its end is recorded once and never changed."""

    contract_id: str
    agency_id: str
    country: str
    executed_on: date
    includes_program_terms: bool
    ended_on: date | None = None
    recorded_at: datetime
    recorded_by: str


class TermsVersion(Record):
    """A published version of program terms: its document, the document's SHA-256, the tier it
    grants, and how many days after a withdrawal the program's copies are deleted."""

    version: str
    tier: Tier = Tier.TIER_2
    document: str
    sha256: str
    deletion_days: int = Field(default=DEFAULT_DELETION_DAYS, ge=1)
    published_at: datetime
    retired_at: datetime | None = None


def terms_hash(document: str) -> str:
    return hashlib.sha256(document.encode("utf-8")).hexdigest()


class Acceptance(Record):
    """An accepted terms version: by an agency admin (Tier 2), or an operator's explicit opt-in for an
    agency the contract rule leaves out (`tier` TIER_1)."""

    acceptance_id: str
    agency_id: str
    tier: Tier
    terms_version: str
    terms_sha256: str
    accepted_by: str
    accepted_at: datetime


class WithdrawalRequest(Record):
    request_id: str
    agency_id: str
    reason: WithdrawalReason
    requested_at: datetime
    requested_by: str
    due_on: date  # out of the program by this day
    deletion_due_on: date  # the program's copies deleted by this day (the terms' period)
    done_at: datetime | None = None


class RemovalRequest(Record):
    request_id: str
    agency_id: str
    submission_ids: list[str] = Field(default_factory=list)
    case_ref: str | None = None
    requested_at: datetime
    requested_by: str
    due_on: date
    done_at: datetime | None = None


def days_left(due_on: date, today: date) -> int:
    """Days until a due date (0 on the day, negative once overdue)."""
    return (due_on - today).days


class Participation(Record):
    agency_id: str
    tier: Tier = Tier.NONE
    state: ParticipationState = ParticipationState.NOT_PARTICIPATING
    since: date | None = None  # the current participation's first day
    tier_2_since: date | None = None
    basis: str | None = None  # "contract:<id>" or "opt_in:<acceptance id>"
    terms_version: str | None = None  # the accepted version behind Tier 2 (or the opt-in)
    withdrawal: WithdrawalRequest | None = None

    @property
    def takes_new_data(self) -> bool:
        return self.state is ParticipationState.ACTIVE


def contract_makes_participant(contract: Contract, settings: ProgramRules, today: date) -> bool:
    """A US agreement with the program terms, executed on/after the configured date, in force today."""
    return (contract.country.upper() == PROGRAM_COUNTRY and contract.includes_program_terms
            and settings.terms_from <= contract.executed_on <= today
            and (contract.ended_on is None or contract.ended_on > today))


def participation(agency_id: str, *, contracts: list[Contract], acceptances: list[Acceptance],
                  withdrawals: list[WithdrawalRequest], settings: ProgramRules, now: datetime) -> Participation:
    """The agency's participation now. A withdrawal closes a participation: only what was executed or
    accepted after it can start a new one (re-joining is a new participation)."""
    today = now.date()
    past = sorted((w for w in withdrawals if w.requested_at <= now), key=lambda w: w.requested_at)
    last = past[-1] if past else None
    current = _episode(agency_id, contracts, acceptances, settings, now, after=last.requested_at if last else None)
    if current.state is ParticipationState.ACTIVE or last is None:
        return current
    if today >= last.due_on:
        return Participation(agency_id=agency_id)
    before = _episode(agency_id, contracts, acceptances, settings, last.requested_at - timedelta(microseconds=1),
                      after=past[-2].requested_at if len(past) > 1 else None, ignore_ends=True)
    if before.state is not ParticipationState.ACTIVE:
        return current
    return before.model_copy(update={"state": ParticipationState.WITHDRAWING, "withdrawal": last})


def _episode(agency_id: str, contracts: list[Contract], acceptances: list[Acceptance], settings: ProgramRules,
             now: datetime, *, after: datetime | None, ignore_ends: bool = False) -> Participation:
    today = now.date()
    start_day = after.date() if after else None
    bases: list[tuple[date, str, str | None]] = []
    for c in contracts:
        in_force = c if not ignore_ends else c.model_copy(update={"ended_on": None})
        if contract_makes_participant(in_force, settings, today) and (start_day is None or c.executed_on > start_day):
            bases.append((c.executed_on, f"contract:{c.contract_id}", None))
    fresh = sorted((a for a in acceptances if a.accepted_at <= now and (after is None or a.accepted_at > after)),
                   key=lambda a: a.accepted_at)
    bases += [(a.accepted_at.date(), f"opt_in:{a.acceptance_id}", a.terms_version)
              for a in fresh if a.tier is Tier.TIER_1]
    if not bases:
        return Participation(agency_id=agency_id)
    since, basis, version = min(bases)
    tier_2 = [a for a in fresh if a.tier is Tier.TIER_2]
    if tier_2:
        return Participation(agency_id=agency_id, tier=Tier.TIER_2, state=ParticipationState.ACTIVE, since=since,
                             tier_2_since=tier_2[0].accepted_at.date(), basis=basis,
                             terms_version=tier_2[-1].terms_version)
    return Participation(agency_id=agency_id, tier=Tier.TIER_1, state=ParticipationState.ACTIVE, since=since,
                         basis=basis, terms_version=version)


def check_acceptance(terms: TermsVersion | None, sha256: str, tier: Tier) -> TermsVersion:
    """The terms version an acceptance may name: known, not retired, for that tier, and hashed as stated."""
    if terms is None:
        raise NotFound("No terms version has that id.", code="terms_unknown")
    if terms.retired_at is not None:
        raise Conflict("That terms version is retired and can no longer be accepted.", code="terms_retired")
    if terms.tier is not tier:
        raise InvalidInput(f"That terms version is for {terms.tier.value}, not {tier.value}.", code="terms_wrong_tier")
    if sha256.lower() != terms.sha256:
        raise InvalidInput("The SHA-256 does not match the terms document.", code="terms_hash_mismatch")
    return terms


def check_tier_2(current: Participation) -> None:
    """Tier 2 builds on a participation: contract or opt-in first, and not while leaving."""
    if current.state is ParticipationState.WITHDRAWING:
        raise Conflict("The agency is withdrawing from the program.", code="withdrawal_open")
    if current.state is not ParticipationState.ACTIVE:
        raise Conflict("The agency is not a program participant (Tier 1 comes from its contract or an opt-in).",
                       code="not_a_participant")
    if current.tier is Tier.TIER_2:
        raise Conflict("The agency already takes part in Tier 2.", code="already_tier_2")


def open_withdrawal(withdrawals: Sequence[WithdrawalRequest]) -> WithdrawalRequest | None:
    """The agency's withdrawal not yet enforced, if any: one made today, or dated ahead (a contract's
    end recorded before the day), counts until its deletion is done. One at a time per agency."""
    return next((w for w in withdrawals if w.done_at is None), None)


def withdrawal(current: Participation, *, request_id: str, reason: WithdrawalReason, at: datetime, by: str,
               terms: TermsVersion | None, withdrawals: Sequence[WithdrawalRequest] = ()) -> WithdrawalRequest:
    """A request to leave: out within WITHDRAWAL_DAYS; the program's copies deleted within the
    accepted terms' own period (never longer than that version states), 30 days without one.
    Refused while another is open, even one dated ahead that participation does not see yet."""
    if current.state is ParticipationState.WITHDRAWING or open_withdrawal(withdrawals) is not None:
        raise Conflict("A withdrawal is already open.", code="withdrawal_open")
    if current.state is not ParticipationState.ACTIVE:
        raise Conflict("The agency is not a program participant.", code="not_a_participant")
    deletion = terms.deletion_days if terms is not None else DEFAULT_DELETION_DAYS
    return WithdrawalRequest(request_id=request_id, agency_id=current.agency_id, reason=reason, requested_at=at,
                             requested_by=by, due_on=at.date() + timedelta(days=WITHDRAWAL_DAYS),
                             deletion_due_on=at.date() + timedelta(days=deletion))


def removal(agency_id: str, *, request_id: str, submission_ids: list[str], case_ref: str | None, at: datetime,
            by: str) -> RemovalRequest:
    if bool(submission_ids) == bool(case_ref):
        raise InvalidInput("Name either submission ids or one case.", code="removal_scope")
    return RemovalRequest(request_id=request_id, agency_id=agency_id, submission_ids=submission_ids,
                          case_ref=case_ref, requested_at=at, requested_by=by,
                          due_on=at.date() + timedelta(days=REMOVAL_DAYS))
