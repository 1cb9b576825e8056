"""The improvement program's own store: one contract, in memory and on DynamoDB (moto server, the
program table from infra/template.yaml). Artifacts are written once with their lookups, found by
agency, source and parent, deleted repeatably; the journal keeps the first entry; completing a
receipt marks its request done (out of the due index) once; watched sources come back by day."""
from __future__ import annotations

import os
import uuid
from datetime import date, timedelta

import boto3
import pytest

from chalicelib.adapters.dynamo_program import DynamoProgram
from chalicelib.adapters.dynamo_program_store import DynamoProgramStore
from chalicelib.adapters.memory_program import MemoryProgram
from chalicelib.adapters.memory_program_store import MemoryProgramStore
from chalicelib.domain import audit, lineage, receipts
from chalicelib.domain.errors import Conflict
from chalicelib.domain.program import RemovalRequest
from tests.fakes import START, MemoryAuditLog

pytestmark = pytest.mark.integration


@pytest.fixture(params=["memory", "dynamodb"])
def stores(request):
    """(program store, program repository) of one implementation."""
    if request.param == "memory":
        repo = MemoryProgram(MemoryAuditLog(chain_on_record=False))
        yield MemoryProgramStore(repo), repo
        return
    stack = request.getfixturevalue("stack")
    db, main, inbox = boto3.client("dynamodb"), os.environ["TABLE_NAME"], os.environ["AUDIT_INBOX_TABLE_NAME"]
    with stack.local.paused():
        yield DynamoProgramStore(db, os.environ["PROGRAM_TABLE_NAME"], inbox, main), DynamoProgram(db, main, inbox)


def event(agency_id: str, action: str = "program.artifact_created"):
    return audit.new_event(agency_id, at=START, actor="test", action=action, target="program")


def made(agency: str, aid: str, sources: list[str], parents: list[str] | None = None) -> lineage.Lineage:
    return lineage.Lineage(artifact_id=aid, use_case_id="uc", use_case_version=1, technique="aggregate_counts",
                           agency_ids=[agency], sources=sources, parents=parents or [], created_at=START,
                           content_sha256="0" * 64, slot=aid)


def test_an_artifact_is_written_once_and_found_by_its_lookups(stores):
    store, _ = stores
    agency, aid, child = f"a-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex, uuid.uuid4().hex
    first = made(agency, aid, [f"{agency}/s1"])
    assert store.put_artifact(first, lineage.Artifact(artifact_id=aid, records=[{"count": 5}]), event=event(agency))
    assert not store.put_artifact(first, lineage.Artifact(artifact_id=aid), event=event(agency))
    store.put_artifact(made(agency, child, [], [aid]), lineage.Artifact(artifact_id=child), event=event(agency))
    assert store.get_lineage(aid) == first
    assert sorted(store.artifacts_of_agency(agency)) == sorted([aid, child])
    assert list(store.artifacts_of_source(f"{agency}/s1")) == [aid] and list(store.children(aid)) == [child]
    store.delete_artifact(aid, first)
    store.delete_artifact(aid, first)  # repeatable
    assert store.get_lineage(aid) is None and list(store.artifacts_of_source(f"{agency}/s1")) == []
    assert list(store.artifacts_of_agency(agency)) == [child]


def test_the_journal_keeps_the_first_entry_and_completing_marks_the_request_done_once(stores):
    store, repo = stores
    agency, rid = f"a-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    request = RemovalRequest(request_id=rid, agency_id=agency, submission_ids=["s1"], requested_at=START,
                             requested_by="key:a", due_on=START.date() + timedelta(days=30))
    repo.add_removal(request, event=event(agency, "program.removal_requested"))
    first = receipts.Deleted(store="s", key="k", content_sha256="1" * 64, deleted_at=START)
    store.journal_add(rid, "x#0", first)
    store.journal_add(rid, "x#0", first.model_copy(update={"deleted_at": START + timedelta(hours=1)}))
    store.journal_add(rid, "w#0", first.model_copy(update={"key": "w"}))
    assert [e.key for e in store.journal(rid)] == ["w", "k"] and store.journal(rid)[1] == first
    entries = receipts.chain(store.journal(rid))
    receipt = receipts.Receipt(receipt_id=rid, agency_id=agency, kind=receipts.ReceiptKind.REMOVAL,
                               requested_at=START, completed_at=START + timedelta(hours=2), entries=entries,
                               head_hash=entries[-1].hash, signature="c2ln", key_id="k", algorithm="ECDSA_SHA_256")
    store.complete(receipt, request, event=event(agency, "program.deletion_done"))
    assert rid not in {r.request_id for r in repo.open_requests()}
    assert repo.removals(agency)[0].done_at == receipt.completed_at
    assert store.get_receipt(rid) == receipt
    with pytest.raises(Conflict):
        store.complete(receipt, request, event=event(agency, "program.deletion_done"))


def test_watched_sources_come_back_on_their_day_until_dropped(stores):
    store, _ = stores
    source = f"a-{uuid.uuid4().hex[:8]}/s1"
    store.file_source(source, date(2031, 1, 10))
    assert source not in list(store.sources_due(date(2031, 1, 9)))
    assert source in list(store.sources_due(date(2031, 1, 10)))
    store.file_source(source, date(2031, 1, 17))  # looked at, still there: filed again, not twice
    assert source not in list(store.sources_due(date(2031, 1, 16)))
    store.drop_source(source)
    assert source not in list(store.sources_due(date(2031, 2, 1)))
