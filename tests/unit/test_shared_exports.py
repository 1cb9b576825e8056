"""A recipient agency exports what another agency shared with it, over the fakes with a fixed clock:
the job is the recipient's, reads the owner's items through the share (its case or its one item),
re-checks the share at every step, writes rows that say `shared`, by whom and the original origin,
and is recorded in both logs; unknown, foreign, revoked and expired shares are refused with nothing
stored."""
# ruff: noqa: F811  (the fixtures are imported by name and taken as arguments)
from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import timedelta

import pytest
from pydantic import ValidationError

from chalicelib.domain.errors import InvalidInput, NotFound
from chalicelib.domain.exports import COLUMNS, ExportStatus, StartExport, manifest_keys
from chalicelib.domain.sharing import CreateShare
from chalicelib.services import exports, sharing
from tests.fakes import START
from tests.unit.test_citizen_link_service import JPEG
from tests.unit.test_exports import (
    DAY,
    budget,
    evidence,
    finished,
    manifest,
    start,
    xd,  # noqa: F401  (a fixture)
)
from tests.unit.test_sharing_service import (  # noqa: F401  (fixtures)
    actions,
    admin,
    other,
    reader,
    third,
    verified,
)

LINKS = {"type": "download_links"}


def share_with(admin, other, deps, **scope):
    return sharing.share(admin, CreateShare(recipient_agency_id=other.agency_id, **scope), deps=deps)


@pytest.fixture
def owned(officer, reader, xd, deps):
    """The owner's two items in CASE-1, one in CASE-2, and one of the recipient's own in CASE-1."""
    one = evidence(xd, officer.agency_id, b"first photo", b"second photo", at=START - 2 * DAY)
    two = evidence(xd, officer.agency_id, b"a capture", at=START - DAY)
    elsewhere = evidence(xd, officer.agency_id, b"another case", case_ref="CASE-2", at=START - DAY)
    evidence(xd, reader.agency_id, b"the recipient's own", at=START - DAY)
    return one, two, elsewhere


def test_a_recipient_exports_a_shared_case_to_download_links_read_through_the_share(
        officer, admin, other, reader, xd, deps, owned, clock):
    one, two, _ = owned
    made = share_with(admin, other, deps, case_ref="CASE-1")
    clock.advance(minutes=1)
    job = start(reader, xd, LINKS, share_id=made.share_id)
    assert (job.agency_id, job.share_id, job.shared_by_agency_id) == (other.agency_id, made.share_id,
                                                                      officer.agency_id)
    done = finished(reader, xd, job)
    assert done.status is ExportStatus.DONE and done.items_done == done.items_total == 3
    _, json_key, csv_key = manifest_keys(done)
    body = manifest_in_evidence(xd, json_key)
    assert (body["agency_id"], body["share_id"], body["shared_by_agency_id"]) == (
        other.agency_id, made.share_id, officer.agency_id)
    rows = body["rows"]
    recorded = {f.file_id: f.sha256 for s in (one, two) for f in s.files.values()}
    assert {r["file_id"]: r["sha256"] for r in rows} == recorded  # the owner's items only, this case only
    assert all(r["sha256_on_export"] == r["sha256"] and r["integrity"] == "verified" for r in rows)
    assert {(r["origin"], r["shared_by_agency_id"], r["original_origin"], r["review_state"]) for r in rows} == {
        ("shared", officer.agency_id, "citizen_link", None)}  # review stays the owner's
    table = list(csv.reader(io.StringIO(xd.storage.blobs.objects[csv_key][0].decode())))
    assert tuple(table[0]) == COLUMNS and {tuple(r[-3:]) for r in table[1:]} == {
        ("shared", officer.agency_id, "citizen_link")}

    view = exports.get_export(reader, job.export_id, deps=xd)
    assert {f.file_id for f in view.downloads.files} == set(recorded)
    signed = {key for key, _, _ in xd.storage.signed}
    assert {f.key for s in (one, two) for f in s.files.values()} <= signed  # the owner's objects, read in place
    mine, owners = actions(other.agency_id, deps), actions(officer.agency_id, deps)
    assert [a for a in mine if a.startswith("export.")] == ["export.started", "export.completed",
                                                             "export.downloaded"]
    assert [a for a in owners if "export" in a] == ["shared_export.started", "shared_export.downloaded"]
    started = {e.action: e for e in deps.audit.entries(officer.agency_id)}["shared_export.started"]
    assert started.target == f"share:{made.share_id}" and started.details["export_id"] == job.export_id
    assert started.details["recipient_agency_id"] == other.agency_id
    assert next(e for e in deps.audit.entries(other.agency_id) if e.action == "export.started").details[
        "share_id"] == made.share_id


