"""Resumable uploads killed at every AWS call and run again (the harness of test_custody_crash.py):
assembling a multipart file, and the schedule abandoning one. The outcome must equal the untouched
run's: the page's hash stored once with its event, the object assembled, the file marked abandoned
once and its upload aborted."""
# ruff: noqa: F811 - `killer` is the crash harness fixture, imported and used by name
from __future__ import annotations

import hashlib
import os
from base64 import b64encode
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import requests

from chalicelib import bootstrap
from chalicelib.domain.commands import CompleteFile, CreateCitizenLink, DeclaredFile, RequestUploads, SignParts
from chalicelib.services import citizen_links, citizen_uploads, resumable
from tests.fakes import FixedClock
from tests.integration.test_custody_crash import (  # noqa: F401 - the killer fixture
    Case,
    chained,
    killer,
    new_case,
    survives_every_kill,
)

pytestmark = pytest.mark.integration
MIB = 1024 * 1024
MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"
DATA = MP4 + os.urandom(7 * MIB)  # over the suite's 6 MiB threshold (tests/conftest.py): two parts


def later() -> Any:
    return replace(bootstrap.deps(), clock=FixedClock(datetime.now(timezone.utc) + timedelta(hours=25)))


def declared(case: Case, parts: int | None = None) -> None:
    """A link and one multipart file with `parts` of its parts in S3 (all when None)."""
    deps = bootstrap.deps()
    _, url = citizen_links.send_citizen_link(case.admin, CreateCitizenLink(case_ref="MPU-1", email="c@x.example"),
                                             page_base="http://x", deps=deps)
    token = url.rsplit("/", 1)[-1]
    _, [(file, _)] = citizen_uploads.request_uploads(token, RequestUploads(files=[
        DeclaredFile(name="v.mp4", size=len(DATA), content_type="video/mp4")]), deps=deps)
    assert file.upload_id and file.part_size
    chunks = [DATA[i:i + file.part_size] for i in range(0, len(DATA), file.part_size)]
    for number, chunk in list(enumerate(chunks, 1))[:parts]:
        checksum = b64encode(hashlib.sha256(chunk).digest()).decode()
        (part,) = citizen_uploads.sign_parts(token, file.file_id, SignParts(parts=[
            {"part_number": number, "sha256": checksum}]), deps=deps)
        assert requests.put(part["url"], data=chunk, headers=part["headers"], timeout=30).status_code == 200
    case.data.update(token=token, file_id=file.file_id, sid=file.key.split("/")[-2], key=file.key,
                     upload_id=file.upload_id)


def file_of(case: Case) -> Any:
    return bootstrap.deps().submissions.get_submission(case.agency_id, case.data["sid"]).files[case.data["file_id"]]


def assemble_setup() -> Case:
    case = new_case()
    declared(case)
    return case


def assemble_run(case: Case) -> None:
    citizen_uploads.complete_file(case.data["token"], case.data["file_id"],
                                  CompleteFile(sha256=hashlib.sha256(DATA).hexdigest()), deps=bootstrap.deps())


def assemble_state(case: Case) -> Any:
    deps = bootstrap.deps()
    stored = hashlib.sha256(b"".join(deps.blobs.iter_chunks(case.data["key"]))).hexdigest()
    still_open = deps.blobs.list_parts(case.data["key"], case.data["upload_id"]) is not None
    return file_of(case).client_sha256, stored, still_open, chained(case.agency_id)


def abandon_setup() -> Case:
    resumable.abort_abandoned(deps=later())  # earlier tests' leftovers, so each run sees only its own
    case = new_case()
    declared(case, parts=1)
    return case


def abandon_run(case: Case) -> None:
    resumable.abort_abandoned(deps=later())


def abandon_state(case: Case) -> Any:
    gone = bootstrap.deps().blobs.list_parts(case.data["key"], case.data["upload_id"]) is None
    return file_of(case).status, gone, chained(case.agency_id)


@pytest.mark.parametrize("name, setup, run, state", [
    ("assemble", assemble_setup, assemble_run, assemble_state),
    ("abandon", abandon_setup, abandon_run, abandon_state),
])
def test_killed_at_any_aws_call_and_run_again_the_outcome_equals_the_untouched_run(killer, name, setup, run, state):
    survives_every_kill(killer, name, setup, run, state)
