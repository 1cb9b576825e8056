"""One contract, two implementations: each repository behaves the same in memory (the fakes the
unit tests trust) and on DynamoDB (moto server over HTTP, tables from infra/template.yaml)."""
from __future__ import annotations

import os
import threading
from datetime import timedelta

import boto3
import pytest

from chalicelib.adapters.dynamo_access_requests import DynamoAccessRequests
from chalicelib.adapters.dynamo_agencies import DynamoAgencies
from chalicelib.adapters.dynamo_audit import DynamoAuditLog
from chalicelib.adapters.dynamo_holds import DynamoHolds
from chalicelib.adapters.dynamo_links import DynamoLinks
from chalicelib.adapters.dynamo_submissions import DynamoSubmissions
from chalicelib.domain import audit, ids, links
from chalicelib.domain.access_requests import AccessRequest, RequestStatus, fingerprint
from chalicelib.domain.errors import Conflict, InvalidInput
from chalicelib.domain.models import (
    Agency,
    ApiKey,
    CitizenLink,
    Delivery,
    EvidenceFile,
    FileStatus,
    Hold,
    Origin,
    Review,
    ReviewState,
    Role,
    Submission,
    SubmissionStatus,
    Tombstone,
)
from tests.fakes import (
    START,
    MemoryAccessRequests,
    MemoryAgencies,
    MemoryAuditLog,
    MemoryHolds,
    MemoryLinks,
    MemorySubmissions,
)

pytestmark = pytest.mark.integration


def implementations(name, in_memory, on_dynamodb, table_var="TABLE_NAME"):
    """A fixture that gives each test both implementations of one port."""
    @pytest.fixture(name=name, params=["memory", "dynamodb"])
    def fixture(request):
        if request.param == "memory":
            return in_memory()
        request.getfixturevalue("stack")
        return on_dynamodb(boto3.client("dynamodb"), os.environ[table_var], os.environ["AUDIT_INBOX_TABLE_NAME"])
    return fixture


agencies_repo = implementations("agencies_repo", MemoryAgencies, DynamoAgencies)
links_repo = implementations("links_repo", MemoryLinks, DynamoLinks)
submissions_repo = implementations("submissions_repo", MemorySubmissions, DynamoSubmissions)
holds_repo = implementations("holds_repo", MemoryHolds, DynamoHolds)
requests_repo = implementations("requests_repo", MemoryAccessRequests, DynamoAccessRequests)


def test_case_holds_are_placed_found_and_released(holds_repo):
    agency_id = new_id()
    hold = Hold(agency_id=agency_id, case_ref="C-9", reason="litigation", placed_by="key:k", placed_at=START)
    holds_repo.place_hold(hold)
    assert holds_repo.case_hold(agency_id, "C-9") == hold
    assert holds_repo.case_hold(new_id(), "C-9") is None
    assert holds_repo.release_hold(agency_id, "C-9") is True
    assert holds_repo.release_hold(agency_id, "C-9") is False
    assert holds_repo.case_hold(agency_id, "C-9") is None


def new_id(offset_minutes: int = 0) -> str:
    return ids.new_id(START + timedelta(minutes=offset_minutes))


def a_link(agency_id: str) -> CitizenLink:
    return CitizenLink(link_id=new_id(), agency_id=agency_id, case_ref="C-1", language="en", created_by="key:k",
                       created_at=START, expires_at=START + timedelta(days=3), max_files=50)


def a_submission(agency_id: str, case_ref: str = "C-1", minutes: int = 0) -> Submission:
    sid = new_id(minutes)
    return Submission(submission_id=sid, agency_id=agency_id, link_id=sid, case_ref=case_ref, created_at=START)


def a_file(submission: Submission) -> EvidenceFile:
    fid = new_id()
    return EvidenceFile(file_id=fid, name="a.jpg", size=10, content_type="image/jpeg", declared_at=START,
                        key=links.object_key(submission.agency_id, submission.case_ref, submission.submission_id, fid))


