"""Origin is a fact of every item: set by the system when the item is created, never taken from a
request body, and carried into the audit entries and the export manifest."""
from __future__ import annotations

import csv
import io

import pytest
from pydantic import ValidationError

from chalicelib.domain.commands import (
    CompleteSubmission,
    CreateCitizenLink,
    DeclaredFile,
    RequestUploads,
    StartCapture,
)
from chalicelib.domain.exports import COLUMNS
from chalicelib.domain.licensing import AgencyLicense, LicenseKind, entitlements
from chalicelib.domain.models import Origin
from chalicelib.services import access, citizen_uploads, ingest
from chalicelib.services.access import Capability
from tests.unit.test_access_gate import _agency_on, _allowed, _gate_cases
from tests.unit.test_captures import PHOTO, complete, start
from tests.unit.test_citizen_link_service import JPEG, send, upload
from tests.unit.test_entitlements import SETTINGS
from tests.unit.test_exports import (
    finished,
    manifest,
    xd,  # noqa: F401  (a fixture)
)
from tests.unit.test_exports import start as start_export

# The manifest's columns before origins were recorded, in their order: they never move.
EARLIER_COLUMNS = (
    "submission_id", "file_id", "case_ref", "name", "size", "content_type", "sha256", "integrity",
    "sha256_on_export", "file_status", "exported", "created_at", "submitted_at", "checked_at", "caption",
    "review_state", "custody_events", "custody_last_action", "custody_last_at", "target_key", "source_version")

BODIES = [
    (CreateCitizenLink, {"case_ref": "C-1", "phone": "+15555550123"}),
    (RequestUploads, {"files": [PHOTO]}),
    (StartCapture, {"case_ref": "C-1", "files": [PHOTO]}),
    (DeclaredFile, PHOTO),
    (CompleteSubmission, {}),
]


@pytest.mark.parametrize("model, body", BODIES, ids=[m.__name__ for m, _ in BODIES])
@pytest.mark.parametrize("origin", ["shared", "agency_capture", "citizen_link", None])
def test_no_request_body_can_name_an_origin(model, body, origin):
    model.model_validate(body)
    with pytest.raises(ValidationError) as refused:
        model.model_validate({**body, "origin": origin})
    assert [e["type"] for e in refused.value.errors()] == ["extra_forbidden"]


def test_a_capture_body_naming_a_citizen_origin_is_refused_and_a_capture_is_always_agency_capture(officer, deps):
    with pytest.raises(ValidationError):
        StartCapture.model_validate({"case_ref": "C-1", "files": [{**PHOTO, "origin": "citizen_link"}]})
    capture, _ = start(officer, deps)
    assert deps.submissions.get_submission(officer.agency_id, capture.submission_id).origin is Origin.AGENCY_CAPTURE


def test_a_citizen_submission_is_a_citizen_link_item_and_its_audit_entries_say_so(officer, deps):
    _, token = send(officer, deps)
    submission_id, [file] = upload(token, deps, JPEG)
    assert deps.submissions.get_submission(officer.agency_id, submission_id).origin is Origin.CITIZEN_LINK
    ingest.ingest_object(file.key, deps=deps)
    citizen_uploads.complete(token, CompleteSubmission(), deps=deps)
    details = {e.action: e.details for e in deps.audit.entries(officer.agency_id)}
    assert details["evidence.recorded"]["origin"] == "citizen_link"
    assert details["submission.completed"]["origin"] == "citizen_link"


def test_the_manifest_keeps_its_columns_in_order_then_each_files_origin_and_share(officer, deps, clock,
                                                                                xd):  # noqa: F811
    assert (*EARLIER_COLUMNS, "origin", "shared_by_agency_id", "original_origin") == COLUMNS
    _, token = send(officer, deps)
    upload(token, deps, JPEG)
    capture, [(file, _)] = start(officer, deps)
    deps.blobs.put(file.key, JPEG)
    ingest.ingest_object(file.key, deps=deps)
    complete(officer, deps, capture.submission_id)
    clock.advance(minutes=1)  # an export covers what existed before it started
    xd.storage.create_bucket("agency-archive")
    finished(officer, xd, start_export(officer, xd))
    rows = manifest(xd)["rows"]
    assert sorted(r["origin"] for r in rows) == ["agency_capture", "citizen_link"]
    assert [r["origin"] for r in rows if r["submission_id"] == capture.submission_id] == ["agency_capture"]
    table = list(csv.reader(io.StringIO(xd.storage.buckets["agency-archive"]["manifest.csv"].body.decode())))
    assert tuple(table[0]) == COLUMNS and sorted(row[-3] for row in table[1:]) == ["agency_capture", "citizen_link"]
    assert all(row[-2:] == ["", ""] for row in table[1:])  # own items: not shared, no original origin


@pytest.mark.parametrize("kind", list(LicenseKind))
def test_evidence_capture_comes_with_basic_pro_and_osp7_whatever_the_program_or_addon(kind):
    for addon in (False, True):
        lic = AgencyLicense(agency_id="a1", kind=kind, citizen_addon=addon, country="US")
        for day in (SETTINGS.start, SETTINGS.end, SETTINGS.end.replace(year=2022)):
            assert entitlements(lic, SETTINGS, day).evidence_capture is (
                kind in (LicenseKind.EVIDENCE_BASIC, LicenseKind.EVIDENCE_PRO, LicenseKind.OSP7_PLUS))


@pytest.mark.parametrize(("kind", "addon", "enrolled", "country", "day", "settings", "cell"), _gate_cases())
def test_the_gate_lets_an_officer_capture_exactly_on_an_evidence_licence_in_full_access(
        kind, addon, enrolled, country, day, settings, cell):
    deps, admin, officer = _agency_on(kind, addon, enrolled, country, day, settings)
    licensed = kind in (LicenseKind.EVIDENCE_BASIC, LicenseKind.EVIDENCE_PRO, LicenseKind.OSP7_PLUS)
    assert _allowed(officer, Capability.CAPTURE, deps) is (licensed and cell != "L")
    assert _allowed(admin, Capability.CAPTURE, deps) is (licensed and cell != "L")
    if cell == "L":  # limited mode refuses capture like any other write, saying why
        with pytest.raises(access.Forbidden) as refused:
            access.allow(officer, Capability.CAPTURE, deps=deps)
        assert refused.value.code == "limited_mode"
