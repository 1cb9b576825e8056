"""Export to the agency's own storage: use cases over in-memory fakes and a fixed clock."""
from __future__ import annotations

import csv
import hashlib
import io
import itertools
import json
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.domain import ids, links
from chalicelib.domain.errors import Conflict, InvalidInput, NotFound
from chalicelib.domain.exports import COLUMNS, ExportPhase, ExportStatus, StartExport
from chalicelib.domain.models import EvidenceFile, FileStatus, Principal, Role, Submission
from chalicelib.services import exports
from chalicelib.services.exports import ExportDeps
from tests.export_fakes import MemoryExports, MemoryExportStorage, MemoryJobQueue
from tests.fakes import START

DAY = timedelta(days=1)


@pytest.fixture
def xd(deps) -> ExportDeps:
    return ExportDeps(clock=deps.clock, exports=MemoryExports(deps.audit), submissions=deps.submissions,
                      audit=deps.audit,
                      storage=MemoryExportStorage(deps.blobs), queue=MemoryJobQueue(), evidence_bucket="evidence",
                      shares=deps.shares)


def evidence(xd, agency_id, *contents, case_ref="CASE-1", at=START - DAY, sha=None, status=FileStatus.VERIFIED):
    """A submission created at `at` holding one file per content (None: declared, never received)."""
    submission = Submission(submission_id=ids.new_id(at), agency_id=agency_id, link_id="l", case_ref=case_ref,
                            created_at=at, submitted_at=at + timedelta(minutes=5))
    submission.link_id = submission.submission_id
    xd.submissions.open_submission(submission)
    files = []
    for n, data in enumerate(contents):
        fid = ids.new_id(at + timedelta(seconds=n))
        files.append(EvidenceFile(file_id=fid, name=f"photo-{n}.jpg", size=len(data or b"x"), content_type="image/jpeg",
                                  key=links.object_key(agency_id, case_ref, submission.submission_id, fid),
                                  declared_at=at, caption=f"caption {n}"))
    xd.submissions.add_files(submission, files)
    for file, data in zip(files, contents):
        if data is not None:
            xd.storage.blobs.put(file.key, data, "image/jpeg")
            checked = file.model_copy(update={"status": status, "checked_at": at,
                                              "sha256": sha or hashlib.sha256(data).hexdigest()})
            xd.submissions.record_check(agency_id, submission.submission_id, checked)
    return xd.submissions.get_submission(agency_id, submission.submission_id)


def start(officer, xd, target=None, **fields):
    cmd = StartExport.model_validate({**fields, "target": target or {"type": "bucket", "bucket": "agency-archive"}})
    return exports.start_export(officer, cmd, deps=xd)


def budget(steps):
    """A time_left() with plenty of time for `steps` checks, then none."""
    calls = itertools.count()
    return lambda: 900.0 if next(calls) < steps else 5.0


def drain(xd, steps=10_000):
    """Deliver queued chunk messages until none are left; returns how many chunks ran."""
    chunks = 0
    while (message := xd.queue.take()) is not None:
        body = json.dumps({"agency_id": message[0], "export_id": message[1]})
        exports.handle_chunk_message(body, deps=xd, time_left=budget(steps))
        chunks += 1
    return chunks


def finished(officer, xd, job, steps=10_000):
    drain(xd, steps)
    return xd.exports.get_job(officer.agency_id, job.export_id)


def manifest(xd, bucket="agency-archive", key="manifest.json"):
    return json.loads(xd.storage.buckets[bucket][key].body)


def test_an_export_copies_every_received_file_to_the_agencys_bucket_with_a_manifest(officer, xd):
    xd.storage.create_bucket("agency-archive")
    sub = evidence(xd, officer.agency_id, b"one", b"two")
    job = finished(officer, xd, start(officer, xd, {"type": "bucket", "bucket": "agency-archive", "prefix": "pd/"}))
    assert job.status is ExportStatus.DONE and job.items_done == job.items_total == 2
    stored = xd.storage.buckets["agency-archive"]
    keys = {f"pd/CASE-1/{sub.submission_id}/{f.file_id}-{f.name}" for f in sub.files.values()}
    assert keys | {"pd/manifest.json", "pd/manifest.csv"} == set(stored)
    assert {stored[k].body for k in keys} == {b"one", b"two"}
    assert all(o.tags == {"citizen-evidence-agency": officer.agency_id} for o in stored.values())
    rows = manifest(xd, key="pd/manifest.json")["rows"]
    assert {r["target_key"] for r in rows} == keys and {r["integrity"] for r in rows} == {"verified"}