def test_agencies_and_keys_round_trip_and_are_created_once(agencies_repo):
    agency = Agency(agency_id=new_id(), name="PD", created_at=START)
    agencies_repo.create_agency(agency)
    with pytest.raises(Conflict):
        agencies_repo.create_agency(agency)
    assert agencies_repo.get_agency(agency.agency_id) == agency
    agencies_repo.save_agency(agency.model_copy(update={"link_ttl_hours": 5}))
    assert agencies_repo.get_agency(agency.agency_id).link_ttl_hours == 5
    with pytest.raises(Conflict):
        agencies_repo.save_agency(agency.model_copy(update={"agency_id": new_id()}))
    key = ApiKey(key_id=new_id(), key_hash=ids.digest(new_id()), agency_id=agency.agency_id, role=Role.OFFICER,
                 label="x", created_at=START)
    agencies_repo.create_key(key)
    assert agencies_repo.key_by_hash(key.key_hash) == key
    assert agencies_repo.key_by_hash(ids.digest("nope")) is None


def test_links_are_found_by_token_hash_and_scoped_to_their_agency(links_repo):
    link = a_link(new_id())
    token_hash = ids.digest(ids.new_token())
    links_repo.create_link(link, token_hash)
    assert links_repo.link_by_token_hash(token_hash) == link
    assert links_repo.get_link(link.agency_id, link.link_id) == link
    assert links_repo.get_link(new_id(), link.link_id) is None
    assert links_repo.link_by_token_hash(ids.digest("other")) is None
    with pytest.raises(Conflict):
        links_repo.create_link(link.model_copy(update={"link_id": new_id()}), token_hash)
    link.deliveries = [Delivery(channel="sms", status="sent", detail="m-1")]
    links_repo.save_deliveries(link)
    assert links_repo.get_link(link.agency_id, link.link_id).deliveries == link.deliveries


def test_a_submission_opens_once_and_takes_files_only_at_the_version_it_was_read(submissions_repo):
    submission = a_submission(new_id())
    submissions_repo.open_submission(submission)
    with pytest.raises(Conflict):
        submissions_repo.open_submission(submission)
    first = a_file(submission)
    submissions_repo.add_files(submission, [first])
    with pytest.raises(Conflict):  # stale: version 0 was read, the stored one is 1
        submissions_repo.add_files(submission, [a_file(submission)])
    current = submissions_repo.get_submission(submission.agency_id, submission.submission_id)
    assert list(current.files) == [first.file_id] and current.version == 1
    submissions_repo.add_files(current, [a_file(current), a_file(current)])
    assert len(submissions_repo.get_submission(submission.agency_id, submission.submission_id).files) == 3


def submit(repo, submission, **changes):
    done = submission.model_copy(update={"status": SubmissionStatus.SUBMITTED, "submitted_at": START, **changes})
    return repo.save(done, {"status", "submitted_at", *changes})


def test_saving_writes_only_the_named_fields_at_the_version_read(submissions_repo):
    submission = a_submission(new_id())
    submissions_repo.open_submission(submission)
    saved = submit(submissions_repo, submission.model_copy(update={"case_ref": "IGNORED"}))
    assert saved.version == 1
    with pytest.raises(Conflict):  # the version read is stale now
        submit(submissions_repo, submission)
    stored = submissions_repo.get_submission(submission.agency_id, submission.submission_id)
    assert stored.status is SubmissionStatus.SUBMITTED and stored.submitted_at == START
    assert stored.case_ref == "C-1" and stored.version == 1
    with pytest.raises(Conflict):
        submissions_repo.add_files(stored, [a_file(stored)])


