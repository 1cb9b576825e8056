"""Crash at every AWS call: each operation that changes evidence or custody is run once untouched,
then once per AWS call it makes, killed at that call (before it is sent, and again after it was
answered: the work done but the process dead), and run again. The final state and the chained
audit log must equal the untouched run's: nothing lost, nothing recorded twice, and the chain
verifies. Runs on the local stack's moto over HTTP, with the pump held so nothing else delivers."""
from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import boto3
import pytest
import requests

from chalicelib import bootstrap
from chalicelib.domain import audit
from chalicelib.domain.commands import (
    CompleteSubmission,
    CreateCitizenLink,
    DeclaredFile,
    PlaceHold,
    RequestUploads,
    ReviewSubmission,
    SetRetentionPolicy,
)
from chalicelib.domain.errors import NotFound
from chalicelib.domain.exports import StartExport
from chalicelib.domain.licensing import LicenseKind
from chalicelib.domain.models import Principal, Role
from chalicelib.services import agencies, citizen_links, citizen_uploads, custody, exports, ingest, retention, review

pytestmark = pytest.mark.integration
JPEG = b"\xff\xd8\xff\xe0" + b"\x02" * 700
SERVICES = ("dynamodb", "s3", "sns", "ses", "sqs")
READS = ("Get", "Query", "Scan", "Head", "List", "Describe")


class Killed(BaseException):
    """The process died here (BaseException: no handler of ours may swallow it)."""


class CallKiller:
    """Counts the AWS calls the clients make while armed, and kills the process at call `at`:
    before it is sent, or after its answer came back."""

    def __init__(self) -> None:
        self.armed, self.calls, self.at, self.after = False, 0, 0, False
        self.operations: list[str] = []
        for service in SERVICES:
            events = bootstrap.client(service).meta.events
            events.register("before-call.*.*", self._before)
            events.register("after-call.*.*", self._after)

    @contextlib.contextmanager
    def counting(self, *, at: int = 0, after: bool = False) -> Iterator[None]:
        self.armed, self.calls, self.at, self.after = True, 0, at, after
        self.operations = []
        try:
            yield
        finally:
            self.armed = False

    def _before(self, model: Any, **_: Any) -> None:
        if self.armed:
            self.calls += 1
            self.operations.append(model.name)
            if self.calls == self.at and not self.after:
                raise Killed(f"killed before call {self.calls}")

    def _after(self, **_: Any) -> None:
        if self.armed and self.calls == self.at and self.after:
            raise Killed(f"killed after call {self.calls}")


@dataclass
class Case:
    agency_id: str
    admin: Principal
    data: dict[str, Any]


@pytest.fixture(scope="module")
def killer(stack) -> Iterator[CallKiller]:
    with stack.local.paused():
        yield CallKiller()


def new_case(**extra: Any) -> Case:
    deps = bootstrap.deps()
    agency = agencies.create_agency("Crash PD", "US", license=LicenseKind.OSP7_PLUS, deps=deps)
    admin = Principal(agency_id=agency.agency_id, role=Role.AGENCY_ADMIN, key_id="crash-admin",
                      email="admin@crash.example")
    return Case(agency.agency_id, admin, dict(extra))


def uploaded(case: Case, case_ref: str = "CRASH-1") -> tuple[str, str, str, str]:
    """A link, one declared file and its bytes in the bucket, not yet ingested: (token, sid, key, version)."""
    deps = bootstrap.deps()
    _, url = citizen_links.send_citizen_link(case.admin, CreateCitizenLink(case_ref=case_ref, email="c@x.example"),
                                             page_base="http://x", deps=deps)
    token = url.rsplit("/", 1)[-1]
    sid, [(file, post)] = citizen_uploads.request_uploads(token, RequestUploads(files=[
        DeclaredFile(name="a.jpg", size=len(JPEG), content_type="image/jpeg")]), deps=deps)
    assert requests.post(post.url, data=post.fields, files={"file": ("a.jpg", JPEG)}, timeout=10).status_code == 201
    version = boto3.client("s3").head_object(Bucket=bootstrap.settings().evidence_bucket, Key=file.key)["VersionId"]
    return token, sid, file.key, version


