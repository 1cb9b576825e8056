"""The improvement program's part 2 on the local stack (DynamoDB, S3 and KMS in moto over HTTP,
resources from infra/template.yaml): an extraction copies stripped images to the program bucket
and adds nothing the second time; a withdrawal's deletion leaves no version in the bucket and no
item in the program table, with a receipt signed by the KMS key that verifies with its public key
alone (over HTTP for the agency, 404 for another, 400 for a bad id); the deletion, killed at any
AWS call and run again, finishes with one verifying receipt; the extraction, killed and run again,
holds each copy once with one audit event each."""
from __future__ import annotations

import base64
import contextlib
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import boto3
import pytest

from chalicelib import bootstrap, media_strip, receipt_verify
from chalicelib.adapters.dynamo_codec import from_item, to_item
from chalicelib.adapters.dynamo_program import open_withdrawal_key
from chalicelib.domain import ids
from chalicelib.domain.errors import Conflict, NotFound
from chalicelib.domain.models import EvidenceFile, FileStatus, Origin, Submission, SubmissionStatus
from chalicelib.domain.program import Tier
from chalicelib.domain.receipts import Receipt
from chalicelib.services import custody, program_deletion, program_extraction
from tests.e2e.test_program_api import record_contract
from tests.e2e.test_sharing_api import new_agency
from tests.integration.test_custody_crash import READS, CallKiller, Killed, chained, survives_every_kill
from tests.program_worlds import JPEG_WITH_GPS, active_use_case

pytestmark = pytest.mark.integration


def participant(files: int = 2) -> tuple[str, str, list[str]]:
    """A fresh Tier 2 agency with `files` captured, submitted JPEGs two weeks old: (id, admin key, keys)."""
    from chalicelib.domain.program import Acceptance

    deps = bootstrap.deps()
    agency_id, admin = new_agency(f"Program2 PD {uuid.uuid4().hex[:6]}")
    record_contract(agency_id, date(2021, 5, 1))
    now = deps.clock.now()
    deps.program.add_acceptance(Acceptance(
        acceptance_id=f"acc-{uuid.uuid4().hex[:8]}", agency_id=agency_id, tier=Tier.TIER_2, terms_version="t",
        terms_sha256="0" * 64, accepted_by="key:admin", accepted_at=now - timedelta(days=30)),
        event=custody.event(agency_id, deps=deps, actor="t", action="program.tier2_accepted", target="t"))
    s3, keys = boto3.client("s3"), []
    for n in range(files):
        key = f"agencies/{agency_id}/s{n}/f{n}"
        version = s3.put_object(Bucket=bootstrap.settings().evidence_bucket, Key=key, Body=JPEG_WITH_GPS,
                                ContentType="image/jpeg")["VersionId"]
        at = now - timedelta(days=14)
        file = EvidenceFile(file_id=f"f{n}", name="IMG.jpg", size=len(JPEG_WITH_GPS), content_type="image/jpeg",
                            key=key, status=FileStatus.VERIFIED, declared_at=at, sha256="a" * 64,
                            version_id=version)
        deps.submissions.open_submission(Submission(
            submission_id=f"s{n}", agency_id=agency_id, origin=Origin.AGENCY_CAPTURE, link_id=f"s{n}",
            case_ref="CASE-1", status=SubmissionStatus.SUBMITTED, created_at=at, submitted_at=at,
            files={file.file_id: file}))
        keys.append(key)
    return agency_id, admin, keys


CREATED_USE_CASES: list[str] = []


@pytest.fixture(autouse=True, scope="module")
def retire_what_this_module_activates(stack) -> Iterator[None]:
    """The use cases made here are active on the shared stack: retired at the end, so that a later
    run of the daily extraction (tests/integration/test_schedules.py) does not redo this module's
    work for every one of them (the crash loops make dozens)."""
    yield
    from chalicelib.domain.models import OPERATOR_AGENCY, Principal, Role
    from chalicelib.services import program_operator

    operator = Principal(agency_id=OPERATOR_AGENCY, role=Role.OPERATOR, key_id="test-teardown")
    for use_case_id in CREATED_USE_CASES:  # a crash loop's run may have been killed before it made one
        with contextlib.suppress(NotFound):
            program_operator.retire_use_case(operator, use_case_id, deps=bootstrap.deps())
    from chalicelib.domain.program_notices import notices
    from chalicelib.domain.program_use_cases import applying

    deps = bootstrap.deps()
    assert not any(applying(deps.program.use_case_versions(u)) for u in CREATED_USE_CASES)
    for use_case_id in CREATED_USE_CASES:  # fixtures, not announcements: the notices schedule's test
        for notice in notices(deps.program.use_case_versions(use_case_id)):  # would tell every agency of each
            deps.program_notices.mark_notice_done(notice.notice_id, deps.clock.now())