def test_the_review_and_due_indexes_follow_the_submission_state(submissions_repo):
    agency_id = new_id()
    waiting, kept, held = (a_submission(agency_id, minutes=i) for i in range(3))
    due = START + timedelta(days=30, hours=5)
    for submission in (waiting, kept, held):
        submissions_repo.open_submission(submission)
    submit(submissions_repo, waiting, retain_until=due, sweep_day=due.date())
    saved = submit(submissions_repo, kept, review=Review(state=ReviewState.ACCEPTED, by="k", at=START))
    submit(submissions_repo, held, retain_until=due, legal_hold=True)  # held: no sweep day
    pending = [m for m in submissions_repo.pending_reviews() if m[0] == agency_id]
    assert sorted(pending) == sorted([(agency_id, waiting.submission_id), (agency_id, held.submission_id)])
    assert [m for m in submissions_repo.due_on(due.date()) if m[0] == agency_id] == [(agency_id, waiting.submission_id)]
    assert [m for m in submissions_repo.due_on(due.date() + timedelta(days=1)) if m[0] == agency_id] == []
    submissions_repo.save(saved.model_copy(update={"retain_until": due, "sweep_day": due.date()}),
                          {"retain_until", "sweep_day"})
    assert len([m for m in submissions_repo.due_on(due.date()) if m[0] == agency_id]) == 2


def test_deleting_leaves_a_tombstone_and_nothing_else(submissions_repo):
    submission = a_submission(new_id())
    submissions_repo.open_submission(submission)
    tombstone = Tombstone(agency_id=submission.agency_id, submission_id=submission.submission_id, case_ref="C-1",
                          deleted_at=START, retain_until=START, rule="default", days=30,
                          files=[{"file_id": "f", "sha256": "ab" * 32}])
    submissions_repo.delete_with_tombstone(submission, tombstone)
    assert submissions_repo.get_submission(submission.agency_id, submission.submission_id) is None
    with pytest.raises(Conflict):  # once only: the tombstone and its audit event are never written twice
        submissions_repo.delete_with_tombstone(submission, tombstone)


def test_a_file_check_is_recorded_once(submissions_repo):
    submission = a_submission(new_id())
    submissions_repo.open_submission(submission)
    file = a_file(submission)
    submissions_repo.add_files(submission, [file])
    checked = file.model_copy(update={"status": FileStatus.VERIFIED, "sha256": "ab" * 32, "checked_at": START})
    assert submissions_repo.record_check(submission.agency_id, submission.submission_id, checked) is True
    again = checked.model_copy(update={"sha256": "cd" * 32})
    assert submissions_repo.record_check(submission.agency_id, submission.submission_id, again) is False
    stored = submissions_repo.get_submission(submission.agency_id, submission.submission_id)
    assert stored.files[file.file_id].sha256 == "ab" * 32
    unknown = a_file(submission)
    assert submissions_repo.record_check(submission.agency_id, submission.submission_id, unknown) is False


def test_listing_is_newest_first_paginated_filtered_by_case_and_per_agency(submissions_repo):
    agency_id = new_id()
    made = [a_submission(agency_id, case_ref="A" if i % 2 else "B", minutes=i) for i in range(5)]
    for submission in made:
        submissions_repo.open_submission(submission)
    submissions_repo.open_submission(a_submission(new_id(), minutes=9))  # another agency's
    seen, cursor = [], None
    while True:
        page = submissions_repo.list_submissions(agency_id, case_ref=None, limit=2, cursor=cursor)
        seen += [s.submission_id for s in page.items]
        cursor = page.next_cursor
        if not cursor:
            break
    assert seen == [s.submission_id for s in reversed(made)]
    only_a = submissions_repo.list_submissions(agency_id, case_ref="A", limit=10, cursor=None)
    assert [s.submission_id for s in only_a.items] == [made[3].submission_id, made[1].submission_id]
    with pytest.raises(InvalidInput):
        submissions_repo.list_submissions(agency_id, case_ref=None, limit=2, cursor="garbage!")


def dynamo_audit_log(client=None) -> DynamoAuditLog:
    return DynamoAuditLog(client or boto3.client("dynamodb"), os.environ["AUDIT_TABLE_NAME"],
                          os.environ["AUDIT_INBOX_TABLE_NAME"], os.environ["TABLE_NAME"])


