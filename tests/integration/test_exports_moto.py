"""Exports on the local stack (moto over HTTP, tables and evidence bucket from infra/template.yaml):
hundreds of files exported through the SQS chunk loop to a second bucket and re-hashed there; a
bucket that refuses (a Deny-all policy, or no bucket at all) fails the job, and a retry after the
fix completes it; the DynamoDB repository keeps the same contract as the in-memory fake."""
from __future__ import annotations

import hashlib
import itertools
import json
import os
import secrets
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import boto3
import pytest
import requests

from chalicelib.adapters.clock import SystemClock
from chalicelib.adapters.dynamo_audit import DynamoAuditLog
from chalicelib.adapters.dynamo_exports import DynamoExports
from chalicelib.adapters.dynamo_shares import DynamoShares
from chalicelib.adapters.dynamo_submissions import DynamoSubmissions
from chalicelib.adapters.s3_exports import S3ExportStorage, SqsJobQueue
from chalicelib.domain import audit, ids, links
from chalicelib.domain.errors import Conflict, NotFound
from chalicelib.domain.exports import (
    DownloadLinks,
    ExportFilter,
    ExportJob,
    ExportStatus,
    Integrity,
    ManifestRow,
    StartExport,
)
from chalicelib.domain.models import EvidenceFile, FileStatus, Origin, Principal, Role, Submission
from chalicelib.services import exports
from chalicelib.services.exports import ExportDeps
from tests.export_fakes import MemoryExports

pytestmark = pytest.mark.integration
NOW = datetime.now(timezone.utc)


@pytest.fixture(scope="module")
def xd(stack) -> ExportDeps:
    db, sqs = boto3.client("dynamodb"), boto3.client("sqs")
    queue_url = sqs.create_queue(QueueName=f"exports-test-{secrets.token_hex(4)}")["QueueUrl"]
    table, bucket = os.environ["TABLE_NAME"], os.environ["EVIDENCE_BUCKET"]
    inbox = os.environ["AUDIT_INBOX_TABLE_NAME"]
    return ExportDeps(clock=SystemClock(), exports=DynamoExports(db, table, inbox),
                      submissions=DynamoSubmissions(db, table, inbox),
                      audit=DynamoAuditLog(db, os.environ["AUDIT_TABLE_NAME"], inbox, table),
                      storage=S3ExportStorage(boto3.client("s3"), bucket), queue=SqsJobQueue(sqs, queue_url),
                      evidence_bucket=bucket, shares=DynamoShares(db, table, inbox))


def chained(xd, agency_id):
    """The agency's entries once the sequencer has chained what waits (run here, as the stream would)."""
    while xd.audit.chain_waiting(agency_id):
        pass
    return list(xd.audit.entries(agency_id))


@pytest.fixture
def agency() -> Principal:
    return Principal(agency_id=ids.new_id(NOW), role=Role.AGENCY_ADMIN, key_id="export-test")


def seed(xd, agency_id, case_ref, contents, *, at, bad_sha=False, unreceived=0):
    """One submission, its files already verified and their bytes put straight into the evidence
    bucket under their keys (what an upload and the ingest handler leave behind)."""
    s3, sid = boto3.client("s3"), ids.new_id(at)
    files = {}
    for n, data in enumerate(contents + [None] * unreceived):
        fid = ids.new_id(at)
        key = links.object_key(agency_id, case_ref, sid, fid)
        files[fid] = EvidenceFile(file_id=fid, name=f"clip {n}.jpg", size=len(data or b"x"), content_type="image/jpeg",
                                  key=key, declared_at=at)
        if data is not None:
            s3.put_object(Bucket=xd.evidence_bucket, Key=key, Body=data, ContentType="image/jpeg")
            sha = "0" * 64 if bad_sha and n == 0 else hashlib.sha256(data).hexdigest()
            files[fid] = files[fid].model_copy(update={"status": FileStatus.VERIFIED, "sha256": sha, "checked_at": at})
    submission = Submission(submission_id=sid, agency_id=agency_id, link_id=sid, case_ref=case_ref, created_at=at,
                            files=files)
    xd.submissions.open_submission(submission)
    return submission


def run_queue(xd, steps):
    """What the SQS-triggered Lambda does: take a message, run a chunk, delete the message."""
    sqs, chunks = boto3.client("sqs"), 0
    while messages := sqs.receive_message(QueueUrl=xd.queue._url, MaxNumberOfMessages=1).get("Messages"):
        calls = itertools.count()
        exports.handle_chunk_message(messages[0]["Body"], deps=xd,
                                     time_left=lambda: 900.0 if next(calls) < steps else 30.0)
        sqs.delete_message(QueueUrl=xd.queue._url, ReceiptHandle=messages[0]["ReceiptHandle"])
        chunks += 1
    return chunks