def test_a_case_and_date_filter_exports_only_the_matching_files(officer, xd):
    xd.storage.create_bucket("agency-archive")
    inside = evidence(xd, officer.agency_id, b"a", b"b", at=START - 5 * DAY)
    evidence(xd, officer.agency_id, b"c", at=START - 10 * DAY)  # before `from`
    evidence(xd, officer.agency_id, b"d", at=START - 2 * DAY)  # at `to`: excluded
    evidence(xd, officer.agency_id, b"e", case_ref="OTHER", at=START - 5 * DAY)
    job = finished(officer, xd, start(officer, xd, case_ref="CASE-1", **{
        "from": (START - 6 * DAY).isoformat(), "to": (START - 2 * DAY).isoformat()}))
    rows = manifest(xd)["rows"]
    assert job.items_total == 2 and {r["submission_id"] for r in rows} == {inside.submission_id}
    assert manifest(xd)["filter"] == {"case_ref": "CASE-1", "from": (START - 6 * DAY).isoformat().replace(
        "+00:00", "Z"), "to": (START - 2 * DAY).isoformat().replace("+00:00", "Z")}


def test_a_filter_that_matches_nothing_gives_an_empty_manifest_and_done(officer, xd):
    xd.storage.create_bucket("agency-archive")
    evidence(xd, officer.agency_id, b"a")
    job = finished(officer, xd, start(officer, xd, case_ref="NO-SUCH-CASE"))
    assert job.status is ExportStatus.DONE and (job.items_total, job.items_done, job.bytes_done) == (0, 0, 0)
    assert manifest(xd)["rows"] == [] and manifest(xd)["counts"]["files"] == 0
    assert xd.storage.buckets["agency-archive"]["manifest.csv"].body.decode().splitlines() == [",".join(COLUMNS)]


def test_a_chunk_that_runs_out_of_time_stops_and_the_next_resumes_without_duplicating_rows(officer, xd):
    xd.storage.create_bucket("agency-archive")
    for day in range(1, 31):  # 30 submissions: more than one listing page
        evidence(xd, officer.agency_id, b"x" * day, b"y" * day, at=START - day * DAY)
    job = start(officer, xd)
    chunks = drain(xd, steps=7)
    done = xd.exports.get_job(officer.agency_id, job.export_id)
    assert chunks >= 9 and done.chunks == chunks and done.status is ExportStatus.DONE
    rows = manifest(xd)["rows"]
    assert len(rows) == 60 == len({(r["submission_id"], r["file_id"]) for r in rows}) == done.items_done
    assert xd.exports.row_writes == 60 and len(xd.storage.hashed) == 60  # no file was exported twice


def test_a_killed_chunk_redoes_only_the_item_in_flight(officer, xd):
    xd.storage.create_bucket("agency-archive")
    evidence(xd, officer.agency_id, b"a", b"b", b"c")
    job = start(officer, xd)
    xd.queue.take()
    real_save = xd.exports.save_job

    def killed_after_the_second_row(progress, *, expected, event=None):
        if progress.items_done == 2:
            raise TimeoutError("Lambda killed mid-chunk")
        return real_save(progress, expected=expected, event=event)

    xd.exports.save_job = killed_after_the_second_row
    with pytest.raises(TimeoutError):
        exports.run_export_chunk(officer.agency_id, job.export_id, deps=xd, time_left=budget(100))
    xd.exports.save_job = real_save
    stopped = xd.exports.get_job(officer.agency_id, job.export_id)
    assert stopped.items_done == 1 and stopped.status is ExportStatus.RUNNING and xd.exports.row_writes == 2
    done = exports.run_export_chunk(officer.agency_id, job.export_id, deps=xd, time_left=budget(100))
    assert done.status is ExportStatus.DONE and done.items_done == 3 and len(xd.exports.rows(job.export_id)) == 3
    assert len(xd.storage.hashed) == 4 and xd.exports.row_writes == 4  # the second file twice, nothing else
    assert len(xd.storage.buckets["agency-archive"]) == 5  # its copy overwrote itself


