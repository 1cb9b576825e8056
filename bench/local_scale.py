"""Per-operation latency on the local stack (moto server + template + chalice local, over HTTP) as
the stored data grows: 1,000 / 10,000 / 100,000 submissions already in the main table, and as many
entries in the audit table. Prints median and p95 per operation and the memory of this process,
which is the moto server's (ThreadedMotoServer runs in-process; chalice local is a child process
and not counted). Asserts nothing: tests/integration/test_bench_scripts.py runs it --quick.

    .venv/bin/python bench/local_scale.py [--sizes 1000 10000 100000] [--ops 50] [--quick] [--shim off]

Seeding goes straight into moto's tables in this process (Table.put_item, no HTTP): 100,000 items
through batch_write_item over HTTP take minutes, this takes seconds. The items are the shapes the
adapters write (a submission per item, with its index attributes); the audit filler is keyed by
the audit table's own key schema, in a partition of its own.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from infra import moto_tx  # noqa: E402
from infra.local_stack import ACCOUNT, REGION, LocalStack  # noqa: E402

OPERATIONS = ("create_link", "sign_uploads", "audited_read", "retention_sweep")


def memory_mb() -> tuple[float, float]:
    """(VmRSS, VmHWM) of this process in MB: the moto server's data lives here."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def percentile(samples: list[float], pct: int) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))]


class Seeder:
    """Grows the stored data straight in moto's backend (this process hosts the server)."""

    def __init__(self, agency_id: str) -> None:
        from moto.dynamodb.models import dynamodb_backends

        backend = dynamodb_backends[ACCOUNT][REGION]
        self.agency_id, self.count = agency_id, 0
        self.main = backend.get_table(os.environ["TABLE_NAME"])
        audit_name = os.environ.get("AUDIT_TABLE_NAME", "")
        self.audit = backend.tables.get(audit_name)
        self.now = datetime.now(timezone.utc)
        self.submission_ids: list[str] = []

    def grow(self, total: int) -> None:
        for n in range(self.count, total):
            self.main.put_item(self.submission_item(n))
            if self.audit is not None:
                self.audit.put_item(self.audit_filler(n))
        self.count = max(self.count, total)

    def submission_item(self, n: int, *, due: datetime | None = None) -> dict[str, Any]:
        from chalicelib.adapters.dynamo_codec import to_item
        from chalicelib.adapters.dynamo_submissions import DynamoSubmissions

        submission = self.submission(n, due)
        self.submission_ids.append(submission.submission_id)
        data = {"pk": f"AGENCY#{self.agency_id}", "sk": f"SUB#{submission.submission_id}",
                "gsi1pk": f"CASE#{self.agency_id}#SEED-{n % 500}", "gsi1sk": f"SUB#{submission.submission_id}",
                **submission.model_dump(mode="json")}
        index = DynamoSubmissions._index_attributes(submission)
        return to_item(data | {k: v for k, v in index.items() if v is not None})

    def submission(self, n: int, due: datetime | None) -> Any:
        from chalicelib.domain import ids, links
        from chalicelib.domain.models import EvidenceFile, FileStatus, Submission, SubmissionStatus

        at = self.now - timedelta(days=300, seconds=-n)
        sid, fid = ids.new_id(at), ids.new_id(at)
        key = links.object_key(self.agency_id, f"SEED-{n % 500}", sid, fid)
        file = EvidenceFile(file_id=fid, name="photo.jpg", size=2048, content_type="image/jpeg", key=key,
                            declared_at=at, status=FileStatus.VERIFIED, sha256="0" * 64)
        retain = due or self.now + timedelta(days=30 + n % 365)  # spread over a year of due days
        return Submission(submission_id=sid, agency_id=self.agency_id, link_id=sid, case_ref=f"SEED-{n % 500}",
                          status=SubmissionStatus.SUBMITTED, created_at=at, submitted_at=at, files={fid: file},
                          retain_until=retain, sweep_day=retain.date())

    def audit_filler(self, n: int) -> dict[str, Any]:
        """An entry-sized item in a partition no agency uses, keyed by the table's own schema."""
        table, hash_type = self.audit, self.audit.hash_key_type
        item = {table.hash_key_attr: {hash_type: "BENCH-FILLER" if hash_type == "S" else "0"},
                "payload": {"S": "x" * 300}}
        if table.range_key_attr:
            kind = table.range_key_type
            item[table.range_key_attr] = {kind: str(n + 1) if kind == "N" else f"{n:09d}"}
        return item

    def one_due_now(self) -> None:
        """One submission due a minute ago, on today's due day: what each measured sweep deletes."""
        self.main.put_item(self.submission_item(self.count, due=self.now - timedelta(minutes=1)))
        self.submission_ids.pop()  # not one for the audited reads: the sweep deletes it
        self.count += 1


