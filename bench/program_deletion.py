"""The improvement program's deletion run as its store grows: 10 due removal requests among N
program artifacts, N = 1,000 / 10,000 / 100,000, on moto in-process (tables and bucket shaped by
infra/template.yaml, an ECC KMS key). Counts the AWS calls one run makes and times it. The counts
should stay flat: open requests come from the due index and artifacts from their lookups, never a
scan of the program table.

    .venv/bin/python bench/program_deletion.py [--sizes 1000 10000 100000] [--due 10]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from dataclasses import MISSING, fields
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1")
os.environ.pop("AWS_ENDPOINT_URL", None)  # in-process moto only: never a running stack's server

import boto3  # noqa: E402
from moto import mock_aws  # noqa: E402

from bench import sweep_cost  # noqa: E402
from bench.sweep_cost import use_local_stack_shim  # noqa: E402
from chalicelib.adapters.dynamo_audit import DynamoAuditLog  # noqa: E402
from chalicelib.adapters.dynamo_codec import to_item  # noqa: E402
from chalicelib.adapters.dynamo_program import DynamoProgram  # noqa: E402
from chalicelib.adapters.dynamo_program_store import DynamoProgramStore  # noqa: E402
from chalicelib.adapters.dynamo_submissions import DynamoSubmissions  # noqa: E402
from chalicelib.adapters.kms_signer import KmsSigner  # noqa: E402
from chalicelib.adapters.memory_program_store import index_keys  # noqa: E402
from chalicelib.adapters.s3_program import S3ProgramMedia  # noqa: E402
from chalicelib.domain import audit, lineage  # noqa: E402
from chalicelib.domain.program import RemovalRequest  # noqa: E402
from chalicelib.services import program_deletion  # noqa: E402
from chalicelib.services.deps import Deps  # noqa: E402
from chalicelib.services.program_extraction import ProgramDeps, media_key  # noqa: E402

NOW = datetime(2022, 6, 1, 4, tzinfo=timezone.utc)
MAIN, INBOX, AUDIT, PROGRAM, BUCKET = "bench-main", "bench-inbox", "bench-audit", "bench-program", "bench-program-b"
AGENCIES = 50


class Clock:
    def now(self) -> datetime:
        return NOW


def create_resources() -> str:
    sweep_cost.create_resources({MAIN: "MainTable", AUDIT: "AuditTable", INBOX: "AuditInboxTable",
                                 PROGRAM: "ProgramTable"}, bucket=BUCKET)
    key = boto3.client("kms").create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")
    return str(key["KeyMetadata"]["KeyId"])


def populate(total: int, due: int) -> list[RemovalRequest]:
    """`total` artifacts over AGENCIES agencies, one source item each; the first `due` agencies ask
    for one item each to be removed (its artifact has a copy in the bucket and a derived child)."""
    db, s3, batch = boto3.client("dynamodb"), boto3.client("s3"), []

    def put(item: dict[str, Any]) -> None:
        batch.append({"PutRequest": {"Item": to_item(item)}})
        if len(batch) == 25:
            db.batch_write_item(RequestItems={PROGRAM: list(batch)})
            batch.clear()

    for n in range(total):
        agency, doomed = f"ag{n % AGENCIES:03d}", n < due
        made = _artifact(f"art{n}", agency, f"s{n}", media=doomed)
        for key in index_keys(made):
            put({"pk": key, "sk": f"ART#{made.artifact_id}"})
        put({"pk": f"ART#{made.artifact_id}", "sk": "LINEAGE", **made.model_dump(mode="json")})
        put({"pk": f"ART#{made.artifact_id}", "sk": "CONTENT", "records": "[]"})
        if doomed:
            s3.put_object(Bucket=BUCKET, Key=media_key(made.artifact_id), Body=b"stripped")
            child = _artifact(f"child{n}", agency, None, parent=made.artifact_id)
            for key in index_keys(child):
                put({"pk": key, "sk": f"ART#{child.artifact_id}"})
            put({"pk": f"ART#{child.artifact_id}", "sk": "LINEAGE", **child.model_dump(mode="json")})
    if batch:
        db.batch_write_item(RequestItems={PROGRAM: batch})
    requests = [RemovalRequest(request_id=f"req{n:03d}", agency_id=f"ag{n % AGENCIES:03d}", submission_ids=[f"s{n}"],
                               requested_at=NOW - timedelta(days=1), requested_by="key:bench",
                               due_on=(NOW + timedelta(days=29)).date()) for n in range(due)]
    repo = DynamoProgram(db, MAIN, INBOX)
    for request in requests:
        repo.add_removal(request, event=audit.new_event(request.agency_id, at=NOW, actor="bench",
                                                        action="program.removal_requested", target="r"))
    return requests


def _artifact(aid: str, agency: str, source: str | None, *, media: bool = False,
              parent: str | None = None) -> lineage.Lineage:
    return lineage.Lineage(artifact_id=aid, use_case_id="uc", use_case_version=1, technique="aggregate_counts",
                           agency_ids=[agency], sources=[f"{agency}/{source}"] if source else [],
                           parents=[parent] if parent else [], created_at=NOW - timedelta(days=3),
                           content_sha256="0" * 64, media_key=media_key(aid) if media else None, slot=aid)


def measure(total: int, due: int) -> dict[str, Any]:
    with mock_aws():
        key_id = create_resources()
        populate(total, due)
        db, s3, kms = boto3.client("dynamodb"), boto3.client("s3"), boto3.client("kms")
        calls: Counter[str] = Counter()
        for client in (db, s3, kms):
            client.meta.events.register("before-call.*.*", lambda model, **_: calls.update([
                f"{model.service_model.service_name}.{model.name}"]))
        given = {"clock": Clock(), "submissions": DynamoSubmissions(db, MAIN, INBOX),
                 "program": DynamoProgram(db, MAIN, INBOX), "audit": DynamoAuditLog(db, AUDIT, INBOX, MAIN)}
        base = Deps(**{f.name: None for f in fields(Deps) if f.default is MISSING} | given)
        deps = ProgramDeps(base=base, store=DynamoProgramStore(db, PROGRAM, INBOX, MAIN),
                           media=S3ProgramMedia(s3, BUCKET), signer=KmsSigner(kms, key_id))
        started = time.perf_counter()
        report = program_deletion.run(deps=deps)
        seconds = time.perf_counter() - started
        left = s3.list_object_versions(Bucket=BUCKET).get("Versions", [])
    done = sum(1 for r in report["requests"] if r["outcome"] == "done")
    deleted = sum(r["artifacts"] for r in report["requests"])
    return {"total": total, "done": done, "deleted": deleted, "versions_left": len(left), "calls": calls,
            "seconds": seconds}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--due", type=int, default=10)
    args = parser.parse_args(argv)
    use_local_stack_shim()
    print(f"{'items':>8} {'done':>5} {'deleted':>8} {'dynamodb':>9} {'s3':>4} {'kms':>4} {'scan':>5} "
          f"{'left':>5} {'seconds':>8}")
    for total in args.sizes:
        result = measure(total, args.due)
        calls: Counter[str] = result["calls"]
        by = {s: sum(v for k, v in calls.items() if k.startswith(f"{s}.")) for s in ("dynamodb", "s3", "kms")}
        print(f"{total:>8} {result['done']:>5} {result['deleted']:>8} {by['dynamodb']:>9} {by['s3']:>4} "
              f"{by['kms']:>4} {calls['dynamodb.Scan']:>5} {result['versions_left']:>5} {result['seconds']:>8.2f}")


if __name__ == "__main__":
    main()