def test_progress_counts_items_and_bytes_as_it_goes(officer, xd):
    xd.storage.create_bucket("agency-archive")
    evidence(xd, officer.agency_id, b"12345", b"123", None)
    job = start(officer, xd)
    xd.queue.take()
    seen = []
    for _ in range(8):
        current = exports.run_export_chunk(officer.agency_id, job.export_id, deps=xd, time_left=budget(1))
        seen.append((current.phase, current.items_done, current.items_total, current.bytes_done))
    assert (ExportPhase.COPYING, 0, 3, 0) in seen and (ExportPhase.COPYING, 2, 3, 8) in seen
    assert seen[-1] == (ExportPhase.FINISHED, 3, 3, 8)
    assert current.counts == {"verified": 2, "not_received": 1}


def test_a_sha_mismatch_is_flagged_audited_and_the_export_goes_on(officer, xd, deps):
    xd.storage.create_bucket("agency-archive")
    bad = evidence(xd, officer.agency_id, b"tampered", sha="0" * 64)
    evidence(xd, officer.agency_id, b"fine", at=START - 2 * DAY)
    job = finished(officer, xd, start(officer, xd))
    assert job.status is ExportStatus.DONE and job.counts == {"mismatch": 1, "verified": 1}
    (row,) = [r for r in manifest(xd)["rows"] if r["integrity"] == "mismatch"]
    assert row["sha256"] == "0" * 64 and row["sha256_on_export"] == hashlib.sha256(b"tampered").hexdigest()
    assert row["exported"] is True  # the agency gets what we hold, flagged
    (failure,) = [e for e in deps.audit.entries(officer.agency_id) if e.outcome == "integrity_failed"]
    assert failure.target == f"file:{next(iter(bad.files))}" and failure.details["export_id"] == job.export_id


def test_files_never_received_are_listed_without_a_copy(officer, xd):
    xd.storage.create_bucket("agency-archive")
    evidence(xd, officer.agency_id, b"got it", None)
    finished(officer, xd, start(officer, xd))
    rows = sorted(manifest(xd)["rows"], key=lambda r: r["integrity"])
    assert [(r["integrity"], r["exported"], r["target_key"] is None) for r in rows] == [
        ("not_received", False, True), ("verified", True, False)]
    assert len(xd.storage.buckets["agency-archive"]) == 3  # one file and two manifests


def test_a_refusing_target_fails_the_job_with_a_clear_reason_and_a_retry_completes_it(officer, xd, deps):
    evidence(xd, officer.agency_id, b"a", b"b")
    job = finished(officer, xd, start(officer, xd))
    assert job.status is ExportStatus.FAILED and job.error_code == "NoSuchBucket"
    assert "agency-archive" in job.error and "NoSuchBucket" in job.error and "retry" in job.error
    xd.storage.create_bucket("agency-archive")
    xd.storage.refuse["agency-archive"] = "AccessDenied"
    job = finished(officer, xd, exports.retry_export(officer, job.export_id, deps=xd))
    assert job.status is ExportStatus.FAILED and "docs/EXPORT.md" in job.error and "s3:PutObject" in job.error
    del xd.storage.refuse["agency-archive"]
    job = finished(officer, xd, exports.retry_export(officer, job.export_id, deps=xd))
    assert job.status is ExportStatus.DONE and job.error is None and len(manifest(xd)["rows"]) == 2
    actions = deps.audit.actions(officer.agency_id)
    assert actions.count("export.failed") == 2 and actions[-1] == "export.completed"


def test_only_a_failed_or_stalled_export_can_be_retried(officer, xd, clock):
    xd.storage.create_bucket("agency-archive")
    job = start(officer, xd)
    with pytest.raises(Conflict):
        exports.retry_export(officer, job.export_id, deps=xd)  # running, and recently moved
    clock.advance(minutes=25)  # its queue message was lost: nothing moved it since
    assert exports.retry_export(officer, job.export_id, deps=xd).status is ExportStatus.RUNNING
    done = finished(officer, xd, job)
    with pytest.raises(Conflict):
        exports.retry_export(officer, done.export_id, deps=xd)