class Bench:
    def __init__(self, stack: LocalStack, seeder: Seeder) -> None:
        assert stack.seed
        self.stack, self.seeder, self.url = stack, seeder, stack.api_url
        self.officer = requests.Session()
        self.officer.headers["Authorization"] = f"Bearer {stack.seed.officer_key}"
        self.citizen = requests.Session()
        self.tokens: list[str] = []
        self.reads = 0

    def create_link(self) -> None:
        reply = self.officer.post(f"{self.url}/agency/citizen-links", json={"case_ref": "BENCH-1",
                                                                           "phone": "+15555550123"}, timeout=60)
        assert reply.status_code == 201, reply.text
        self.tokens.append(reply.json()["url"].rsplit("/", 1)[-1])

    def sign_uploads(self) -> None:
        token = self.tokens.pop()
        files = [{"name": "photo.jpg", "size": 2048, "content_type": "image/jpeg"}]
        reply = self.citizen.post(f"{self.url}/c/{token}/uploads", json={"files": files}, timeout=60)
        assert reply.status_code in (200, 201), reply.text

    def audited_read(self) -> None:
        ids = self.seeder.submission_ids
        self.reads += 1
        sid = ids[(self.reads * 7919) % len(ids)]  # spread over the stored submissions
        reply = self.officer.get(f"{self.url}/agency/submissions/{sid}", timeout=60)
        assert reply.status_code == 200, reply.text

    def retention_sweep(self) -> None:
        from chalicelib import bootstrap
        from chalicelib.services import retention

        report = retention.sweep(deps=bootstrap.deps())
        assert report["deleted"] == 1, report


def timed(run: Callable[[], None], before: Callable[[], None] | None, ops: int) -> list[float]:
    samples = []
    for _ in range(ops):
        if before:
            before()
        started = time.perf_counter()
        run()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def measure(bench: Bench, ops: int) -> dict[str, list[float]]:
    return {
        "create_link": timed(bench.create_link, None, ops),
        "sign_uploads": timed(bench.sign_uploads, None, ops),
        "audited_read": timed(bench.audited_read, None, ops),
        "retention_sweep": timed(bench.retention_sweep, bench.seeder.one_due_now, ops),
    }


def prepare_sweep() -> None:
    """Yesterday was swept: each measured sweep reads today's due partition only, as hourly ones do."""
    from chalicelib import bootstrap

    today = datetime.now(timezone.utc).date()
    bootstrap.deps().submissions.set_last_swept_day(today - timedelta(days=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--ops", type=int, default=50)
    parser.add_argument("--quick", action="store_true", help="sizes 50 and 200, 3 ops each (the suite's run)")
    parser.add_argument("--shim", choices=["on", "off"], default="on", help="off: moto's whole-table rollback copy")
    args = parser.parse_args()
    sizes, ops = ([50, 200], 3) if args.quick else (sorted(args.sizes), args.ops)
    (ROOT / ".local").mkdir(exist_ok=True)
    with LocalStack(log=lambda line: None, chalice_log=ROOT / ".local" / "bench-chalice.log") as stack:
        if args.shim == "off":
            moto_tx.uninstall()
        run(stack, sizes, ops, args.shim)


def run(stack: LocalStack, sizes: list[int], ops: int, shim: str) -> None:
    assert stack.seed
    seeder, bench = Seeder(stack.seed.agency_id), None
    prepare_sweep()
    print(f"local stack over HTTP, moto transaction shim {shim}, {ops} ops per operation; latency in ms; "
          "memory = this process (the in-process moto server), MB")
    print(f"{'stored':>8} {'seed s':>7} " + " ".join(f"{op + ' p50/p95':>24}" for op in OPERATIONS)
          + f" {'rss':>7} {'peak':>7} {'calls':>6}")
    for size in sizes:
        started = time.perf_counter()
        seeder.grow(size)
        seeded = time.perf_counter() - started
        bench = bench or Bench(stack, seeder)
        results = measure(bench, ops)
        rss, peak = memory_mb()
        cells = " ".join(f"{statistics.median(s):>11.1f} / {percentile(s, 95):>8.1f}" + " " * 2
                         for s in results.values())
        print(f"{size:>8} {seeded:>7.1f} {cells} {rss:>7.0f} {peak:>7.0f} {sum(map(len, results.values())):>6}",
              flush=True)


if __name__ == "__main__":
    main()