def submitted(case: Case) -> str:
    deps = bootstrap.deps()
    token, sid, key, version = uploaded(case)
    ingest.ingest_object(key, version_id=version, deps=deps)
    citizen_uploads.complete(token, CompleteSubmission(), deps=deps)
    return sid


def chained(agency_id: str) -> list[tuple[str, str, str]]:
    """The agency's chained log, verified, as (action, kind of target, outcome)."""
    deps = bootstrap.deps()
    custody.sequence([agency_id], deps=deps)
    entries = list(deps.audit.entries(agency_id))
    assert audit.verify_chain(entries) == [] and deps.audit.waiting(agency_id) == 0
    return [(e.action, e.target.split(":")[0], e.outcome) for e in entries]


# --- the operations: setup (untouched), the operation, and what to compare --------------------------

def ingest_setup() -> Case:
    case = new_case()
    case.data["token"], case.data["sid"], case.data["key"], case.data["version"] = uploaded(case)
    return case


def ingest_run(case: Case) -> None:
    ingest.ingest_object(case.data["key"], version_id=case.data["version"], deps=bootstrap.deps())


def ingest_state(case: Case) -> Any:
    deps = bootstrap.deps()
    file = next(iter(deps.submissions.get_submission(case.agency_id, case.data["sid"]).files.values()))
    log = chained(case.agency_id)
    used = deps.agencies.get_agency(case.agency_id).used_bytes
    return file.status, file.sha256, file.version_id == case.data["version"], used, log


def sweep_setup() -> Case:
    case = new_case()
    retention.set_policy(case.admin, SetRetentionPolicy(default_days=1), deps=bootstrap.deps())
    case.data["sid"] = submitted(case)
    return case


def sweep_run(case: Case) -> None:
    later = datetime.now(timezone.utc) + timedelta(days=3)
    retention.sweep_one(case.agency_id, case.data["sid"], later, deps=bootstrap.deps())


def sweep_state(case: Case) -> Any:
    deps = bootstrap.deps()
    log = chained(case.agency_id)
    grave = deps.submissions.tombstone(case.agency_id, case.data["sid"])
    gone = deps.submissions.get_submission(case.agency_id, case.data["sid"]) is None
    prefix = f"agencies/{case.agency_id}/"
    left = boto3.client("s3").list_object_versions(Bucket=bootstrap.settings().evidence_bucket, Prefix=prefix)
    used = deps.agencies.get_agency(case.agency_id).used_bytes
    return gone, grave is not None, len(left.get("Versions", [])), used, log


def review_setup() -> Case:
    case = new_case()
    case.data["sid"] = submitted(case)
    return case


def review_run(case: Case) -> None:
    review.review_submission(case.admin, case.data["sid"], ReviewSubmission(decision="decline", reason="blurred"),
                             deps=bootstrap.deps())


def review_state(case: Case) -> Any:
    found = bootstrap.deps().submissions.get_submission(case.agency_id, case.data["sid"])
    return found.review.state, found.retain_until is None, chained(case.agency_id)


def hold_setup() -> Case:
    case = new_case()
    case.data["sid"] = submitted(case)
    return case


def hold_run(case: Case) -> None:
    retention.hold_case(case.admin, "CRASH-1", PlaceHold(reason="court order"), deps=bootstrap.deps())


def hold_state(case: Case) -> Any:
    held = bootstrap.deps().holds.case_hold(case.agency_id, "CRASH-1")
    return held is not None and held.reason, chained(case.agency_id)


def release_setup() -> Case:
    case = hold_setup()
    hold_run(case)
    return case


def release_run(case: Case) -> None:
    with contextlib.suppress(NotFound):  # a rerun after the release went through: already released
        retention.release_case(case.admin, "CRASH-1", deps=bootstrap.deps())