@pytest.fixture(params=["memory", "dynamodb"])
def audit_log(request):
    if request.param == "memory":
        yield MemoryAuditLog(chain_on_record=False)
        return
    with request.getfixturevalue("stack").local.paused():  # the stack's pump would chain them first
        yield dynamo_audit_log()


@pytest.fixture
def quiet_stack(stack):
    """The stack with its pump held: these tests watch the inbox before the sequencer runs."""
    with stack.local.paused():
        yield stack


def chain_all(log) -> int:
    total = 0
    while done := log.chain_waiting(AGENCY_UNDER_TEST[0]):
        total += done
    return total


AGENCY_UNDER_TEST: list[str] = [""]


def test_recorded_events_wait_in_the_inbox_until_the_sequencer_chains_them_in_order(audit_log):
    agency_id = AGENCY_UNDER_TEST[0] = new_id()
    for n in range(3):
        audit_log.append(agency_id, at=START, actor="key:k", action=f"thing.{n}", target="x", details={"n": n})
    assert audit_log.waiting(agency_id) == 3 and list(audit_log.entries(agency_id)) == []
    assert chain_all(audit_log) == 3
    entries = list(audit_log.entries(agency_id))
    assert [e.seq for e in entries] == [1, 2, 3] and audit.verify_chain(entries) == []
    assert [e.action for e in entries] == ["thing.0", "thing.1", "thing.2"] and entries[2].details == {"n": 2}
    assert audit_log.waiting(agency_id) == 0 and audit_log.chain_waiting(agency_id) == 0
    assert list(audit_log.entries(new_id())) == []


def test_more_events_than_one_batch_chain_across_batches_onto_the_same_chain(audit_log):
    agency_id = AGENCY_UNDER_TEST[0] = new_id()
    for n in range(audit.CHAIN_BATCH + 7):
        audit_log.append(agency_id, at=START, actor="key:k", action="x", target=str(n))
    assert audit_log.chain_waiting(agency_id) == audit.CHAIN_BATCH
    audit_log.append(agency_id, at=START, actor="key:k", action="late", target="y")
    assert chain_all(audit_log) == 8
    entries = list(audit_log.entries(agency_id))
    assert len(entries) == audit.CHAIN_BATCH + 8 and audit.verify_chain(entries) == []


