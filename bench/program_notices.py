"""The change-notice run's cost: S confirmed subscribers, N use cases announced today, one run and
then the same run again (the next day's, or a retry). Counts the DynamoDB calls and emails of each
run and times them, on moto in-process. The first run sends N x S emails, each with one claim
transaction and one outcome update; the rerun reads the use cases and each notice's done marker
and sends nothing (seconds are moto's, not DynamoDB's: compare the counts).

    .venv/bin/python bench/program_notices.py [--subscribers 10 100 1000] [--notices 3]
"""
from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import boto3  # noqa: E402
from moto import mock_aws  # noqa: E402

from bench.sweep_cost import (  # noqa: E402
    AUDIT,
    INBOX,
    NOW,
    TABLE,
    Clock,
    create_resources,
    use_local_stack_shim,
)
from chalicelib.adapters.dynamo_agencies import DynamoAgencies  # noqa: E402
from chalicelib.adapters.dynamo_audit import DynamoAuditLog  # noqa: E402
from chalicelib.adapters.dynamo_program import DynamoProgram  # noqa: E402
from chalicelib.adapters.dynamo_program_notices import DynamoProgramNotices  # noqa: E402
from chalicelib.domain import audit, ids  # noqa: E402
from chalicelib.domain.models import OPERATOR_AGENCY, Principal, Role  # noqa: E402
from chalicelib.domain.program_commands import UseCaseBody  # noqa: E402
from chalicelib.domain.program_notices import Subscription, SubscriptionState  # noqa: E402
from chalicelib.services import program_notices, program_operator  # noqa: E402
from chalicelib.services.deps import Deps  # noqa: E402

OP = Principal(agency_id=OPERATOR_AGENCY, role=Role.OPERATOR, key_id="bench")


class Outbox:
    def __init__(self) -> None:
        self.sent = 0

    def send_email(self, to: str, subject: str, text: str) -> str:
        self.sent += 1
        return str(self.sent)


def world(subscribers: int, notices: int) -> tuple[Deps, Outbox]:
    db, outbox = boto3.client("dynamodb"), Outbox()
    deps = Deps(clock=Clock(), agencies=DynamoAgencies(db, TABLE, INBOX), links=None, submissions=None,  # type: ignore[arg-type]
                audit=DynamoAuditLog(db, AUDIT, INBOX, TABLE), holds=None, access_requests=None,  # type: ignore[arg-type]
                licenses=None, shares=None, blobs=None, sms=None, email=outbox, max_upload_bytes=1,  # type: ignore[arg-type]
                program=DynamoProgram(db, TABLE, INBOX), program_notices=DynamoProgramNotices(db, TABLE, INBOX),
                portals=None, counters=None)  # type: ignore[arg-type]
    for n in range(subscribers):
        made = Subscription(subscription_id=ids.new_id(NOW), email=f"reader{n}@example.org", created_at=NOW,
                            confirm_by=NOW + timedelta(hours=72))
        deps.program_notices.add_subscription(made, ids.digest(ids.new_token()), event=_event())
        confirmed = made.model_copy(update={"state": SubscriptionState.CONFIRMED,
                                            "confirmed_at": NOW - timedelta(hours=1)})
        deps.program_notices.move_subscription(confirmed, SubscriptionState.PENDING, event=_event())
    for n in range(notices):
        body = {"title": f"Use {n}", "purpose": "p", "data_types": ["video"], "technique": "t", "retention": "r"}
        case = program_operator.create_use_case(OP, UseCaseBody.model_validate(body), deps=deps)
        program_operator.announce_use_case(OP, case.use_case_id, deps=deps)
    return deps, outbox


def _event() -> audit.AuditEvent:
    return audit.new_event(OPERATOR_AGENCY, at=NOW, actor="public", action="bench", target="bench")


def timed_run(deps: Deps, outbox: Outbox) -> tuple[dict[str, object], Counter[str], int, float]:
    calls: Counter[str] = Counter()
    handler = lambda model, **_: calls.update([model.name])  # noqa: E731
    client = deps.program_notices._db  # type: ignore[attr-defined]  # the client the adapters share
    client.meta.events.register("before-call.dynamodb.*", handler)
    before, started = outbox.sent, time.perf_counter()
    report = program_notices.run("https://bench.example/api", deps=deps)
    seconds = time.perf_counter() - started
    client.meta.events.unregister("before-call.dynamodb.*", handler)
    return report, calls, outbox.sent - before, seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--subscribers", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--notices", type=int, default=3)
    args = parser.parse_args()
    use_local_stack_shim()
    print(f"{'subs':>6} {'notices':>7} {'run':>6} {'emails':>7} {'dynamodb':>9} {'transact':>9} {'query':>6} "
          f"{'scan':>5} {'seconds':>8}")
    for subscribers in args.subscribers:
        with mock_aws():
            create_resources()
            deps, outbox = world(subscribers, args.notices)
            for label in ("first", "again"):
                _, calls, emails, seconds = timed_run(deps, outbox)
                print(f"{subscribers:>6} {args.notices:>7} {label:>6} {emails:>7} {sum(calls.values()):>9} "
                      f"{calls['TransactWriteItems']:>9} {calls['Query']:>6} {calls['Scan']:>5} {seconds:>8.2f}")


if __name__ == "__main__":
    main()
