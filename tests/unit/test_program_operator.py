"""The operator's side of the improvement program over the in-memory repositories and a fixed clock:
contracts and their ends (the withdrawal written with the end), terms versions hashed server-side
and retired, the use-case lifecycle (activation refused on day 29, done on day 30), requests by
due date; each change with its audit event; agency keys refused."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from chalicelib.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from chalicelib.domain.models import OPERATOR_AGENCY, Principal, Role
from chalicelib.domain.program import terms_hash
from chalicelib.domain.program_commands import EndContract, PublishTerms, RecordContract, UseCaseBody
from chalicelib.services import agencies
from chalicelib.services import program as agency_side
from chalicelib.services import program_operator as service

NOW = datetime(2021, 9, 1, 12, tzinfo=timezone.utc)
OP = Principal(agency_id=OPERATOR_AGENCY, role=Role.OPERATOR, key_id="op1")
DOC = "<h1>Terms</h1> & more"
USE_CASE = {"title": "Better <b>redaction</b>", "purpose": "Train face blurring", "data_types": ["video"],
            "technique": "de-identification", "retention": "90 days", "practices": "access logged"}


@pytest.fixture
def admin(deps, agency) -> Principal:
    deps.clock.at = NOW
    key, _ = agencies.issue_key(agency.agency_id, Role.AGENCY_ADMIN, "Admin", deps=deps)
    return Principal(agency_id=agency.agency_id, role=key.role, key_id=key.key_id)


def contract(deps, agency_id, executed="2021-05-01", **extra):
    return service.record_contract(OP, agency_id, RecordContract.model_validate(
        {"country": "US", "executed_on": executed, "includes_program_terms": True, **extra}), deps=deps)


def actions(deps, agency_id):
    return [e.action for e in deps.audit.entries(agency_id)]


def test_agency_keys_cannot_use_the_operator_side(deps, admin):
    with pytest.raises(Forbidden):
        service.record_contract(
            admin, admin.agency_id, RecordContract(country="US", executed_on=date(2021, 5, 1),
                                                   includes_program_terms=True), deps=deps)
    with pytest.raises(Forbidden):
        service.open_requests(admin, deps=deps)


def test_a_contract_makes_a_participant_and_its_end_writes_the_withdrawal_with_it(deps, admin):
    with pytest.raises(NotFound):
        contract(deps, "0" * 26)
    made = contract(deps, admin.agency_id, contract_id="MSA-7")
    assert agency_side.participation(admin.agency_id, deps=deps).tier.value == "tier_1"
    with pytest.raises(Conflict):
        contract(deps, admin.agency_id, contract_id="MSA-7")
    with pytest.raises(InvalidInput):
        service.end_contract(OP, admin.agency_id, "MSA-7", EndContract(ended_on=date(2021, 1, 1)), deps=deps)
    with pytest.raises(NotFound):
        service.end_contract(OP, admin.agency_id, "nope", EndContract(ended_on=date(2021, 9, 1)), deps=deps)
    ended, withdrawal = service.end_contract(OP, admin.agency_id, made.contract_id,
                                             EndContract(ended_on=date(2021, 8, 20)), deps=deps)
    assert ended.ended_on == date(2021, 8, 20) and withdrawal is not None
    assert (withdrawal.reason.value, withdrawal.requested_at, withdrawal.due_on) == (
        "contract_end", NOW, date(2021, 10, 1))  # a past end: out 30 days after it was recorded
    current = agency_side.participation(admin.agency_id, deps=deps)
    assert (current.state.value, current.takes_new_data) == ("withdrawing", False)
    with pytest.raises(Conflict):
        service.end_contract(OP, admin.agency_id, "MSA-7", EndContract(ended_on=date(2021, 9, 1)), deps=deps)
    assert actions(deps, admin.agency_id)[-2:] == ["program.contract_recorded", "program.contract_ended"]
    deps.clock.at = datetime(2021, 10, 1, tzinfo=timezone.utc)
    assert agency_side.participation(admin.agency_id, deps=deps).state.value == "not_participating"


def test_a_future_end_withdraws_from_the_end_day(deps, admin):
    made = contract(deps, admin.agency_id)
    _, withdrawal = service.end_contract(OP, admin.agency_id, made.contract_id,
                                         EndContract(ended_on=date(2021, 12, 31)), deps=deps)
    assert withdrawal is not None and withdrawal.due_on == date(2022, 1, 30)
    assert agency_side.participation(admin.agency_id, deps=deps).takes_new_data  # until the end day


def test_an_end_recorded_ahead_is_the_one_open_withdrawal_until_it_is_done(deps, admin):
    """The end 10 days ahead writes a withdrawal dated then; the admin withdrawing today is refused
    (one open at a time), so on day 11 the agency is leaving, not out of the program."""
    made = contract(deps, admin.agency_id)
    service.end_contract(OP, admin.agency_id, made.contract_id, EndContract(ended_on=date(2021, 9, 11)), deps=deps)
    assert agency_side.participation(admin.agency_id, deps=deps).takes_new_data  # until the end day
    with pytest.raises(Conflict) as refused:
        agency_side.withdraw(admin, deps=deps)
    assert refused.value.code == "withdrawal_open"
    assert [r["reason"] for r in service.open_requests(OP, deps=deps)] == ["contract_end"]
    deps.clock.at = NOW + timedelta(days=11)
    assert agency_side.participation(admin.agency_id, deps=deps).state.value == "withdrawing"
    assert actions(deps, admin.agency_id)[-1] == "program.contract_ended"  # the refusal recorded nothing


def test_an_end_while_a_withdrawal_is_open_is_recorded_alone(deps, admin):
    first, second = contract(deps, admin.agency_id, contract_id="MSA-1"), contract(deps, admin.agency_id,
                                                                                  contract_id="MSA-2")
    _, leaving = service.end_contract(OP, admin.agency_id, first.contract_id, EndContract(ended_on=date(2021, 9, 11)),
                                      deps=deps)
    ended, none = service.end_contract(OP, admin.agency_id, second.contract_id,
                                       EndContract(ended_on=date(2021, 9, 20)), deps=deps)
    assert leaving is not None and none is None and ended.ended_on == date(2021, 9, 20)
    assert [w.request_id for w in deps.program.withdrawals(admin.agency_id)] == [leaving.request_id]


def test_an_end_without_participation_writes_no_withdrawal(deps, admin):
    made = contract(deps, admin.agency_id, country="DE")
    assert service.end_contract(OP, admin.agency_id, made.contract_id, EndContract(ended_on=date(2021, 9, 1)),
                                deps=deps)[1] is None


def test_terms_are_hashed_here_accepted_by_that_hash_and_retired_once(deps, admin):
    contract(deps, admin.agency_id)
    terms = service.publish_terms(OP, PublishTerms(version="t2-v1", document=DOC, deletion_days=20), deps=deps)
    assert terms.sha256 == terms_hash(DOC) and terms.document == DOC  # HTML stored as text
    with pytest.raises(Conflict):
        service.publish_terms(OP, PublishTerms(version="t2-v1", document="other"), deps=deps)
    service.publish_terms(OP, PublishTerms(version="t2-v2", document=DOC), deps=deps)
    assert service.retire_terms(OP, "t2-v2", deps=deps).retired_at == NOW
    with pytest.raises(Conflict):
        service.retire_terms(OP, "t2-v2", deps=deps)
    with pytest.raises(NotFound):
        service.retire_terms(OP, "t2-v9", deps=deps)
    looked_up = []
    deps.program.get_terms = lambda version: looked_up.append(version)  # type: ignore[method-assign]
    for junk in ("v" * 2000, "../t2-v1", ""):  # a long one reached DynamoDB's key limit: a 500
        with pytest.raises(NotFound):
            service.retire_terms(OP, junk, deps=deps)
    assert looked_up == []
    del deps.program.get_terms
    with pytest.raises(Conflict) as refused:
        agency_side.accept_tier_2(admin, "t2-v2", terms_hash(DOC), deps=deps)
    assert refused.value.code == "terms_retired"
    agency_side.accept_tier_2(admin, "t2-v1", terms_hash(DOC), deps=deps)
    assert actions(deps, OPERATOR_AGENCY) == ["program.terms_published", "program.terms_published",
                                              "program.terms_retired"]


def test_a_use_case_applies_only_from_day_30_after_its_announcement(deps, admin, officer):
    contract(deps, admin.agency_id)
    made = service.create_use_case(OP, UseCaseBody.model_validate(USE_CASE), deps=deps)
    assert (made.version, made.state.value, made.title) == (1, "draft", "Better <b>redaction</b>")
    with pytest.raises(Conflict):
        service.activate_use_case(OP, made.use_case_id, deps=deps)
    assert agency_side.view(officer, deps=deps)["use_cases_announced"] == []  # drafts are the operator's
    announced = service.announce_use_case(OP, made.use_case_id, deps=deps)
    assert announced.effective_on == date(2021, 10, 1)
    with pytest.raises(Conflict):
        service.announce_use_case(OP, made.use_case_id, deps=deps)
    deps.clock.at = NOW + timedelta(days=29)
    with pytest.raises(Conflict) as early:
        service.activate_use_case(OP, made.use_case_id, deps=deps)
    assert early.value.code == "notice_period_running"
    deps.clock.at = NOW + timedelta(days=30)
    assert service.activate_use_case(OP, made.use_case_id, deps=deps).state.value == "active"
    body = agency_side.view(officer, deps=deps)
    assert [v["version"] for v in body["use_cases_applying"]] == [1]

    edited = service.edit_use_case(OP, made.use_case_id, UseCaseBody.model_validate(
        {**USE_CASE, "data_types": ["video", "audio"]}), deps=deps)
    assert (edited.version, edited.state.value) == (2, "draft")  # material: announce again, wait again
    service.announce_use_case(OP, made.use_case_id, deps=deps)
    listed, = service.list_use_cases(OP, deps=deps)
    assert (listed["applying"], listed["upcoming"]) == (1, 2)
    retitled = service.edit_use_case(OP, made.use_case_id, UseCaseBody.model_validate(
        {**USE_CASE, "data_types": ["video", "audio"], "title": "Redaction"}), deps=deps)
    assert (retitled.version, retitled.state.value) == (3, "announced")  # not material: keeps its place

    retired = service.retire_use_case(OP, made.use_case_id, deps=deps)
    assert {v.state.value for v in retired} == {"retired"} and len(retired) == 3
    with pytest.raises(Conflict):
        service.edit_use_case(OP, made.use_case_id, UseCaseBody.model_validate(USE_CASE), deps=deps)
    assert agency_side.view(officer, deps=deps)["use_cases_applying"] == []
    with pytest.raises(NotFound):
        service.announce_use_case(OP, "not-an-id", deps=deps)
    assert actions(deps, OPERATOR_AGENCY) == [
        "program.use_case_created", "program.use_case_announced", "program.use_case_activated",
        "program.use_case_edited", "program.use_case_announced", "program.use_case_edited",
        "program.use_case_retired"]


def test_open_requests_are_listed_by_due_date_with_days_left(deps, admin):
    contract(deps, admin.agency_id)
    other = agencies.create_agency("Shelbyville PD", "US", deps=deps)
    late = contract(deps, other.agency_id)
    agency_side.withdraw(admin, deps=deps)
    deps.clock.at = NOW - timedelta(days=5)
    service.end_contract(OP, other.agency_id, late.contract_id, EndContract(ended_on=date(2021, 8, 27)), deps=deps)
    deps.clock.at = NOW
    listed = service.open_requests(OP, deps=deps)
    assert [(r["agency_id"], r["due_on"], r["days_left"]) for r in listed] == [
        (other.agency_id, "2021-09-26", 25), (admin.agency_id, "2021-10-01", 30)]