def link_setup() -> Case:
    return new_case()


def link_run(case: Case) -> None:
    citizen_links.send_citizen_link(case.admin, CreateCitizenLink(case_ref="LINK-1", phone="+15555550199"),
                                    page_base="http://x", deps=bootstrap.deps())


def link_state(case: Case) -> Any:
    """A retried creation makes a second link (the client asked twice); what must hold is that every
    link stored has its creation recorded, and every event names a stored link."""
    deps = bootstrap.deps()
    entries = list(deps.audit.entries(case.agency_id)) if chained(case.agency_id) else []
    created = {e.target.removeprefix("link:") for e in entries if e.action == "citizen_link.created"}
    stored = {item["sk"]["S"].removeprefix("LINK#") for item in boto3.client("dynamodb").query(
        TableName=bootstrap.settings().table_name, KeyConditionExpression="pk = :p AND begins_with(sk, :s)",
        ExpressionAttributeValues={":p": {"S": f"AGENCY#{case.agency_id}"}, ":s": {"S": "LINK#"}})["Items"]}
    assert created == stored and len(created) == len([e for e in entries if e.action == "citizen_link.created"])
    return "every link recorded once"


def export_setup() -> Case:
    case = new_case()
    submitted(case)
    job = exports.start_export(case.admin, StartExport.model_validate({"target": {"type": "download_links"}}),
                               deps=bootstrap.export_deps())
    case.data["export_id"] = job.export_id
    return case


def export_run(case: Case) -> None:
    exports.run_export_chunk(case.agency_id, case.data["export_id"], deps=bootstrap.export_deps(),
                             time_left=lambda: 1000.0)


def export_state(case: Case) -> Any:
    xd = bootstrap.export_deps()
    job = xd.exports.get_job(case.agency_id, case.data["export_id"])
    return job.status, job.items_done, len(xd.exports.rows(job.export_id)), chained(case.agency_id)


def sequencer_setup() -> Case:
    case = new_case()
    submitted(case)
    return case


def sequencer_run(case: Case) -> None:
    custody.sequence([case.agency_id], deps=bootstrap.deps())


OPERATIONS: dict[str, tuple[Callable[[], Case], Callable[[Case], None], Callable[[Case], Any]]] = {
    "ingest": (ingest_setup, ingest_run, ingest_state),
    "sweep": (sweep_setup, sweep_run, sweep_state),
    "review": (review_setup, review_run, review_state),
    "hold": (hold_setup, hold_run, hold_state),
    "release": (release_setup, release_run, hold_state),
    "link": (link_setup, link_run, link_state),
    "export_chunk": (export_setup, export_run, export_state),
    "sequencer": (sequencer_setup, sequencer_run, lambda case: chained(case.agency_id)),
}


@pytest.mark.parametrize("name", list(OPERATIONS))
def test_killed_at_any_aws_call_and_run_again_the_outcome_equals_the_untouched_run(killer, name):
    survives_every_kill(killer, name, *OPERATIONS[name])


def survives_every_kill(killer: CallKiller, name: str, setup: Callable[[], Case], run: Callable[[Case], None],
                        state: Callable[[Case], Any]) -> None:
    """Run untouched, then killed before (and after, for writes) each AWS call and run again: the
    state must equal the untouched run's every time. Other modules' operations use it too."""
    case = setup()
    with killer.counting():
        run(case)
    calls, expected = killer.calls, state(case)
    # Killed after a read is the same as killed before the next call: "after" matters for writes.
    writes = {n for n, op in enumerate(killer.operations, start=1) if not op.startswith(READS)}
    assert calls > 0 and writes
    for at in range(1, calls + 1):
        for after in (False, True) if at in writes else (False,):
            case = setup()
            with killer.counting(at=at, after=after), contextlib.suppress(Killed):
                run(case)
            run(case)  # the redelivery, the retry, the next scheduled run
            assert state(case) == expected, f"{name}: killed {'after' if after else 'before'} call {at} of {calls}"
