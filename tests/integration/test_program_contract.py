"""The improvement program's repository: one contract, in memory and on DynamoDB (moto server, tables
from infra/template.yaml). Records are append-only, each write commits its audit event with it."""
from __future__ import annotations

import os
import threading
from datetime import date, timedelta

import boto3
import pytest

from chalicelib.adapters.dynamo_audit import DynamoAuditLog
from chalicelib.adapters.dynamo_program import DynamoProgram
from chalicelib.adapters.memory_program import MemoryProgram
from chalicelib.domain import audit
from chalicelib.domain import program_use_cases as uc
from chalicelib.domain.errors import Conflict
from chalicelib.domain.program import (
    Acceptance,
    Contract,
    ProgramRules,
    RemovalRequest,
    TermsVersion,
    Tier,
    WithdrawalReason,
    WithdrawalRequest,
    terms_hash,
)
from tests.fakes import START, MemoryAuditLog
from tests.integration.test_repository_contract import new_id

pytestmark = pytest.mark.integration


@pytest.fixture(params=["memory", "dynamodb"])
def world(request):
    """(program repository, audit log) of one implementation."""
    if request.param == "memory":
        log = MemoryAuditLog(chain_on_record=False)
        yield MemoryProgram(log), log
        return
    stack = request.getfixturevalue("stack")  # sets the endpoint, region and table names
    db, table, inbox = boto3.client("dynamodb"), os.environ["TABLE_NAME"], os.environ["AUDIT_INBOX_TABLE_NAME"]
    log = DynamoAuditLog(db, os.environ["AUDIT_TABLE_NAME"], inbox, table)
    with stack.local.paused():  # its pump would chain the events first
        yield DynamoProgram(db, table, inbox), log


def event(agency_id: str, action: str):
    return audit.new_event(agency_id, at=START, actor="operator:o", action=action, target="program")


def a_contract(agency_id: str) -> Contract:
    return Contract(contract_id=new_id(), agency_id=agency_id, country="US", executed_on=date(2021, 5, 1),
                    includes_program_terms=True, recorded_at=START, recorded_by="operator:o")


def a_withdrawal(agency_id: str, due_days: int = 30, reason=WithdrawalReason.REQUEST) -> WithdrawalRequest:
    return WithdrawalRequest(request_id=new_id(), agency_id=agency_id, reason=reason, requested_at=START,
                             requested_by="key:a", due_on=START.date() + timedelta(days=due_days),
                             deletion_due_on=START.date() + timedelta(days=due_days))


def test_a_contract_is_recorded_once_and_its_end_once_with_the_withdrawal_it_causes(world):
    repo, log = world
    agency = new_id()
    made = a_contract(agency)
    repo.add_contract(made, event=event(agency, "program.contract_recorded"))
    with pytest.raises(Conflict):
        repo.add_contract(made, event=event(agency, "program.contract_recorded"))
    ended = made.model_copy(update={"ended_on": date(2021, 9, 1)})
    leaving = a_withdrawal(agency, reason=WithdrawalReason.CONTRACT_END)
    repo.end_contract(ended, leaving, event=event(agency, "program.contract_ended"))
    with pytest.raises(Conflict) as refused:
        repo.end_contract(ended, a_withdrawal(agency), event=event(agency, "program.contract_ended"))
    assert refused.value.code == "contract_ended"
    assert repo.contracts(agency) == [ended]
    assert repo.withdrawals(agency) == [leaving]
    assert log.waiting(agency) == 2  # the refused writes recorded nothing


def test_terms_are_published_once_retired_once_and_read_back(world):
    repo, log = world
    version = f"t2-{new_id()}"
    terms = TermsVersion(version=version, document="<b>terms</b>", sha256=terms_hash("<b>terms</b>"),
                         deletion_days=14, published_at=START)
    repo.publish_terms(terms, event=event("operator", "program.terms_published"))
    with pytest.raises(Conflict):
        repo.publish_terms(terms, event=event("operator", "program.terms_published"))
    repo.retire_terms(version, START + timedelta(days=1), event=event("operator", "program.terms_retired"))
    with pytest.raises(Conflict):
        repo.retire_terms(version, START + timedelta(days=2), event=event("operator", "program.terms_retired"))
    assert repo.get_terms(version) == terms.model_copy(update={"retired_at": START + timedelta(days=1)})
    assert repo.get_terms("nope") is None and version in [t.version for t in repo.list_terms()]


