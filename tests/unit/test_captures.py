"""Agency capture over fakes and a fixed clock: an officer's own evidence goes through the same
declaration, signing, ingest and custody as a citizen's, with its origin set by the system."""
from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest

from chalicelib.domain import ids, links
from chalicelib.domain.commands import CompleteSubmission, RequestUploads, SetRetentionPolicy, StartCapture
from chalicelib.domain.errors import Conflict, Forbidden, LimitExceeded, NotFound, UnsupportedMedia
from chalicelib.domain.models import FileStatus, Origin, Principal, ReviewState, Role, SubmissionStatus
from chalicelib.services import agencies, captures, ingest, licensing, retention
from tests.unit.test_citizen_link_service import JPEG, MP4, declare, send

PHOTO = {"name": "scene.jpg", "size": len(JPEG), "content_type": "image/jpeg", "caption": "rear bumper"}
VIDEO = {"name": "body.mp4", "size": len(MP4), "content_type": "video/mp4"}


def start(officer, deps, *files, case_ref="CASE-7", **extra):
    cmd = StartCapture.model_validate({"case_ref": case_ref, "files": list(files or [PHOTO]), **extra})
    return captures.start_capture(officer, cmd, deps=deps)


def complete(officer, deps, capture_id):
    return captures.complete_capture(officer, capture_id, CompleteSubmission(), deps=deps)


def test_a_capture_is_an_agency_capture_submission_of_the_officer_with_one_exact_upload_per_file(officer, deps):
    capture, signed = start(officer, deps, PHOTO, VIDEO)
    stored = deps.submissions.get_submission(officer.agency_id, capture.submission_id)
    assert stored.origin is Origin.AGENCY_CAPTURE and stored.link_id == stored.submission_id
    assert stored.requested_by == officer.actor and stored.status is SubmissionStatus.OPEN
    assert [f.name for f, _ in signed] == ["scene.jpg", "body.mp4"]
    assert set(stored.files) == {f.file_id for f, _ in signed}
    for file, post in signed:
        assert file.key == links.object_key(officer.agency_id, "CASE-7", capture.submission_id, file.file_id)
        assert post.fields["key"] == file.key and post.expires_at == deps.clock.now() + links.UPLOAD_URL_TTL
    assert deps.blobs.signed == [{"key": f.key, "content_type": f.content_type, "size": f.size} for f, _ in signed]


def test_starting_a_capture_writes_it_with_its_capture_started_event(officer, deps):
    capture, _ = start(officer, deps, PHOTO, VIDEO)
    [entry] = [e for e in deps.audit.entries(officer.agency_id) if e.action == "capture.started"]
    assert entry.target == f"submission:{capture.submission_id}" and entry.actor == officer.actor
    assert entry.details == {"origin": "agency_capture", "case_ref": "CASE-7", "files": 2,
                             "bytes": len(JPEG) + len(MP4)}


def test_captured_files_are_verified_hashed_and_audited_with_their_origin_by_the_same_ingest(officer, deps):
    capture, signed = start(officer, deps, PHOTO, VIDEO)
    for (file, _), data in zip(signed, [JPEG, MP4]):
        deps.blobs.put(file.key, data)
        assert ingest.ingest_object(file.key, deps=deps) == "recorded"
    stored = deps.submissions.get_submission(officer.agency_id, capture.submission_id)
    assert {f.name: f.sha256 for f in stored.files.values()} == {
        "scene.jpg": hashlib.sha256(JPEG).hexdigest(), "body.mp4": hashlib.sha256(MP4).hexdigest()}
    assert all(f.status is FileStatus.VERIFIED and f.version_id for f in stored.files.values())
    recorded = [e for e in deps.audit.entries(officer.agency_id) if e.action == "evidence.recorded"]
    assert [e.details["origin"] for e in recorded] == ["agency_capture", "agency_capture"]


def test_completing_closes_it_accepted_by_the_capturing_officer_with_retention_scheduled(officer, deps, clock):
    admin = Principal(agency_id=officer.agency_id, role=Role.AGENCY_ADMIN, key_id="admin")
    retention.set_policy(admin, SetRetentionPolicy(default_days=30), deps=deps)
    capture, _ = start(officer, deps)
    clock.advance(minutes=3)
    done = complete(officer, deps, capture.submission_id)
    assert done.status is SubmissionStatus.SUBMITTED and done.submitted_at == clock.now()
    assert done.review.state is ReviewState.ACCEPTED and done.review.by == officer.actor
    assert done.retain_until == clock.now() + timedelta(days=30) and done.sweep_day is not None
    stored = deps.submissions.get_submission(officer.agency_id, capture.submission_id)
    assert stored.status is SubmissionStatus.SUBMITTED
    [entry] = [e for e in deps.audit.entries(officer.agency_id) if e.action == "capture.completed"]
    assert entry.details == {"origin": "agency_capture", "case_ref": "CASE-7", "files": 1, "review": "accepted"}
    assert list(deps.submissions.pending_reviews()) == []  # nothing waits for triage


