"""The improvement program for an agency over the in-memory repositories and a fixed clock: the view,
Tier 2 acceptance, withdrawal and removal, each change with its audit event."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from chalicelib.domain import program_use_cases as uc
from chalicelib.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from chalicelib.domain.models import Principal, Role
from chalicelib.domain.program import Contract, ProgramRules, TermsVersion, terms_hash
from chalicelib.services import agencies, custody
from chalicelib.services import program as service

NOW = datetime(2021, 9, 1, 12, tzinfo=timezone.utc)
DOC = "<script>alert(1)</script> Tier 2 terms"


@pytest.fixture
def admin(deps, agency) -> Principal:
    deps.clock.at = NOW
    key, _ = agencies.issue_key(agency.agency_id, Role.AGENCY_ADMIN, "Admin", deps=deps)
    return Principal(agency_id=agency.agency_id, role=key.role, key_id=key.key_id)


def sign_contract(deps, agency_id: str, executed: date = date(2021, 5, 1)) -> None:
    deps.program.add_contract(Contract(contract_id="c1", agency_id=agency_id, country="US", executed_on=executed,
                                       includes_program_terms=True, recorded_at=NOW, recorded_by="operator"),
                              event=custody.event(agency_id, deps=deps, actor="operator",
                                                  action="program.contract_recorded", target="contract:c1"))


def publish(deps) -> None:
    deps.program.publish_terms(TermsVersion(version="t2-v1", document=DOC, sha256=terms_hash(DOC), deletion_days=20,
                                            published_at=NOW), event=custody.event("operator", deps=deps, actor="op",
                                                                                   action="program.terms_published",
                                                                                   target="terms:t2-v1"))


def test_an_agency_without_a_contract_reads_that_it_takes_no_part(deps, officer):
    deps.clock.at = NOW
    body = service.view(officer, deps=deps)
    assert (body["tier"], body["state"], body["open_requests"]) == ("none", "not_participating", [])


def test_tier_2_is_accepted_by_an_admin_with_the_right_hash_and_recorded(deps, admin, officer):
    sign_contract(deps, admin.agency_id)
    publish(deps)
    with pytest.raises(Forbidden):
        service.accept_tier_2(officer, "t2-v1", terms_hash(DOC), deps=deps)
    with pytest.raises(InvalidInput):
        service.accept_tier_2(admin, "t2-v1", "0" * 64, deps=deps)
    with pytest.raises(NotFound):
        service.accept_tier_2(admin, "t2-v9", terms_hash(DOC), deps=deps)
    service.accept_tier_2(admin, "t2-v1", terms_hash(DOC), deps=deps)
    body = service.view(officer, deps=deps)
    assert (body["tier"], body["since"], body["tier_2_since"], body["terms_version"]) == (
        "tier_2", "2021-05-01", "2021-09-01", "t2-v1")
    assert list(deps.audit.entries(admin.agency_id))[-1].action == "program.tier2_accepted"


def test_a_withdrawal_stops_new_data_at_once_and_a_second_is_refused(deps, admin, officer):
    sign_contract(deps, admin.agency_id)
    publish(deps)
    service.accept_tier_2(admin, "t2-v1", terms_hash(DOC), deps=deps)
    made = service.withdraw(admin, deps=deps)
    assert (made.due_on, made.deletion_due_on) == (date(2021, 10, 1), date(2021, 9, 21))
    body = service.view(officer, deps=deps)
    assert (body["state"], body["takes_new_data"]) == ("withdrawing", False)
    assert body["open_requests"][0]["days_left"] == 30
    with pytest.raises(Conflict) as refused:
        service.withdraw(admin, deps=deps)
    assert refused.value.code == "withdrawal_open"


def test_two_admins_withdrawing_at_once_both_read_active_and_the_store_refuses_the_second(deps, admin,
                                                                                        monkeypatch):
    """The read-then-write race: the second caller's read is taken before the first one's write
    (stale), so only the store's one-open-withdrawal rule can refuse it."""
    sign_contract(deps, admin.agency_id)
    service.withdraw(admin, deps=deps)
    monkeypatch.setattr(deps.program, "withdrawals", lambda agency_id: [])  # what the second caller read
    assert service.participation(admin.agency_id, deps=deps).state.value == "active"
    with pytest.raises(Conflict) as refused:
        service.withdraw(admin, deps=deps)
    assert refused.value.code == "withdrawal_open"
    monkeypatch.undo()
    assert len(deps.program.withdrawals(admin.agency_id)) == 1
    assert [e.action for e in deps.audit.entries(admin.agency_id)].count("program.withdrawal_requested") == 1


def test_removal_takes_only_the_agencys_own_items(deps, admin):
    with pytest.raises(NotFound):
        service.request_removal(admin, ["someone-elses"], None, deps=deps)
    with pytest.raises(NotFound):
        service.request_removal(admin, [], "NO-SUCH-CASE", deps=deps)
    assert deps.program.removals(admin.agency_id) == []


def test_the_view_lists_use_cases_in_force_for_the_tier_and_those_announced(deps, admin, officer):
    sign_contract(deps, admin.agency_id)
    draft = uc.UseCaseVersion(use_case_id="u1", version=1, title="T", purpose="P", technique="de-identification",
                              retention="90 days", created_at=NOW, created_by="op")
    announced = uc.announce(draft, ProgramRules(), now=NOW)
    deps.program.add_use_case_version(announced, event=custody.event("operator", deps=deps, actor="op",
                                                                     action="program.use_case_announced", target="u1"))
    body = service.view(officer, deps=deps)
    assert body["use_cases_applying"] == [] and body["use_cases_announced"][0]["effective_on"] == "2021-10-01"