def test_two_concurrent_chunk_runs_cannot_both_advance_a_job(officer, xd):
    xd.storage.create_bucket("agency-archive")
    evidence(xd, officer.agency_id, b"a", b"b", b"c")
    job = start(officer, xd)
    xd.queue.take()
    checks = itertools.count()

    def first_run_clock():  # in the middle of the first run, a second run takes the job over
        if next(checks) == 3:
            exports.run_export_chunk(officer.agency_id, job.export_id, deps=xd, time_left=budget(2))
        return 900.0

    body = json.dumps({"agency_id": officer.agency_id, "export_id": job.export_id})
    assert exports.handle_chunk_message(body, deps=xd, time_left=first_run_clock) is None  # lost: dropped
    assert xd.queue.messages == []
    exports.run_export_chunk(officer.agency_id, job.export_id, deps=xd, time_left=budget(100))
    assert len(xd.exports.rows(job.export_id)) == 3


def test_download_links_are_signed_on_demand_and_each_view_is_audited(officer, xd, deps):
    sub = evidence(xd, officer.agency_id, b"a", b"b", None)
    job = start(officer, xd, {"type": "download_links"})
    assert exports.get_export(officer, job.export_id, deps=xd).downloads is None  # not done yet
    finished(officer, xd, job)
    view = exports.get_export(officer, job.export_id, deps=xd)
    assert view.job.status is ExportStatus.DONE and view.downloads.expires_in == 300
    assert {f.file_id for f in view.downloads.files} == {f.file_id for f in sub.files.values() if f.sha256}
    base = f"exports/{officer.agency_id}/{job.export_id}/manifest"
    assert base + ".json" in view.downloads.manifest_json and f"{base}.json" in xd.storage.blobs.objects
    assert "https://" not in repr(xd.exports.jobs) + repr(xd.exports.manifests)  # URLs are never stored
    assert deps.audit.actions(officer.agency_id)[-1] == "export.downloaded"
    body = view.body()
    assert body["filter"] == {"case_ref": None, "from": None, "to": None} and "cursor" not in body


def test_download_links_come_in_pages(officer, xd):
    evidence(xd, officer.agency_id, *[bytes([n]) for n in range(5)])
    job = finished(officer, xd, start(officer, xd, {"type": "download_links"}))
    first = exports.get_export(officer, job.export_id, deps=xd, limit=3).downloads
    rest = exports.get_export(officer, job.export_id, deps=xd, cursor=first.next_cursor, limit=3).downloads
    assert len(first.files) == 3 and len(rest.files) == 2 and rest.next_cursor is None
    with pytest.raises(InvalidInput):
        exports.get_export(officer, job.export_id, deps=xd, cursor="ROW#../x")


def test_another_agency_gets_not_found(officer, xd):
    job = start(officer, xd, {"type": "download_links"})
    stranger = Principal(agency_id=ids.new_id(START), role=Role.AGENCY_ADMIN, key_id="k")
    for call in (exports.get_export, exports.retry_export):
        with pytest.raises(NotFound):
            call(stranger, job.export_id, deps=xd)
    with pytest.raises(NotFound):
        exports.get_export(officer, "../" + job.export_id, deps=xd)


def test_the_manifest_csv_has_a_header_and_one_row_per_file(officer, xd):
    xd.storage.create_bucket("agency-archive")
    sub = evidence(xd, officer.agency_id, b"a", b"b", None)
    xd.submissions.items[(officer.agency_id, sub.submission_id)].files[min(sub.files)].caption = "=HYPERLINK(1)"
    finished(officer, xd, start(officer, xd))
    table = list(csv.DictReader(io.StringIO(xd.storage.buckets["agency-archive"]["manifest.csv"].body.decode())))
    assert tuple(table[0]) == COLUMNS and len(table) == 3
    assert {r["file_id"] for r in table} == set(sub.files) and {r["review_state"] for r in table} == {"pending"}
    assert "'=HYPERLINK(1)" in {r["caption"] for r in table}  # a spreadsheet will not run it
    assert "=HYPERLINK(1)" in {r["caption"] for r in manifest(xd)["rows"]}