def manifest_in_evidence(xd, key):
    return json.loads(xd.storage.blobs.objects[key][0])


def test_a_one_item_share_exports_that_item_only_and_to_the_recipients_bucket(
        officer, admin, other, reader, xd, deps, owned, clock):
    one, two, _ = owned
    made = share_with(admin, other, deps, submission_id=two.submission_id)
    clock.advance(minutes=1)
    xd.storage.create_bucket("shelbyville-archive")
    target = {"type": "bucket", "bucket": "shelbyville-archive", "prefix": "from-springfield"}
    done = finished(reader, xd, start(reader, xd, target, share_id=made.share_id, case_ref="CASE-1"))
    assert done.status is ExportStatus.DONE and done.items_total == 1
    row, = manifest(xd, "shelbyville-archive", "from-springfield/manifest.json")["rows"]
    file, = two.files.values()
    assert (row["submission_id"], row["origin"], row["sha256"]) == (two.submission_id, "shared", file.sha256)
    copied = xd.storage.buckets["shelbyville-archive"][row["target_key"]]
    assert copied.body == b"a capture" and copied.tags == {"citizen-evidence-agency": other.agency_id}


def test_date_filters_still_apply_and_a_case_filter_must_be_the_shares(
        officer, admin, other, reader, xd, deps, owned, clock):
    one, two, elsewhere = owned
    made = share_with(admin, other, deps, case_ref="CASE-1")
    clock.advance(minutes=1)
    done = finished(reader, xd, start(reader, xd, LINKS, share_id=made.share_id,
                                      **{"from": (START - DAY - timedelta(hours=1)).isoformat()}))
    rows = xd.exports.rows(done.export_id)
    assert {r.submission_id for r in rows} == {two.submission_id}
    for case_ref in ("CASE-2", "NO-SUCH-CASE"):
        with pytest.raises(InvalidInput) as refused:
            start(reader, xd, LINKS, share_id=made.share_id, case_ref=case_ref)
        assert refused.value.code == "case_not_in_share"
    single = share_with(admin, other, deps, submission_id=elsewhere.submission_id)
    with pytest.raises(InvalidInput):
        start(reader, xd, LINKS, share_id=single.share_id, case_ref="CASE-1")
    with pytest.raises(ValidationError):  # extra fields stay forbidden; origin is never taken from a body
        StartExport.model_validate({"share_id": made.share_id, "origin": "citizen_link", "target": LINKS})


def refused(principal, xd, deps, share_id, owner_id):
    def logs():
        return [actions(a, deps) for a in (principal.agency_id, owner_id)]

    jobs, queued, logged = dict(xd.exports.jobs), list(xd.queue.messages), logs()
    with pytest.raises(NotFound) as caught:
        start(principal, xd, LINKS, share_id=share_id)
    assert (xd.exports.jobs, xd.queue.messages, logs()) == (jobs, queued, logged)  # nothing stored
    return caught.value.code


def test_unknown_foreign_revoked_and_expired_shares_are_refused_with_nothing_stored(
        officer, admin, other, reader, third, xd, deps, owned, clock):
    made = share_with(admin, other, deps, case_ref="CASE-1")
    assert refused(reader, xd, deps, "0" * 26, officer.agency_id) == "share_not_found"
    assert refused(reader, xd, deps, "not-an-id", officer.agency_id) == "share_not_found"
    assert refused(third, xd, deps, made.share_id, officer.agency_id) == "share_not_found"  # not made with it
    assert refused(officer, xd, deps, made.share_id, officer.agency_id) == "share_not_found"  # the owner
    expiring = share_with(admin, other, deps, case_ref="CASE-1", until=START + DAY)
    clock.advance(days=1)
    assert refused(reader, xd, deps, expiring.share_id, officer.agency_id) == "share_expired"
    sharing.revoke(admin, made.share_id, deps=deps)
    assert refused(reader, xd, deps, made.share_id, officer.agency_id) == "share_revoked"


