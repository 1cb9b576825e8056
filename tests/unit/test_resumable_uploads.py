"""Resumable (multipart) uploads and end-to-end integrity, over in-memory fakes and a fixed clock."""
from __future__ import annotations

import base64
import hashlib
from dataclasses import replace

import pytest

from chalicelib.domain import multipart
from chalicelib.domain.commands import (
    CompleteFile,
    CreateCitizenLink,
    DeclaredFile,
    RequestUploads,
    SignParts,
)
from chalicelib.domain.errors import Conflict, Gone, InvalidInput, LimitExceeded, NotFound
from chalicelib.domain.models import FileStatus, RejectCode
from chalicelib.services import citizen_links, citizen_uploads, ingest, resumable

MIB = 1024 * 1024
GIB = 1024 * MIB
MP4_HEAD = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"


@pytest.fixture
def deps(deps):
    # a small threshold and the smallest part S3 allows, as the e2e tests use
    return replace(deps, multipart_threshold=6 * MIB, part_bytes=5 * MIB, max_upload_bytes=50 * GIB)


def send(officer, deps, **fields):
    cmd = CreateCitizenLink(**({"case_ref": "CASE-1", "phone": "+15555550123"} | fields))
    link, url = citizen_links.send_citizen_link(officer, cmd, page_base="https://evidence.example/api", deps=deps)
    return link, url.rsplit("/", 1)[-1]


