"""The improvement program's rules, as tables: participation from contract date x terms x country x
Tier 2 acceptance x withdrawal x contract end, and the use-case lifecycle at every date boundary."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from chalicelib.domain import program_use_cases as uc
from chalicelib.domain.errors import Conflict, InvalidInput, NotFound
from chalicelib.domain.program import (
    Acceptance,
    Contract,
    ParticipationState,
    ProgramRules,
    TermsVersion,
    Tier,
    WithdrawalReason,
    check_acceptance,
    check_tier_2,
    participation,
    removal,
    rules,
    terms_hash,
    withdrawal,
)

UTC = timezone.utc
SETTINGS = ProgramRules()
NOW = datetime(2021, 9, 1, 12, tzinfo=UTC)


def at(day: str, hour: int = 12) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


def contract(executed: str, *, terms: bool = True, country: str = "US", ended: str | None = None) -> Contract:
    return Contract(contract_id=f"c-{executed}", agency_id="a1", country=country,
                    executed_on=date.fromisoformat(executed), includes_program_terms=terms,
                    ended_on=date.fromisoformat(ended) if ended else None,
                    recorded_at=at(executed), recorded_by="operator")


def accepted(day: str, tier: Tier = Tier.TIER_2, version: str = "t2-v1") -> Acceptance:
    return Acceptance(acceptance_id=f"acc-{day}-{tier.value}", agency_id="a1", tier=tier, terms_version=version,
                      terms_sha256="0" * 64, accepted_by="key:admin", accepted_at=at(day))


def left(day: str, reason: WithdrawalReason = WithdrawalReason.REQUEST):
    requested = at(day)
    return withdrawal(participation("a1", contracts=[contract("2021-05-01")], acceptances=[], withdrawals=[],
                                    settings=SETTINGS, now=requested),
                      request_id=f"w-{day}", reason=reason, at=requested, by="key:admin", terms=None)


@pytest.mark.parametrize(
    "executed, terms, country, tier2, withdrawn, ended, expected_tier, expected_state",
    [
        ("2021-04-01", True, "US", None, None, None, Tier.TIER_1, ParticipationState.ACTIVE),  # the first day
        ("2021-03-31", True, "US", None, None, None, Tier.NONE, ParticipationState.NOT_PARTICIPATING),  # before it
        ("2021-05-01", False, "US", None, None, None, Tier.NONE, ParticipationState.NOT_PARTICIPATING),  # no terms
        ("2021-05-01", True, "CA", None, None, None, Tier.NONE, ParticipationState.NOT_PARTICIPATING),  # not US
        ("2021-05-01", True, "us", None, None, None, Tier.TIER_1, ParticipationState.ACTIVE),
        ("2021-05-01", True, "US", "2021-06-01", None, None, Tier.TIER_2, ParticipationState.ACTIVE),
        ("2021-03-01", True, "US", "2021-06-01", None, None, Tier.NONE, ParticipationState.NOT_PARTICIPATING),
        ("2021-05-01", True, "US", None, "2021-08-20", None, Tier.TIER_1, ParticipationState.WITHDRAWING),
        ("2021-05-01", True, "US", "2021-06-01", "2021-08-20", None, Tier.TIER_2, ParticipationState.WITHDRAWING),
        ("2021-05-01", True, "US", None, "2021-08-01", None, Tier.NONE, ParticipationState.NOT_PARTICIPATING),
        ("2021-05-01", True, "US", None, None, "2021-08-25", Tier.NONE, ParticipationState.NOT_PARTICIPATING),
        ("2021-05-01", True, "US", None, "2021-08-25", "2021-08-25", Tier.TIER_1, ParticipationState.WITHDRAWING),
        ("2021-10-01", True, "US", None, None, None, Tier.NONE, ParticipationState.NOT_PARTICIPATING),  # not yet
    ],
)
def test_participation_follows_contract_terms_country_acceptance_withdrawal_and_end(
        executed, terms, country, tier2, withdrawn, ended, expected_tier, expected_state):
    found = participation("a1", contracts=[contract(executed, terms=terms, country=country, ended=ended)],
                          acceptances=[accepted(tier2)] if tier2 else [],
                          withdrawals=[left(withdrawn, WithdrawalReason.CONTRACT_END if ended else
                                            WithdrawalReason.REQUEST)] if withdrawn else [],
                          settings=SETTINGS, now=NOW)
    assert (found.tier, found.state) == (expected_tier, expected_state)
    assert found.takes_new_data is (expected_state is ParticipationState.ACTIVE)


def test_tier_1_runs_from_the_execution_day_and_tier_2_from_its_acceptance():
    found = participation("a1", contracts=[contract("2021-05-03")], acceptances=[accepted("2021-06-01")],
                          withdrawals=[], settings=SETTINGS, now=NOW)
    assert found.since == date(2021, 5, 3) and found.tier_2_since == date(2021, 6, 1)
    assert found.terms_version == "t2-v1" and Tier.TIER_2.includes(Tier.TIER_1)
    assert not Tier.TIER_1.includes(Tier.TIER_2)


def test_the_configured_date_moves_the_contract_rule():
    later = ProgramRules(terms_from=date(2021, 6, 1))
    assert participation("a1", contracts=[contract("2021-05-01")], acceptances=[], withdrawals=[],
                         settings=later, now=NOW).tier is Tier.NONE


def test_an_operator_opt_in_makes_an_agency_outside_the_rule_a_participant():
    found = participation("a1", contracts=[contract("2021-05-01", country="FR")],
                          acceptances=[accepted("2021-07-01", Tier.TIER_1, "t1-opt-in")], withdrawals=[],
                          settings=SETTINGS, now=NOW)
    assert (found.tier, found.since, found.basis) == (Tier.TIER_1, date(2021, 7, 1), "opt_in:acc-2021-07-01-tier_1")


def test_the_withdrawal_is_out_on_the_due_day_and_not_before():
    w = left("2021-08-01")
    assert w.due_on == date(2021, 8, 31)
    for day, state in [("2021-08-30", ParticipationState.WITHDRAWING),
                       ("2021-08-31", ParticipationState.NOT_PARTICIPATING)]:
        found = participation("a1", contracts=[contract("2021-05-01")], acceptances=[], withdrawals=[w],
                              settings=SETTINGS, now=at(day))
        assert found.state is state


def test_re_joining_after_a_withdrawal_is_a_new_participation():
    found = participation("a1", contracts=[contract("2021-05-01"), contract("2021-08-15")],
                          acceptances=[accepted("2021-06-01")], withdrawals=[left("2021-08-01")],
                          settings=SETTINGS, now=NOW)
    # the old Tier 2 acceptance belongs to the participation that ended
    assert (found.tier, found.state, found.since) == (Tier.TIER_1, ParticipationState.ACTIVE, date(2021, 8, 15))


def test_a_second_withdrawal_while_one_is_open_and_one_without_participation_are_refused():
    current = participation("a1", contracts=[contract("2021-05-01")], acceptances=[], withdrawals=[left("2021-08-20")],
                            settings=SETTINGS, now=NOW)
    with pytest.raises(Conflict) as open_:
        withdrawal(current, request_id="w2", reason=WithdrawalReason.REQUEST, at=NOW, by="k", terms=None)
    none = participation("a1", contracts=[], acceptances=[], withdrawals=[], settings=SETTINGS, now=NOW)
    with pytest.raises(Conflict) as outside:
        withdrawal(none, request_id="w3", reason=WithdrawalReason.REQUEST, at=NOW, by="k", terms=None)
    assert (open_.value.code, outside.value.code) == ("withdrawal_open", "not_a_participant")


def terms(version: str = "t2-v1", days: int = 30, retired: bool = False) -> TermsVersion:
    return TermsVersion(version=version, document="Tier 2 terms", sha256=terms_hash("Tier 2 terms"),
                        deletion_days=days, published_at=at("2021-04-01"),
                        retired_at=at("2021-05-01") if retired else None)


def test_deletion_follows_the_accepted_terms_own_period():
    current = participation("a1", contracts=[contract("2021-05-01")], acceptances=[accepted("2021-06-01")],
                            withdrawals=[], settings=SETTINGS, now=NOW)
    w = withdrawal(current, request_id="w", reason=WithdrawalReason.REQUEST, at=NOW, by="k", terms=terms(days=14))
    assert (w.due_on, w.deletion_due_on) == (date(2021, 10, 1), date(2021, 9, 15))
    assert TermsVersion.model_fields["deletion_days"].default == 30


@pytest.mark.parametrize("found, sha, code, error", [
    (None, terms_hash("Tier 2 terms"), "terms_unknown", NotFound),
    (terms(retired=True), terms_hash("Tier 2 terms"), "terms_retired", Conflict),
    (terms(), "f" * 64, "terms_hash_mismatch", InvalidInput),
])
def test_accepting_an_unknown_retired_or_mismatched_version_is_refused(found, sha, code, error):
    with pytest.raises(error) as refused:
        check_acceptance(found, sha, Tier.TIER_2)
    assert refused.value.code == code


def test_tier_2_needs_a_participation_first():
    outside = participation("a1", contracts=[], acceptances=[], withdrawals=[], settings=SETTINGS, now=NOW)
    with pytest.raises(Conflict) as refused:
        check_tier_2(outside)
    assert refused.value.code == "not_a_participant"
    assert check_acceptance(terms(), terms_hash("Tier 2 terms").upper(), Tier.TIER_2).version == "t2-v1"


def test_a_removal_is_due_within_30_days_and_names_items_or_a_case():
    made = removal("a1", request_id="r", submission_ids=["s1"], case_ref=None, at=NOW, by="k")
    assert made.due_on == date(2021, 10, 1)
    with pytest.raises(InvalidInput):
        removal("a1", request_id="r", submission_ids=["s1"], case_ref="C-1", at=NOW, by="k")


def test_the_notice_period_can_never_be_under_30_days():
    with pytest.raises(InvalidInput):
        rules(notice_days=29)
    with pytest.raises(ValidationError):
        ProgramRules(notice_days=10)
    assert rules(notice_days=45).notice_days == 45


# --- use cases ---------------------------------------------------------------------------------------

ANNOUNCE = at("2021-05-01", 9)
CONTENT = uc.UseCaseContent(title="Redaction model", purpose="Improve automatic redaction", data_types=["video"],
                            technique="de-identification", retention="90 days", practices="encrypted at rest")


def first_version() -> uc.UseCaseVersion:
    return uc.UseCaseVersion(**CONTENT.model_dump(), use_case_id="u1", version=1, created_at=ANNOUNCE, created_by="op")


def live() -> list[uc.UseCaseVersion]:
    announced = uc.announce(first_version(), SETTINGS, now=ANNOUNCE)
    return [uc.activate(announced, now=ANNOUNCE + timedelta(days=30))]


@pytest.mark.parametrize("days_after, allowed", [(0, False), (29, False), (30, True), (31, True)])
def test_a_use_case_is_activated_no_earlier_than_30_days_after_its_announcement(days_after, allowed):
    announced = uc.announce(first_version(), SETTINGS, now=ANNOUNCE)
    assert announced.effective_on == date(2021, 5, 31)
    when = datetime.combine(ANNOUNCE.date() + timedelta(days=days_after), datetime.min.time(), UTC)
    if allowed:
        assert uc.activate(announced, now=when).state is uc.UseCaseState.ACTIVE
    else:
        with pytest.raises(Conflict) as refused:
            uc.activate(announced, now=when.replace(hour=23, minute=59))
        assert refused.value.code == "notice_period_running"


def test_a_longer_configured_notice_moves_the_effective_date():
    assert uc.announce(first_version(), ProgramRules(notice_days=45), now=ANNOUNCE).effective_on == date(2021, 6, 15)


@pytest.mark.parametrize("change", [{"data_types": ["video", "audio"]}, {"purpose": "Another"},
                                    {"technique": "none"}, {"tier": Tier.TIER_2}, {"retention": "1 year"}])
def test_a_material_edit_waits_for_its_own_notice_while_the_previous_version_applies(change):
    versions = live()
    edited = uc.edit(versions, CONTENT.model_copy(update=change), now=at("2021-07-01"), by="op")
    assert (edited.version, edited.state) == (2, uc.UseCaseState.DRAFT)
    announced = uc.announce(edited, SETTINGS, now=at("2021-07-01"))
    versions = [*versions, announced]
    assert uc.applying(versions).version == 1 and uc.upcoming(versions).effective_on == date(2021, 7, 31)
    with pytest.raises(Conflict):
        uc.activate(announced, now=at("2021-07-30", 23))
    versions[-1] = uc.activate(announced, now=at("2021-07-31", 0))
    assert uc.applying(versions).version == 2 and uc.upcoming(versions) is None


def test_an_edit_of_title_or_practices_applies_with_the_version_it_edits():
    versions = live()
    edited = uc.edit(versions, CONTENT.model_copy(update={"title": "Better name", "practices": "audited"}),
                     now=at("2021-07-01"), by="op")
    assert (edited.version, edited.state, edited.effective_on) == (2, uc.UseCaseState.ACTIVE, date(2021, 5, 31))


def test_lifecycle_refusals_and_retirement():
    with pytest.raises(Conflict):
        uc.activate(first_version(), now=NOW)  # a draft
    versions = live()
    with pytest.raises(Conflict):
        uc.announce(versions[0], SETTINGS, now=NOW)  # already active
    retired = uc.retire(versions, now=NOW)
    assert uc.applying(retired) is None and retired[0].retired_at == NOW
    with pytest.raises(Conflict):
        uc.edit(retired, CONTENT, now=NOW, by="op")
    with pytest.raises(Conflict):
        uc.retire(retired, now=NOW)
    assert uc.public_versions([first_version()]) == []
