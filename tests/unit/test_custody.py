"""Custody rules over fakes: pinned evidence versions, tampering attempts, usage from chained
events, and the inbox that waits for the sequencer."""
from __future__ import annotations

import hashlib
from datetime import datetime, timezone

import pytest

from chalicelib.adapters.memory_audit import MemoryAuditLog
from chalicelib.domain import audit
from chalicelib.domain.commands import CreateCitizenLink, DeclaredFile, RequestUploads
from chalicelib.domain.licensing import LicenseKind
from chalicelib.domain.models import FileStatus, Principal, Role
from chalicelib.services import agencies, citizen_links, citizen_uploads, custody, ingest, submissions
from chalicelib.services.ingest import IngestOutcome
from tests.fakes import make_deps

JPEG = b"\xff\xd8\xff\xe0" + b"\x05" * 200
AT = datetime(2021, 1, 1, tzinfo=timezone.utc)
OTHER_JPEG = b"\xff\xd8\xff\xe0" + b"\x06" * 200


@pytest.fixture
def deps():
    return make_deps()


@pytest.fixture
def officer(deps):
    agency = agencies.create_agency("Pinned PD", "US", license=LicenseKind.OSP7_PLUS, deps=deps)
    return Principal(agency_id=agency.agency_id, role=Role.OFFICER, key_id="k1")


def uploaded(officer, deps):
    _, url = citizen_links.send_citizen_link(officer, CreateCitizenLink(case_ref="PIN-1", phone="+15555550123"),
                                             page_base="https://x", deps=deps)
    token = url.rsplit("/", 1)[-1]
    sid, [(file, _)] = citizen_uploads.request_uploads(token, RequestUploads(files=[
        DeclaredFile(name="a.jpg", size=len(JPEG), content_type="image/jpeg")]), deps=deps)
    version = deps.blobs.put(file.key, JPEG, "image/jpeg")
    return sid, file, version


def test_the_verified_version_is_pinned_and_downloads_sign_that_version(officer, deps):
    sid, file, version = uploaded(officer, deps)
    assert ingest.ingest_object(file.key, version_id=version, deps=deps) is IngestOutcome.RECORDED
    stored = deps.submissions.get_submission(officer.agency_id, sid).files[file.file_id]
    assert stored.status is FileStatus.VERIFIED and stored.version_id == version
    _, view = submissions.view_submission(officer, sid, deps=deps)
    assert view["download_urls"][file.file_id].endswith(f"versionId={version}")


def test_bytes_written_over_verified_evidence_are_a_tampering_attempt_recorded_once(officer, deps):
    sid, file, version = uploaded(officer, deps)
    ingest.ingest_object(file.key, version_id=version, deps=deps)
    rogue = deps.blobs.put(file.key, OTHER_JPEG, "image/jpeg")  # the same form posted again, other bytes
    assert ingest.ingest_object(file.key, version_id=rogue, deps=deps) is IngestOutcome.TAMPER_ATTEMPT
    assert ingest.ingest_object(file.key, version_id=rogue, deps=deps) is IngestOutcome.DUPLICATE
    stored = deps.submissions.get_submission(officer.agency_id, sid).files[file.file_id]
    assert stored.version_id == version and set(stored.tamper_attempts) == {rogue}
    assert stored.sha256 == hashlib.sha256(JPEG).hexdigest()  # the evidence is the first version
    attempts = [e for e in deps.audit.entries(officer.agency_id) if e.action == "evidence.tamper_attempt"]
    assert len(attempts) == 1 and attempts[0].details["new_version"] == rogue
    assert attempts[0].details["pinned_version"] == version


def test_the_same_version_delivered_again_is_a_duplicate_not_an_attempt(officer, deps):
    _, file, version = uploaded(officer, deps)
    ingest.ingest_object(file.key, version_id=version, deps=deps)
    assert ingest.ingest_object(file.key, version_id=version, deps=deps) is IngestOutcome.DUPLICATE
    assert "evidence.tamper_attempt" not in deps.audit.actions(officer.agency_id)


def test_stored_bytes_move_only_when_the_events_that_carry_them_are_chained(officer):
    log = MemoryAuditLog(chain_on_record=False)
    deps = make_deps(audit=log)
    agency = agencies.create_agency("Lagging PD", "US", license=LicenseKind.OSP7_PLUS, deps=deps)
    officer = Principal(agency_id=agency.agency_id, role=Role.OFFICER, key_id="k2")
    _, file, version = uploaded(officer, deps)
    ingest.ingest_object(file.key, version_id=version, deps=deps)
    assert deps.agencies.get_agency(agency.agency_id).used_bytes == 0 and log.waiting(agency.agency_id) > 0
    custody.sequence([agency.agency_id], deps=deps)
    assert deps.agencies.get_agency(agency.agency_id).used_bytes == len(JPEG)
    assert custody.verify(agency.agency_id, deps=deps) | {"problems": []} == {
        "agency_id": agency.agency_id, "entries": len(list(log.entries(agency.agency_id))), "waiting": 0,
        "intact": True, "problems": []}


def test_an_event_chained_twice_is_reported_by_the_verifier():
    event = audit.new_event("a1", at=AT, actor="x", action="y", target="z")
    first = audit.chain([event], None)
    again = audit.chain([event], (first[-1].seq, first[-1].hash))
    assert audit.verify_chain(first) == []
    assert audit.verify_chain(first + again) == [f"entry 2 repeats event {event.event_id}"]


def test_entries_chained_before_the_inbox_keep_their_hashes():
    entry = audit.next_entry(agency_id="a1", prev=None, at=AT, actor="x",
                             action="y", target="z")
    assert entry.event_id == "" and audit.verify_chain([entry]) == []
    body = entry.model_dump(exclude={"hash", "event_id"})
    assert audit.entry_hash(**body) == entry.hash  # the hash of an entry written without event ids