def active_use_case_now() -> str:
    deps = bootstrap.deps()
    use_case_id = ids.new_id(deps.clock.now())  # a real id: the operator's retire (teardown) looks it up
    CREATED_USE_CASES.append(use_case_id)
    version = active_use_case("stripped_media_copy", tier=Tier.TIER_2, use_case_id=use_case_id,
                              effective_on=deps.clock.now().date() - timedelta(days=1))
    deps.program.add_use_case_version(version, event=custody.event("operator", deps=deps, actor="t",
                                                                   action="program.use_case_created", target="u"))
    return use_case_id


def extract_for(agency_id: str, use_case_id: str) -> None:
    """The daily extraction for one agency only: the shared stack holds hundreds of agencies by the
    time the crash loops run, and walking them all in each setup made the loops quadratic."""
    agency = bootstrap.deps().agencies.get_agency(agency_id)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(program_extraction, "_agencies", lambda base: iter([agency]))
        program_extraction.extract(use_case_id, deps=bootstrap.program_deps())


def versions_left(keys: list[str]) -> int:
    """Versions and delete markers still held under these keys (listed per key: a listing of the
    whole prefix stops at 1,000 and would miss some once the loops have made more)."""
    s3, bucket = boto3.client("s3"), bootstrap.settings().program_bucket
    pages = [s3.list_object_versions(Bucket=bucket, Prefix=key) for key in keys]
    return sum(1 for page in pages for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
               if v["Key"] in keys)


def lineage_of(agency_id: str) -> list[str]:
    return list(bootstrap.program_deps().store.artifacts_of_agency(agency_id))


def test_extraction_then_withdrawal_deletes_everywhere_with_a_kms_signed_receipt(stack):
    program = bootstrap.program_deps()
    agency_id, admin, _ = participant()
    use_case_id = active_use_case_now()
    report = program_extraction.extract(use_case_id, deps=program)
    ours = lineage_of(agency_id)
    assert report["created"] >= 2 and len(ours) == 2
    copies = [f"program/{a}" for a in ours]
    s3 = boto3.client("s3")
    body = s3.get_object(Bucket=bootstrap.settings().program_bucket, Key=copies[0])["Body"].read()
    assert body == media_strip.strip(JPEG_WITH_GPS) and b"GPS" not in body
    assert program_extraction.extract(use_case_id, deps=program)["created"] == 0

    made = stack.agency(admin).post(f"{stack.api_url}/agency/program/withdrawal", json={})
    assert made.status_code == 201, made.text
    request_id = made.json()["request_id"]
    request = next(r for r in bootstrap.deps().program.open_requests() if r.request_id == request_id)
    done = program_deletion.enforce(request, deps=program, now=bootstrap.deps().clock.now())
    assert done["outcome"] == "done" and done["artifacts"] == 2
    assert lineage_of(agency_id) == [] and versions_left(copies) == 0
    assert all(program.store.get_lineage(a) is None for a in ours)
    assert request_id not in {r.request_id for r in bootstrap.deps().program.open_requests()}

    got = stack.agency(admin).get(f"{stack.api_url}/agency/program/receipts/{request_id}")
    assert got.status_code == 200, got.text
    receipt, key = Receipt.model_validate(got.json()), got.json()["public_key_der_b64"]
    assert len(receipt.entries) == 6 and receipt_verify.verify(receipt, base64.b64decode(key)) is None
    forged = receipt.model_copy(update={"entries": receipt.entries[1:]})
    assert receipt_verify.verify(forged, base64.b64decode(key)) is not None
    assert stack.agency().get(f"{stack.api_url}/agency/program/receipts/{request_id}").status_code == 404
    bad = stack.agency(admin).get(f"{stack.api_url}/agency/program/receipts/{'x' * 300}")
    assert bad.status_code == 400 and bad.json()["code"] == "validation_error", bad.text


class KmsCallKiller(CallKiller):
    """The crash harness, counting KMS calls too (the receipt is signed there)."""

    def __init__(self) -> None:
        super().__init__()
        events = bootstrap.client("kms").meta.events
        events.register("before-call.*.*", self._before)
        events.register("after-call.*.*", self._after)


@pytest.fixture(scope="module")
def killer(stack) -> Iterator[KmsCallKiller]:
    with stack.local.paused():
        yield KmsCallKiller()


def withdrawn() -> dict[str, Any]:
    from chalicelib.domain.models import Principal, Role
    from chalicelib.services import program

    agency_id, _, keys = participant(files=1)
    extract_for(agency_id, active_use_case_now())
    admin = Principal(agency_id=agency_id, role=Role.AGENCY_ADMIN, key_id="crash-admin")
    request = program.withdraw(admin, deps=bootstrap.deps())
    return {"agency_id": agency_id, "request": request, "copies": [f"program/{a}" for a in lineage_of(agency_id)]}