def test_concurrent_writers_never_contend_and_racing_sequencers_chain_each_event_once(stack):
    agency_id = new_id()

    def write(worker: int) -> None:
        own = dynamo_audit_log(boto3.session.Session().client("dynamodb"))
        for n in range(10):
            own.append(agency_id, at=START, actor=f"w{worker}", action="x", target=str(n))

    def sequence() -> None:
        own = dynamo_audit_log(boto3.session.Session().client("dynamodb"))
        for _ in range(30):
            own.chain_waiting(agency_id)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(6)]
    threads += [threading.Thread(target=sequence) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    log = dynamo_audit_log()
    while log.chain_waiting(agency_id):
        pass
    entries = list(log.entries(agency_id))
    assert len(entries) == 60 and audit.verify_chain(entries) == []
    assert len({e.event_id for e in entries}) == 60 and log.waiting(agency_id) == 0


def test_chaining_applies_the_usage_the_events_carry_to_the_agency(quiet_stack):
    repo = DynamoAgencies(boto3.client("dynamodb"), os.environ["TABLE_NAME"], os.environ["AUDIT_INBOX_TABLE_NAME"])
    agency = Agency(agency_id=new_id(), name="Usage PD", created_at=START)
    repo.create_agency(agency)
    log = dynamo_audit_log()
    for delta in (100, 250, -50):
        log.record(audit.new_event(agency.agency_id, at=START, actor="system", action="x", target="t",
                                   usage_delta=delta))
    assert repo.get_agency(agency.agency_id).used_bytes == 0  # not yet: usage moves when chained
    log.chain_waiting(agency.agency_id)
    assert repo.get_agency(agency.agency_id).used_bytes == 300
    repo.save_agency(repo.get_agency(agency.agency_id).model_copy(update={"used_bytes": 0, "name": "Renamed"}))
    assert repo.get_agency(agency.agency_id).used_bytes == 300  # a settings save never moves usage


def test_a_write_and_its_event_commit_together_or_not_at_all(quiet_stack):
    inbox = os.environ["AUDIT_INBOX_TABLE_NAME"]
    repo = DynamoSubmissions(boto3.client("dynamodb"), os.environ["TABLE_NAME"], inbox)
    log = dynamo_audit_log()
    submission = a_submission(new_id())
    file = a_file(submission)
    repo.open_submission(submission.model_copy(update={"files": {file.file_id: file}}))
    checked = file.model_copy(update={"status": FileStatus.VERIFIED, "sha256": "ab" * 32})
    first = audit.new_event(submission.agency_id, at=START, actor="system:ingest", action="evidence.recorded",
                            target=f"file:{file.file_id}")
    again = audit.new_event(submission.agency_id, at=START, actor="system:ingest", action="evidence.recorded",
                            target=f"file:{file.file_id}")
    assert repo.record_check(submission.agency_id, submission.submission_id, checked, event=first)
    assert not repo.record_check(submission.agency_id, submission.submission_id, checked, event=again)
    assert log.waiting(submission.agency_id) == 1  # the refused write left no event behind


def test_a_capture_opens_with_its_files_origin_and_event_together_and_only_once(stack):
    repo = DynamoSubmissions(boto3.client("dynamodb"), os.environ["TABLE_NAME"], os.environ["AUDIT_INBOX_TABLE_NAME"])
    log = dynamo_audit_log()
    capture = a_submission(new_id()).model_copy(update={"origin": Origin.AGENCY_CAPTURE})
    file = a_file(capture)
    capture.files = {file.file_id: file}
    started = [audit.new_event(capture.agency_id, at=START, actor="key:k", action="capture.started",
                               target=f"submission:{capture.submission_id}") for _ in range(2)]
    repo.open_submission(capture, event=started[0])
    with pytest.raises(Conflict):
        repo.open_submission(capture, event=started[1])
    stored = repo.get_submission(capture.agency_id, capture.submission_id)
    assert stored.origin is Origin.AGENCY_CAPTURE and list(stored.files) == [file.file_id]
    assert log.waiting(capture.agency_id) == 1  # the refused second open left no event behind


def an_access_request(organisation: str) -> AccessRequest:
    return AccessRequest(request_id=new_id(), organisation=organisation, organisation_type="public_safety",
                         country="US", contact_name="Pat", contact_email="pat@example.org", current_license="none",
                         received_at=START, fingerprint=fingerprint(organisation, "US"))


def test_access_requests_are_unique_per_organisation_decided_once_and_listed_by_status(requests_repo):
    name = f"Org {new_id()}"
    first = an_access_request(name)
    requests_repo.create(first)
    with pytest.raises(Conflict):
        requests_repo.create(an_access_request(name.upper()))
    pending = requests_repo.list(RequestStatus.PENDING, limit=1000, cursor=None).items
    assert first.request_id in [r.request_id for r in pending]
    approved = first.model_copy(update={"status": RequestStatus.APPROVED, "decided_at": START})
    requests_repo.decide(approved)
    with pytest.raises(Conflict):
        requests_repo.decide(approved.model_copy(update={"status": RequestStatus.DENIED}))
    requests_repo.attach_agency(first.request_id, "agency-1")
    assert requests_repo.get(first.request_id).agency_id == "agency-1"
    listed = requests_repo.list(RequestStatus.APPROVED, limit=1000, cursor=None).items
    assert first.request_id in [r.request_id for r in listed]


def test_a_denied_organisation_may_ask_again(requests_repo):
    name = f"Org {new_id()}"
    first = an_access_request(name)
    requests_repo.create(first)
    requests_repo.decide(first.model_copy(update={"status": RequestStatus.DENIED, "decision_reason": "no"}))
    requests_repo.create(an_access_request(name))