def test_acceptances_and_requests_belong_to_their_agency(world):
    repo, _ = world
    mine, other = new_id(), new_id()
    accepted = Acceptance(acceptance_id=new_id(), agency_id=mine, tier=Tier.TIER_2, terms_version="t2",
                          terms_sha256="a" * 64, accepted_by="key:a", accepted_at=START)
    repo.add_acceptance(accepted, event=event(mine, "program.tier2_accepted"))
    removal = RemovalRequest(request_id=new_id(), agency_id=mine, submission_ids=["s1"], requested_at=START,
                             requested_by="key:a", due_on=date(2020, 5, 1))
    repo.add_removal(removal, event=event(mine, "program.removal_requested"))
    assert repo.acceptances(mine) == [accepted] and repo.acceptances(other) == []
    assert repo.removals(mine) == [removal] and repo.removals(other) == []


def test_open_requests_come_earliest_due_first(world):
    repo, _ = world
    agencies = {new_id(), new_id()}  # one open withdrawal per agency
    late, early = a_withdrawal(agencies.pop(), due_days=400), a_withdrawal(agencies.pop(), due_days=-400)
    repo.add_withdrawal(late, event=event(late.agency_id, "program.withdrawal_requested"))
    repo.add_withdrawal(early, event=event(early.agency_id, "program.withdrawal_requested"))
    ours = [r.request_id for r in repo.open_requests() if r.request_id in {late.request_id, early.request_id}]
    assert ours == [early.request_id, late.request_id]


def test_an_agency_has_one_open_withdrawal_however_it_is_made(world):
    repo, log = world
    agency, other = new_id(), new_id()
    first = a_withdrawal(agency)
    repo.add_withdrawal(first, event=event(agency, "program.withdrawal_requested"))
    with pytest.raises(Conflict) as refused:
        repo.add_withdrawal(a_withdrawal(agency), event=event(agency, "program.withdrawal_requested"))
    assert refused.value.code == "withdrawal_open"
    with pytest.raises(Conflict) as again:  # the same request again is a duplicate, not a second one
        repo.add_withdrawal(first, event=event(agency, "program.withdrawal_requested"))
    assert again.value.code == "conflict"
    contract = a_contract(agency)
    repo.add_contract(contract, event=event(agency, "program.contract_recorded"))
    with pytest.raises(Conflict) as ending:  # the end's withdrawal, dated ahead or not, is a second one
        repo.end_contract(contract.model_copy(update={"ended_on": date(2021, 9, 1)}),
                          a_withdrawal(agency, reason=WithdrawalReason.CONTRACT_END),
                          event=event(agency, "program.contract_ended"))
    assert ending.value.code == "withdrawal_open" and repo.contracts(agency) == [contract]
    repo.add_withdrawal(a_withdrawal(other), event=event(other, "program.withdrawal_requested"))  # its own
    assert repo.withdrawals(agency) == [first] and log.waiting(agency) == 2


def test_two_withdrawals_racing_for_one_agency_exactly_one_is_written(world):
    repo, log = world
    agency, start = new_id(), threading.Barrier(8)
    outcomes: list[str] = []

    def withdraw() -> None:
        start.wait()
        try:
            repo.add_withdrawal(a_withdrawal(agency), event=event(agency, "program.withdrawal_requested"))
            outcomes.append("written")
        except Conflict as refused:
            outcomes.append(refused.code)

    threads = [threading.Thread(target=withdraw) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["withdrawal_open"] * 7 + ["written"]
    assert len(repo.withdrawals(agency)) == 1 and log.waiting(agency) == 1


def test_a_use_case_version_moves_only_from_the_state_it_was_read_in(world):
    repo, log = world
    use_case = new_id()
    draft = uc.UseCaseVersion(use_case_id=use_case, version=1, title="T", purpose="P", data_types=["video"],
                              technique="de-identification", retention="90 days", created_at=START, created_by="o")
    repo.add_use_case_version(draft, event=event("operator", "program.use_case_created"))
    announced = uc.announce(draft, ProgramRules(), now=START)
    repo.move_use_case_versions([(announced, "draft")], event=event("operator", "program.use_case_announced"))
    with pytest.raises(Conflict):
        repo.move_use_case_versions([(announced, "draft")], event=event("operator", "program.use_case_announced"))
    second = uc.edit([announced], draft.model_copy(update={"purpose": "Q"}), now=START, by="o")
    repo.add_use_case_version(second, event=event("operator", "program.use_case_edited"))
    with pytest.raises(Conflict):
        repo.add_use_case_version(second, event=event("operator", "program.use_case_edited"))
    assert repo.use_case_versions(use_case) == [announced, second]
    assert [v.version for v in repo.all_use_case_versions() if v.use_case_id == use_case] == [1, 2]