def test_a_second_complete_is_a_clear_conflict_and_changes_nothing(officer, deps):
    capture, _ = start(officer, deps)
    done = complete(officer, deps, capture.submission_id)
    events = len(list(deps.audit.entries(officer.agency_id)))
    with pytest.raises(Conflict) as refused:
        complete(officer, deps, capture.submission_id)
    assert refused.value.code == "capture_completed"
    with pytest.raises(Conflict):
        captures.declare_files(officer, capture.submission_id, RequestUploads.model_validate({"files": [PHOTO]}),
                               deps=deps)
    assert deps.submissions.get_submission(officer.agency_id, capture.submission_id).version == done.version
    assert len(list(deps.audit.entries(officer.agency_id))) == events


def test_more_files_are_declared_while_open_and_a_declared_file_can_be_signed_again(officer, deps):
    capture, [(first, _)] = start(officer, deps)
    more = RequestUploads.model_validate({"files": [VIDEO, {**PHOTO, "file_id": first.file_id}]})
    _, signed = captures.declare_files(officer, capture.submission_id, more, deps=deps)
    assert [f.name for f, _ in signed] == ["body.mp4", "scene.jpg"] and signed[1][0].file_id == first.file_id
    assert len(deps.submissions.get_submission(officer.agency_id, capture.submission_id).files) == 2


def test_the_agency_file_limit_counts_every_file_of_a_capture(officer, deps, agency):
    deps.agencies.agencies[agency.agency_id].max_files_per_link = 2
    with pytest.raises(LimitExceeded) as refused:
        start(officer, deps, PHOTO, PHOTO, PHOTO)
    assert refused.value.code == "too_many_files"
    capture, _ = start(officer, deps, PHOTO, PHOTO)
    with pytest.raises(LimitExceeded):
        captures.declare_files(officer, capture.submission_id, RequestUploads.model_validate({"files": [PHOTO]}),
                               deps=deps)


@pytest.mark.parametrize("bad, error", [
    ({"name": "x.exe", "size": 10, "content_type": "application/x-msdownload"}, UnsupportedMedia),
    ({"name": "big.mp4", "size": 200 * 1024 * 1024, "content_type": "video/mp4"}, LimitExceeded),
])
def test_refused_files_store_and_sign_nothing(officer, deps, bad, error):
    with pytest.raises(error):
        start(officer, deps, PHOTO, bad)
    assert deps.submissions.items == {} and deps.blobs.signed == []
    assert "capture.started" not in deps.audit.actions(officer.agency_id)


def test_another_agencys_capture_a_citizen_submission_and_made_up_ids_are_not_found(officer, deps):
    capture, _ = start(officer, deps)
    other = agencies.create_agency("Shelbyville PD", "US", deps=deps)
    stranger = Principal(agency_id=other.agency_id, role=Role.OFFICER, key_id="stranger")
    _, token = send(officer, deps)
    citizen_submission, _ = declare(token, deps, {"name": "a.jpg", "size": len(JPEG), "content_type": "image/jpeg"})
    cases = [(stranger, capture.submission_id), (officer, citizen_submission), (officer, ids.new_id(deps.clock.now())),
             (officer, "../" + capture.submission_id), (officer, "x" * 500)]
    for who, capture_id in cases:
        with pytest.raises(NotFound) as missing:
            complete(who, deps, capture_id)
        assert missing.value.code == "capture_not_found"
    assert deps.submissions.get_submission(officer.agency_id, citizen_submission).status is SubmissionStatus.OPEN


def test_operator_keys_cannot_capture(deps, agency):
    operator = Principal(agency_id="operator", role=Role.OPERATOR, key_id="op")
    with pytest.raises(Forbidden) as refused:
        start(operator, deps)
    assert refused.value.code == "agency_only"


def test_a_first_time_agency_on_the_program_licence_is_refused_capture_saying_why(officer, deps, agency, clock):
    licensing.set_license(agency.agency_id, "none", deps=deps)
    licensing.enroll(agency.agency_id, clock.now(), deps=deps)
    with pytest.raises(Forbidden) as refused:
        start(officer, deps)
    assert refused.value.code == "entitlement_missing" and refused.value.details == {"missing": "evidence_capture"}
    assert "evidence licence" in refused.value.message and "Citizen features only" in refused.value.message
    assert deps.submissions.items == {}