def video(size: int) -> bytes:
    return (MP4_HEAD + bytes(range(256)) * (size // 256 + 1))[:size]


def declare(token, deps, *files):
    uploads = citizen_uploads.request_uploads(token, RequestUploads(files=[DeclaredFile(**f) for f in files]),
                                              deps=deps)[1]
    return [f for f, _ in uploads], [post for _, post in uploads]


def big(size=12 * MIB + 7, **extra):
    return {"name": "clip.mp4", "size": size, "content_type": "video/mp4", **extra}


def put_all(deps, file, data, skip=()):
    for number in range(1, multipart.parts_total(file.size, file.part_size) + 1):
        if number not in skip:
            start = (number - 1) * file.part_size
            deps.blobs.put_part(file.upload_id, number, data[start:start + file.part_size])


def ingest_latest(deps, file):
    return ingest.ingest_object(file.key, deps=deps)


# --- the rules ----------------------------------------------------------------------------------

def test_a_50_gib_file_fits_in_10000_parts_with_whole_mib_parts():
    size = 50 * GIB
    chosen = multipart.part_size(size, preferred=5 * MIB)
    assert chosen % MIB == 0 and chosen >= multipart.MIN_PART
    assert multipart.parts_total(size, chosen) <= multipart.MAX_PARTS
    assert multipart.parts_total(size, chosen - MIB) > multipart.MAX_PARTS  # the smallest that fits


def test_the_preferred_part_size_is_kept_when_the_file_fits():
    assert multipart.part_size(1 * GIB, preferred=16 * MIB) == 16 * MIB
    assert multipart.parts_total(1 * GIB, 16 * MIB) == 64


# --- declaring and signing ----------------------------------------------------------------------

def test_a_file_above_the_threshold_gets_a_multipart_upload_and_no_post(officer, deps):
    _, token = send(officer, deps)
    (file,), (post,) = declare(token, deps, big())
    assert post is None and file.upload_id and file.part_size == 5 * MIB
    assert resumable.offer(file) == {"part_size": 5 * MIB, "parts_total": 3}
    assert deps.blobs.uploads[file.upload_id]["key"] == file.key


def test_a_small_file_with_its_hash_gets_a_post_bound_to_that_hash(officer, deps):
    _, token = send(officer, deps)
    digest = hashlib.sha256(b"x").hexdigest()
    (file,), (post,) = declare(token, deps, {"name": "a.jpg", "size": 300, "content_type": "image/jpeg",
                                             "sha256": digest})
    assert file.client_sha256 == digest and file.upload_id is None
    assert post.fields["x-amz-checksum-sha256"] == base64.b64encode(bytes.fromhex(digest)).decode()


def test_part_urls_are_signed_on_demand_with_their_checksum(officer, deps):
    _, token = send(officer, deps)
    (file,), _ = declare(token, deps, big())
    checksum = base64.b64encode(hashlib.sha256(b"p").digest()).decode()
    signed = citizen_uploads.sign_parts(token, file.file_id, SignParts(parts=[
        {"part_number": 1, "sha256": checksum}, {"part_number": 3}]), deps=deps)
    assert [p["part_number"] for p in signed] == [1, 3]
    assert signed[0]["headers"] == {"x-amz-checksum-sha256": checksum} and signed[1]["headers"] == {}
    assert signed[1]["size"] == 2 * MIB + 7  # the last part is the rest


def test_a_part_number_out_of_range_is_refused(officer, deps):
    _, token = send(officer, deps)
    (file,), _ = declare(token, deps, big())
    with pytest.raises(InvalidInput) as refused:
        citizen_uploads.sign_parts(token, file.file_id, SignParts(parts=[{"part_number": 4}]), deps=deps)
    assert refused.value.code == "part_out_of_range"


def test_another_links_upload_cannot_be_signed_resumed_or_completed(officer, deps):
    _, token = send(officer, deps)
    _, other_token = send(officer, deps)
    (file,), _ = declare(token, deps, big())
    for call in (lambda: citizen_uploads.held_parts(other_token, file.file_id, deps=deps),
                 lambda: citizen_uploads.sign_parts(other_token, file.file_id,
                                                    SignParts(parts=[{"part_number": 1}]), deps=deps),
                 lambda: citizen_uploads.complete_file(other_token, file.file_id, CompleteFile(), deps=deps)):
        with pytest.raises(NotFound):
            call()


# --- resuming and completing --------------------------------------------------------------------

def test_resume_lists_the_parts_s3_holds_and_completion_waits_for_the_rest(officer, deps):
    _, token = send(officer, deps)
    (file,), _ = declare(token, deps, big())
    data = video(file.size)
    put_all(deps, file, data, skip={2})
    held = citizen_uploads.held_parts(token, file.file_id, deps=deps)
    assert [p["part_number"] for p in held["parts"]] == [1, 3] and held["parts_total"] == 3
    with pytest.raises(Conflict) as missing:
        citizen_uploads.complete_file(token, file.file_id, CompleteFile(), deps=deps)
    assert missing.value.code == "parts_missing" and missing.value.details == {"missing": [2]}
    assert "complete_multipart" not in deps.blobs.calls


def test_a_complete_naming_a_part_s3_does_not_hold_is_refused(officer, deps):
    _, token = send(officer, deps)
    (file,), _ = declare(token, deps, big())
    put_all(deps, file, video(file.size))
    with pytest.raises(InvalidInput) as foreign:
        citizen_uploads.complete_file(token, file.file_id, CompleteFile(parts=[
            {"part_number": 1, "etag": "0" * 32}]), deps=deps)
    assert foreign.value.code == "part_mismatch"


def test_the_assembled_file_is_verified_against_the_browsers_hash(officer, deps):
    _, token = send(officer, deps)
    (file,), _ = declare(token, deps, big())
    data = video(file.size)
    put_all(deps, file, data)
    digest = hashlib.sha256(data).hexdigest()
    citizen_uploads.complete_file(token, file.file_id, CompleteFile(sha256=digest), deps=deps)
    assert deps.blobs.objects[file.key][0] == data
    assert ingest_latest(deps, file) is ingest.IngestOutcome.RECORDED
    (verdict,) = citizen_uploads.verdicts(token, deps=deps)
    assert verdict.status is FileStatus.VERIFIED and verdict.sha256 == digest
    assert [e.action for e in deps.audit.entries(officer.agency_id) if e.target == f"file:{file.file_id}"] == [
        "upload.assembled", "evidence.recorded"]


def test_bytes_that_differ_from_what_the_browser_read_are_marked_not_accepted(officer, deps):
    _, token = send(officer, deps)
    (file,), _ = declare(token, deps, big())
    put_all(deps, file, video(file.size))
    claimed = hashlib.sha256(b"what the phone read").hexdigest()
    citizen_uploads.complete_file(token, file.file_id, CompleteFile(sha256=claimed), deps=deps)
    assert ingest_latest(deps, file) is ingest.IngestOutcome.REJECTED
    (verdict,) = citizen_uploads.verdicts(token, deps=deps)
    assert verdict.status is FileStatus.REJECTED and verdict.reject_code is RejectCode.HASH_MISMATCH
    recorded = [e for e in deps.audit.entries(officer.agency_id) if e.action == "evidence.recorded"][-1]
    assert recorded.outcome == "rejected" and recorded.details["reject_code"] == "hash_mismatch"


def test_a_completion_naming_another_hash_than_the_file_was_declared_with_is_refused(officer, deps):
    """The hash a page gave first is the file's: a later one is another file, never a silent swap."""
    _, token = send(officer, deps)
    data = video(12 * MIB + 7)
    first = hashlib.sha256(data).hexdigest()
    (file,), _ = declare(token, deps, big(sha256=first))
    put_all(deps, file, data)
    with pytest.raises(InvalidInput) as refused:
        citizen_uploads.complete_file(token, file.file_id, CompleteFile(sha256="0" * 64), deps=deps)
    assert refused.value.code == "file_changed" and "complete_multipart" not in deps.blobs.calls
    citizen_uploads.complete_file(token, file.file_id, CompleteFile(sha256=first), deps=deps)
    assert deps.blobs.calls.count("complete_multipart") == 1


def test_completing_again_after_s3_assembled_the_file_answers_the_same(officer, deps):
    _, token = send(officer, deps)
    (file,), _ = declare(token, deps, big())
    put_all(deps, file, video(file.size))
    citizen_uploads.complete_file(token, file.file_id, CompleteFile(), deps=deps)
    again = citizen_uploads.complete_file(token, file.file_id, CompleteFile(), deps=deps)
    assert again.file_id == file.file_id and deps.blobs.calls.count("complete_multipart") == 1


# --- abandoned uploads --------------------------------------------------------------------------

def test_an_upload_with_no_part_for_a_day_is_aborted_and_frees_its_slot(officer, deps, clock, agency):
    deps.agencies.save_agency(agency.model_copy(update={"max_files_per_link": 1}))
    _, token = send(officer, deps, expires_in_hours=336)
    (file,), _ = declare(token, deps, big())
    with pytest.raises(LimitExceeded):
        declare(token, deps, big())
    clock.advance(hours=23)
    assert resumable.abort_abandoned(deps=deps) == {"checked": 1, "aborted": 0, "marked": 0}
    clock.advance(hours=2)
    assert resumable.abort_abandoned(deps=deps) == {"checked": 1, "aborted": 1, "marked": 1}
    assert deps.blobs.uploads[file.upload_id]["state"] == "aborted"
    (again,), _ = declare(token, deps, big())  # the slot is free again
    assert again.file_id != file.file_id
    with pytest.raises(Gone):
        citizen_uploads.held_parts(token, file.file_id, deps=deps)
    assert "upload.abandoned" in deps.audit.actions(officer.agency_id)


def test_an_upload_still_receiving_parts_is_kept(officer, deps, clock):
    _, token = send(officer, deps, expires_in_hours=336)
    (file,), _ = declare(token, deps, big())
    clock.advance(hours=20)
    deps.blobs.put_part(file.upload_id, 1, video(5 * MIB), at=clock.now())
    clock.advance(hours=20)
    assert resumable.abort_abandoned(deps=deps)["aborted"] == 0


def test_an_upload_named_by_no_file_is_aborted(deps, clock):
    deps.blobs.start_multipart("agencies/x/cases/C/y/z", content_type="video/mp4")
    clock.advance(hours=25)
    assert resumable.abort_abandoned(deps=deps)["aborted"] == 1


def test_a_small_file_that_never_arrived_stops_counting_after_a_day(officer, deps, clock, agency):
    deps.agencies.save_agency(agency.model_copy(update={"max_files_per_link": 1}))
    _, token = send(officer, deps, expires_in_hours=336)
    declare(token, deps, {"name": "a.jpg", "size": 300, "content_type": "image/jpeg"})
    with pytest.raises(LimitExceeded):
        declare(token, deps, {"name": "b.jpg", "size": 300, "content_type": "image/jpeg"})
    clock.advance(hours=24)
    declare(token, deps, {"name": "b.jpg", "size": 300, "content_type": "image/jpeg"})
    assert citizen_uploads.open_link(token, deps=deps)["files_declared"] == 1


def test_a_file_that_stopped_counting_is_never_signed_again(officer, deps, clock, agency):
    """Else a link's limit could be doubled: declare it full, wait a day, declare it full again,
    then sign the first files again by their ids."""
    deps.agencies.save_agency(agency.model_copy(update={"max_files_per_link": 1}))
    _, token = send(officer, deps, expires_in_hours=336)
    photo = {"name": "a.jpg", "size": 300, "content_type": "image/jpeg"}
    (first,), _ = declare(token, deps, photo)
    declare(token, deps, photo | {"file_id": first.file_id})  # signed again while it still counts: fine
    clock.advance(hours=24)
    declare(token, deps, photo)
    with pytest.raises(Gone) as refused:
        declare(token, deps, photo | {"file_id": first.file_id})
    assert refused.value.code == "upload_abandoned"


def test_a_page_that_only_posts_is_capped_at_what_one_post_carries(officer, deps):
    from chalicelib.domain.models import Submission
    from chalicelib.services import uploads

    submission = Submission(submission_id="s", agency_id="a", link_id="s", case_ref="C",
                            created_at=deps.clock.now())
    with pytest.raises(LimitExceeded):
        uploads.plan(submission, [DeclaredFile(**big(size=6 * GIB))], max_files=5, deps=deps)
    added, _ = uploads.plan(submission, [DeclaredFile(**big(size=6 * GIB))], max_files=5, deps=deps, resumable=True)
    assert added[0].size == 6 * GIB