def delete(case: dict[str, Any]) -> None:
    program_deletion.enforce(case["request"], deps=bootstrap.program_deps(), now=bootstrap.deps().clock.now())


def state(case: dict[str, Any]) -> tuple[Any, ...]:
    program = bootstrap.program_deps()
    receipt = program.store.get_receipt(case["request"].request_id)
    assert receipt is not None
    verified = receipt_verify.verify(receipt, program.signer.public_key_der())
    done = bootstrap.deps().program.withdrawals(case["agency_id"])[0].done_at is not None
    return (lineage_of(case["agency_id"]), versions_left(case["copies"]), [(e.store, e.key.split("/")[-1][:0])
            for e in receipt.entries], verified, done, open_guard(case["agency_id"]))


def open_guard(agency_id: str) -> str | None:
    """The request id the agency's open-withdrawal guard holds (None: no withdrawal open)."""
    found = boto3.client("dynamodb").get_item(TableName=bootstrap.settings().table_name, ConsistentRead=True,
                                              Key=to_item(open_withdrawal_key(agency_id)))
    return from_item(found["Item"])["request_id"] if "Item" in found else None


def withdraw_setup() -> dict[str, Any]:
    agency_id, _ = new_agency(f"Withdraw PD {uuid.uuid4().hex[:6]}")
    record_contract(agency_id, date(2021, 5, 1))
    return {"agency_id": agency_id}


def withdraw_run(case: dict[str, Any]) -> None:
    """The admin's POST, and its retry: a retry after the write landed is told one is open (409)."""
    from chalicelib.domain.models import Principal, Role
    from chalicelib.services import program

    admin = Principal(agency_id=case["agency_id"], role=Role.AGENCY_ADMIN, key_id="crash-admin")
    try:
        program.withdraw(admin, deps=bootstrap.deps())
    except Conflict as refused:
        assert refused.code == "withdrawal_open"


def withdraw_state(case: dict[str, Any]) -> tuple[Any, ...]:
    made = bootstrap.deps().program.withdrawals(case["agency_id"])
    held = open_guard(case["agency_id"])
    log = [a for a in chained(case["agency_id"]) if a[0] == "program.withdrawal_requested"]
    return len(made), held is not None and held == made[0].request_id, log


def test_a_withdrawal_killed_at_any_aws_call_and_asked_again_is_one_request(killer):
    survives_every_kill(killer, "withdraw", withdraw_setup, withdraw_run, withdraw_state)
    assert withdraw_state(case := withdraw_setup()) == (0, False, [])
    withdraw_run(case)
    assert withdraw_state(case)[:2] == (1, True)


def test_the_deletion_killed_at_any_aws_call_and_run_again_finishes(killer):
    case = withdrawn()
    with killer.counting():
        delete(case)
    calls, expected = killer.calls, state(case)
    assert expected[0] == [] and expected[1] == 0 and len(expected[2]) == 3 and expected[3] is None and expected[4]
    assert expected[5] is None  # the agency's open-withdrawal guard went with the completion
    writes = {n for n, op in enumerate(killer.operations, start=1) if not op.startswith(READS)}
    for at in range(1, calls + 1):
        for after in (False, True) if at in writes else (False,):
            case = withdrawn()
            with killer.counting(at=at, after=after), contextlib.suppress(Killed):
                delete(case)
            delete(case)
            assert state(case) == expected, f"killed {'after' if after else 'before'} call {at} of {calls}"


def extraction_setup() -> dict[str, Any]:
    agency_id, _, _ = participant(files=2)
    return {"agency_id": agency_id, "use_case_id": active_use_case_now()}


def extraction_run(case: dict[str, Any]) -> None:
    extract_for(case["agency_id"], case["use_case_id"])


def extraction_state(case: dict[str, Any]) -> tuple[Any, ...]:
    ours = lineage_of(case["agency_id"])
    held = [a for a in ours if versions_left([f"program/{a}"])]
    made = [a for a in chained(case["agency_id"]) if a[0] == "program.artifact_created"]
    return len(ours), len(held), made


def test_the_extraction_killed_at_any_aws_call_and_run_again_adds_each_copy_once(killer):
    case = extraction_setup()
    with killer.counting():
        extraction_run(case)
    calls, expected = killer.calls, extraction_state(case)
    assert expected[:2] == (2, 2) and len(expected[2]) == 2
    writes = {n for n, op in enumerate(killer.operations, start=1) if not op.startswith(READS)}
    for at in range(1, calls + 1):
        for after in (False, True) if at in writes else (False,):
            case = extraction_setup()
            with killer.counting(at=at, after=after), contextlib.suppress(Killed):
                extraction_run(case)
            extraction_run(case)
            assert extraction_state(case) == expected, f"killed {'after' if after else 'before'} call {at} of {calls}"