def start(agency, xd, target, **fields):
    return exports.start_export(agency, StartExport.model_validate({**fields, "target": target}), deps=xd)


def job_of(agency, xd, job):
    return xd.exports.get_job(agency.agency_id, job.export_id)


def test_a_hundred_and_twenty_files_export_in_chunks_and_rehash_equal_in_the_target_bucket(agency, xd):
    s3, target = boto3.client("s3"), f"agency-archive-{secrets.token_hex(4)}"
    s3.create_bucket(Bucket=target)

    def submission(n):  # 12 submissions of 10 files in 3 cases; one bad hash, one file never sent
        contents = [os.urandom(200 + n * 7 + k) for k in range(10)]
        seed(xd, agency.agency_id, f"CASE-{n % 3}", contents, at=NOW - timedelta(hours=n + 1), bad_sha=n == 4,
             unreceived=int(n == 5))

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(submission, range(12)))
    job = start(agency, xd, {"type": "bucket", "bucket": target, "prefix": "pd/2024"})
    chunks = run_queue(xd, steps=24)  # at least 5 chunks, each resuming where the last stopped
    done = job_of(agency, xd, job)
    assert done.status is ExportStatus.DONE and chunks >= 5 and done.chunks == chunks
    assert done.items_done == done.items_total == 121 and done.counts == {"verified": 119, "mismatch": 1,
                                                                          "not_received": 1}
    manifest = json.loads(s3.get_object(Bucket=target, Key="pd/2024/manifest.json")["Body"].read())
    copied = [r for r in manifest["rows"] if r["exported"]]
    assert len(manifest["rows"]) == 121 and len(copied) == 120 and manifest["counts"]["mismatch"] == 1
    for row in copied:
        body = s3.get_object(Bucket=target, Key=row["target_key"])["Body"].read()
        assert hashlib.sha256(body).hexdigest() == row["sha256_on_export"]
        assert row["integrity"] == "mismatch" or row["sha256_on_export"] == row["sha256"]
    listed = s3.list_objects_v2(Bucket=target, Prefix="pd/2024/CASE-")["KeyCount"]
    assert listed == 120
    tags = s3.get_object_tagging(Bucket=target, Key=copied[0]["target_key"])["TagSet"]
    assert tags == [{"Key": "citizen-evidence-agency", "Value": agency.agency_id}]
    csv_lines = s3.get_object(Bucket=target, Key="pd/2024/manifest.csv")["Body"].read().decode().splitlines()
    assert len(csv_lines) == 122
    failures = [e for e in chained(xd, agency.agency_id) if e.outcome == "integrity_failed"]
    assert len(failures) == 1


@pytest.mark.parametrize("refusal", ["deny_all_policy", "no_such_bucket"])
def test_a_refusing_bucket_fails_the_job_and_a_retry_after_the_fix_completes_it(agency, xd, refusal):
    s3, target = boto3.client("s3"), f"agency-refuses-{secrets.token_hex(4)}"
    seed(xd, agency.agency_id, "CASE-R", [b"one", b"two", b"three"], at=NOW - timedelta(hours=1))
    if refusal == "deny_all_policy":
        s3.create_bucket(Bucket=target)
        s3.put_bucket_policy(Bucket=target, Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
            "Sid": "DenyAll", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
            "Resource": [f"arn:aws:s3:::{target}", f"arn:aws:s3:::{target}/*"]}]}))
    job = start(agency, xd, {"type": "bucket", "bucket": target})
    run_queue(xd, steps=100)
    failed = job_of(agency, xd, job)
    reason = "AccessDenied" if refusal == "deny_all_policy" else "NoSuchBucket"
    assert failed.status is ExportStatus.FAILED and failed.error_code == reason
    assert failed.error.startswith(f"The bucket {target} refused the write ({reason})") and failed.items_done == 0
    if refusal == "deny_all_policy":
        s3.delete_bucket_policy(Bucket=target)
    else:
        s3.create_bucket(Bucket=target)
    exports.retry_export(agency, job.export_id, deps=xd)
    run_queue(xd, steps=100)
    done = job_of(agency, xd, job)
    assert done.status is ExportStatus.DONE and done.items_done == 3 and done.error is None
    assert s3.list_objects_v2(Bucket=target)["KeyCount"] == 5  # three files, two manifests
    actions = [e.action for e in chained(xd, agency.agency_id)]
    assert actions == ["export.started", "export.failed", "export.retried", "export.completed"]