def test_a_revocation_mid_export_fails_the_job_and_a_retry_is_refused_while_revoked(
        officer, admin, other, reader, xd, deps, owned, clock):
    made = share_with(admin, other, deps, case_ref="CASE-1")
    clock.advance(minutes=1)
    job = start(reader, xd, LINKS, share_id=made.share_id)
    xd.queue.take()
    partial = exports.run_export_chunk(other.agency_id, job.export_id, deps=xd, time_left=budget(2))
    assert partial.status is ExportStatus.RUNNING and partial.items_done == 1  # counted, then one file
    sharing.revoke(admin, made.share_id, deps=deps)
    failed = exports.run_export_chunk(other.agency_id, job.export_id, deps=xd, time_left=budget(100))
    assert (failed.status, failed.error_code, failed.items_done) == (ExportStatus.FAILED, "share_revoked", 1)
    assert "revoked" in failed.error
    assert len(xd.storage.hashed) == 1  # nothing more was read through the share
    failure = [e for e in deps.audit.entries(other.agency_id) if e.action == "export.failed"]
    assert failure[0].details["reason"] == "share_revoked" and failure[0].outcome == "failed"
    with pytest.raises(NotFound) as again:
        exports.retry_export(reader, job.export_id, deps=xd)
    assert again.value.code == "share_revoked"
    assert xd.exports.get_job(other.agency_id, job.export_id).status is ExportStatus.FAILED


def test_an_expiry_mid_export_fails_the_job_with_share_expired(
        officer, admin, other, reader, xd, deps, owned, clock):
    made = share_with(admin, other, deps, case_ref="CASE-1", until=START + timedelta(hours=1))
    clock.advance(minutes=1)
    job = start(reader, xd, LINKS, share_id=made.share_id)
    clock.advance(hours=1)  # the share ends at its `until` instant exactly
    failed = finished(reader, xd, job)
    assert (failed.status, failed.error_code, failed.items_done) == (ExportStatus.FAILED, "share_expired", 0)


def test_a_finished_shared_export_withholds_its_urls_once_the_share_ends(
        officer, admin, other, reader, xd, deps, owned, clock):
    made = share_with(admin, other, deps, case_ref="CASE-1")
    clock.advance(minutes=1)
    job = finished(reader, xd, start(reader, xd, LINKS, share_id=made.share_id))
    sharing.revoke(admin, made.share_id, deps=deps)
    signed = len(xd.storage.signed)
    view = exports.get_export(reader, job.export_id, deps=xd)
    assert view.downloads is None and view.body()["downloads_withheld"]["code"] == "share_revoked"
    assert len(xd.storage.signed) == signed  # no URL was signed
    assert "export.downloaded" not in actions(other.agency_id, deps)
    assert "shared_export.downloaded" not in actions(officer.agency_id, deps)


def test_a_shared_export_hashes_the_pinned_version_not_a_later_one(
        officer, admin, other, reader, xd, deps, owned, clock):
    sub = verified(officer, deps, case_ref="CASE-3")  # through the real ingest: its version is pinned
    made = share_with(admin, other, deps, case_ref="CASE-3")
    clock.advance(minutes=1)
    file = next(iter(sub.files.values()))
    assert file.version_id
    xd.storage.blobs.put(file.key, b"posted again over the recorded file", "image/jpeg")  # a tampering attempt
    job = finished(reader, xd, start(reader, xd, LINKS, share_id=made.share_id))
    row, = xd.exports.rows(job.export_id)
    assert row.integrity.value == "verified" and row.sha256 == hashlib.sha256(JPEG).hexdigest() == file.sha256
    assert row.source_version == file.version_id and row.original_origin.value == "citizen_link"