def test_the_manifest_summarises_each_files_custody_from_the_audit_log(officer, xd, deps):
    xd.storage.create_bucket("agency-archive")
    sub = evidence(xd, officer.agency_id, b"a")
    file_id = next(iter(sub.files))
    deps.audit.append(officer.agency_id, at=START, actor="system:ingest", action="evidence.recorded",
                      target=f"file:{file_id}")
    deps.audit.append(officer.agency_id, at=START, actor="citizen", action="submission.completed",
                      target=f"submission:{sub.submission_id}")
    finished(officer, xd, start(officer, xd))
    (row,) = manifest(xd)["rows"]
    assert (row["custody_events"], row["custody_last_action"]) == (2, "submission.completed")


def test_an_export_covers_what_existed_when_it_started(officer, xd, clock):
    xd.storage.create_bucket("agency-archive")
    evidence(xd, officer.agency_id, b"before")
    job = start(officer, xd)
    clock.advance(minutes=1)
    evidence(xd, officer.agency_id, b"after", at=clock.now())
    assert finished(officer, xd, job).items_total == 1


def test_starting_an_export_is_audited_and_queues_its_first_chunk(officer, xd, deps):
    job = start(officer, xd)
    assert xd.queue.messages == [(officer.agency_id, job.export_id)]
    entry = list(deps.audit.entries(officer.agency_id))[-1]
    assert entry.action == "export.started" and entry.details["target"]["bucket"] == "agency-archive"


def test_the_evidence_bucket_itself_is_never_a_target(officer, xd):
    with pytest.raises(InvalidInput):
        start(officer, xd, {"type": "bucket", "bucket": "evidence"})


@pytest.mark.parametrize("body", [
    {"target": {"type": "bucket", "bucket": "Upper-Case"}},
    {"target": {"type": "bucket", "bucket": "ab"}},
    {"target": {"type": "bucket", "bucket": "a" * 64}},
    {"target": {"type": "bucket", "bucket": "my..bucket"}},
    {"target": {"type": "bucket", "bucket": "192.168.1.10"}},
    {"target": {"type": "bucket", "bucket": "-leading"}},
    {"target": {"type": "bucket", "bucket": "ok-bucket", "prefix": "/abs"}},
    {"target": {"type": "bucket", "bucket": "ok-bucket", "prefix": "a/../b"}},
    {"target": {"type": "bucket", "bucket": "ok-bucket", "prefix": "p" * 201}},
    {"target": {"type": "bucket", "bucket": "ok-bucket", "prefix": "a//b"}},
    {"target": {"type": "ftp"}},
    {"target": {"type": "download_links", "bucket": "x"}},
    {"target": {"type": "download_links"}, "from": "2024-02-01T00:00:00Z", "to": "2024-01-01T00:00:00Z"},
    {"target": {"type": "download_links"}, "from": "2024-01-01T00:00:00"},  # no time zone
    {"target": {"type": "download_links"}, "from": 1704067200},
    {"target": {"type": "download_links"}, "case_ref": "bad case"},
    {"target": {"type": "download_links"}, "surprise": 1},
    {},
])
def test_the_start_command_refuses_what_s3_or_the_rules_would_not_take(body):
    with pytest.raises(ValueError):
        StartExport.model_validate(body)


def test_the_start_command_takes_a_bucket_a_prefix_and_a_date_range():
    cmd = StartExport.model_validate({
        "case_ref": "C-1", "from": "2024-01-01T00:00:00Z", "to": "2024-02-01T00:00:00+01:00",
        "target": {"type": "bucket", "bucket": "pd.exports-2024", "prefix": "cases/2024/"}})
    assert cmd.target.prefix == "cases/2024" and cmd.date_from == datetime(2024, 1, 1, tzinfo=timezone.utc)
    assert cmd.export_filter().case_ref == "C-1"


def test_a_malformed_or_unknown_chunk_message_is_dropped(xd):
    assert exports.handle_chunk_message("not json", deps=xd, time_left=budget(5)) is None
    unknown = json.dumps({"agency_id": ids.new_id(START), "export_id": ids.new_id(START)})
    assert exports.handle_chunk_message(unknown, deps=xd, time_left=budget(5)) is None
    assert xd.queue.messages == []