def test_download_links_are_signed_on_demand_and_return_the_bytes(agency, xd):
    data = [b"\xff\xd8\xff" + os.urandom(500), b"\xff\xd8\xff" + os.urandom(900)]
    seed(xd, agency.agency_id, "CASE-D", data, at=NOW - timedelta(hours=1))
    job = start(agency, xd, {"type": "download_links"})
    run_queue(xd, steps=100)
    view = exports.get_export(agency, job.export_id, deps=xd)
    fetched = {requests.get(f.url, timeout=10).content for f in view.downloads.files}
    assert fetched == set(data)
    manifest = requests.get(view.downloads.manifest_json, timeout=10).json()
    assert manifest["export_id"] == job.export_id and manifest["counts"]["verified"] == 2
    other = Principal(agency_id=ids.new_id(NOW), role=Role.OFFICER, key_id="x")
    with pytest.raises(NotFound):
        exports.get_export(other, job.export_id, deps=xd)


@pytest.fixture(params=["memory", "dynamodb"])
def repo(request):
    if request.param == "memory":
        return MemoryExports()
    request.getfixturevalue("stack")
    return DynamoExports(boto3.client("dynamodb"), os.environ["TABLE_NAME"], os.environ["AUDIT_INBOX_TABLE_NAME"])


def test_the_export_repository_contract(repo):
    job = ExportJob(export_id=ids.new_id(NOW), agency_id=ids.new_id(NOW), requested_by="key:k", created_at=NOW,
                    updated_at=NOW, filter=ExportFilter(case_ref="C-1", date_from=NOW - timedelta(days=1)),
                    target=DownloadLinks(type="download_links"))
    repo.create_job(job)
    with pytest.raises(Conflict):
        repo.create_job(job)
    assert repo.get_job(job.agency_id, job.export_id) == job
    assert repo.get_job(ids.new_id(NOW), job.export_id) is None
    moved = repo.save_job(job.model_copy(update={"items_done": 1}), expected=ExportStatus.RUNNING)
    assert moved.version == 1 and repo.get_job(job.agency_id, job.export_id) == moved
    with pytest.raises(Conflict) as stale:
        repo.save_job(job.model_copy(update={"items_done": 2}), expected=ExportStatus.RUNNING)
    assert stale.value.code == "export_busy"
    with pytest.raises(Conflict):
        repo.save_job(moved, expected=ExportStatus.FAILED)
    rows = [_row(job.export_id, n) for n in range(5)]
    for row in [*reversed(rows), rows[0]]:  # the last one overwrites itself
        repo.put_row(row)
    assert repo.rows(job.export_id) == rows
    assert repo.rows(job.export_id, after=rows[1].row_key, limit=2) == rows[2:4]
    assert repo.rows(ids.new_id(NOW)) == []


def _row(export_id, n):
    return ManifestRow(export_id=export_id, submission_id="s" * 26, file_id=f"{n:026d}", case_ref="C-1", name="a.jpg",
                       size=3, content_type="image/jpeg", integrity=Integrity.VERIFIED, file_status="verified",
                       created_at=NOW, review_state="pending", source_key="k", sha256="a" * 64, bytes=3, exported=True)


def _logged(repo, agency_id):
    """The actions the agency's log holds, chained (as the sequencer would) for DynamoDB."""
    if isinstance(repo, MemoryExports):
        return repo.audit.actions(agency_id)
    log = DynamoAuditLog(boto3.client("dynamodb"), os.environ["AUDIT_TABLE_NAME"],
                         os.environ["AUDIT_INBOX_TABLE_NAME"], os.environ["TABLE_NAME"])
    while log.chain_waiting(agency_id):
        pass
    return [e.action for e in log.entries(agency_id)]


def test_a_shared_job_is_created_with_an_event_in_each_agencys_log_and_its_rows_keep_the_share(repo):
    recipient, owner = ids.new_id(NOW), ids.new_id(NOW)
    job = ExportJob(export_id=ids.new_id(NOW), agency_id=recipient, requested_by="key:k", created_at=NOW,
                    updated_at=NOW, filter=ExportFilter(), target=DownloadLinks(type="download_links"),
                    share_id=ids.new_id(NOW), shared_by_agency_id=owner)
    events = [audit.new_event(recipient, at=NOW, actor="key:k", action="export.started",
                              target=f"export:{job.export_id}"),
              audit.new_event(owner, at=NOW, actor="key:k", action="shared_export.started",
                              target=f"share:{job.share_id}")]
    repo.create_job(job, events=events)
    assert repo.get_job(recipient, job.export_id) == job and repo.get_job(owner, job.export_id) is None
    assert (_logged(repo, recipient), _logged(repo, owner)) == (["export.started"], ["shared_export.started"])
    with pytest.raises(Conflict):  # a second create records nothing in either log
        repo.create_job(job, events=events)
    assert (_logged(repo, recipient), _logged(repo, owner)) == (["export.started"], ["shared_export.started"])
    row = _row(job.export_id, 1).model_copy(update={"origin": Origin.SHARED, "shared_by_agency_id": owner,
                                                    "original_origin": Origin.AGENCY_CAPTURE, "review_state": None})
    repo.put_row(row)
    assert repo.rows(job.export_id) == [row]
