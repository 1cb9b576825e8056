"""Retention sweep cost as the table grows: 100 due submissions among N, N = 1,000 / 10,000 /
100,000. Counts the DynamoDB and S3 calls one sweep makes and times it, on moto in-process.
The counts should stay flat: the sweep reads the due-day index, never the table.

    .venv/bin/python bench/sweep_cost.py [--sizes 1000 10000 100000] [--due 100]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1")
os.environ.pop("AWS_ENDPOINT_URL", None)  # in-process moto only: never a running stack's server

import boto3  # noqa: E402
from moto import mock_aws  # noqa: E402

from chalicelib.adapters.dynamo_agencies import DynamoAgencies  # noqa: E402
from chalicelib.adapters.dynamo_audit import DynamoAuditLog  # noqa: E402
from chalicelib.adapters.dynamo_codec import to_item  # noqa: E402
from chalicelib.adapters.dynamo_holds import DynamoHolds  # noqa: E402
from chalicelib.adapters.dynamo_links import DynamoLinks  # noqa: E402
from chalicelib.adapters.dynamo_submissions import DynamoSubmissions  # noqa: E402
from chalicelib.adapters.s3_blobs import S3BlobStore  # noqa: E402
from chalicelib.domain import ids, links  # noqa: E402
from chalicelib.domain.models import (  # noqa: E402
    Agency,
    EvidenceFile,
    FileStatus,
    RetentionPolicy,
    Submission,
    SubmissionStatus,
)
from chalicelib.services import retention  # noqa: E402
from chalicelib.services.deps import Deps  # noqa: E402
from infra import cfn, moto_tx  # noqa: E402

NOW = datetime(2021, 6, 1, 12, tzinfo=timezone.utc)
TABLE, AUDIT, INBOX, BUCKET = "bench-main", "bench-audit", "bench-audit-inbox", "bench-evidence"


def use_local_stack_shim() -> None:
    """moto deep-copies every table a TransactWriteItems touches (to roll back on failure) and walks
    every item of a table for any Query, which would make this bench measure moto. The local stack's
    shim (infra/moto_tx.py: rollback of the touched items only, queries read their partition, GSIs
    through a map per index) is installed here too, so the figures are ours."""
    moto_tx.install()


class Clock:
    def now(self) -> datetime:
        return NOW


def create_resources(tables: dict[str, str] | None = None, bucket: str = BUCKET) -> None:
    """Tables shaped as the template's (name -> logical id) and a versioned bucket, in moto."""
    props = cfn.load()["Resources"]
    db = boto3.client("dynamodb")
    for name, logical in (tables or {TABLE: "MainTable", AUDIT: "AuditTable", INBOX: "AuditInboxTable"}).items():
        p = props[logical]["Properties"]
        extra = {"GlobalSecondaryIndexes": p["GlobalSecondaryIndexes"]} if "GlobalSecondaryIndexes" in p else {}
        db.create_table(TableName=name, BillingMode="PAY_PER_REQUEST", AttributeDefinitions=p["AttributeDefinitions"],
                        KeySchema=p["KeySchema"], **extra)
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})


def populate(agency: Agency, total: int, due: int) -> None:
    db, s3 = boto3.client("dynamodb"), boto3.client("s3")
    batch = []
    for n in range(total):
        is_due = n < due
        sid = ids.new_id(NOW - timedelta(days=60, seconds=n))
        fid = ids.new_id(NOW - timedelta(days=60))
        key = links.object_key(agency.agency_id, "CASE", sid, fid)
        submitted = NOW - timedelta(days=31 if is_due else 1)
        file = EvidenceFile(file_id=fid, name="a.jpg", size=5, content_type="image/jpeg", key=key,
                            declared_at=submitted, status=FileStatus.VERIFIED, sha256="0" * 64)
        sub = Submission(submission_id=sid, agency_id=agency.agency_id, link_id=sid, case_ref="CASE",
                         status=SubmissionStatus.SUBMITTED, created_at=submitted, submitted_at=submitted,
                         files={fid: file})
        sub = retention_schedule(sub, agency)
        item = {"pk": f"AGENCY#{agency.agency_id}", "sk": f"SUB#{sid}", **sub.model_dump(mode="json")}
        item |= {k: v for k, v in DynamoSubmissions._index_attributes(sub).items() if v is not None}
        batch.append({"PutRequest": {"Item": to_item(item)}})
        if is_due:
            s3.put_object(Bucket=BUCKET, Key=key, Body=b"12345")
        if len(batch) == 25:
            db.batch_write_item(RequestItems={TABLE: batch})
            batch = []
    if batch:
        db.batch_write_item(RequestItems={TABLE: batch})


def retention_schedule(sub: Submission, agency: Agency) -> Submission:
    from chalicelib.domain import retention as rules

    return rules.schedule(sub, agency.retention, NOW)


def measure(total: int, due: int) -> dict[str, object]:
    with mock_aws():
        create_resources()
        db, s3 = boto3.client("dynamodb"), boto3.client("s3")
        agency = Agency(agency_id=ids.new_id(NOW), name="Bench PD", created_at=NOW,
                        retention=RetentionPolicy(default_days=30))
        DynamoAgencies(db, TABLE, INBOX).create_agency(agency)
        populate(agency, total, due)
        calls: Counter[str] = Counter()
        for client in (db, s3):
            client.meta.events.register("before-call.*.*", lambda model, **_: calls.update([
                f"{model.service_model.service_name}.{model.name}"]))
        deps = Deps(clock=Clock(), agencies=DynamoAgencies(db, TABLE, INBOX), links=DynamoLinks(db, TABLE, INBOX),
                    submissions=DynamoSubmissions(db, TABLE, INBOX), holds=DynamoHolds(db, TABLE, INBOX),
                    audit=DynamoAuditLog(db, AUDIT, INBOX, TABLE), blobs=S3BlobStore(s3, BUCKET), sms=None,  # type: ignore[arg-type]
                    email=None, access_requests=None, licenses=None, shares=None,  # type: ignore[arg-type]
                    max_upload_bytes=1, program=None, program_notices=None, portals=None, counters=None)  # type: ignore[arg-type]
        deps.submissions.set_last_swept_day((NOW - timedelta(days=1)).date())  # a sweep ran yesterday
        started = time.perf_counter()
        report = retention.sweep(deps=deps)
        seconds = time.perf_counter() - started
    return {"total": total, "report": report, "calls": calls, "seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--due", type=int, default=100)
    args = parser.parse_args()
    use_local_stack_shim()
    print(f"{'items':>8} {'deleted':>8} {'dynamodb':>9} {'s3':>5} {'query':>6} {'scan':>5} {'seconds':>8}")
    for total in args.sizes:
        result = measure(total, args.due)
        calls: Counter[str] = result["calls"]  # type: ignore[assignment]
        dynamo = sum(v for k, v in calls.items() if k.startswith("dynamodb."))
        s3 = sum(v for k, v in calls.items() if k.startswith("s3."))
        print(f"{total:>8} {result['report']['deleted']:>8} {dynamo:>9} {s3:>5} {calls['dynamodb.Query']:>6} "  # type: ignore[index]
              f"{calls['dynamodb.Scan']:>5} {result['seconds']:>8.2f}")


if __name__ == "__main__":
    main()
