"""The retention sweep on DynamoDB and S3 (moto over HTTP): killed midway and run again, it
deletes exactly what is due, every object version, and leaves a tombstone for each."""
from __future__ import annotations

import os
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import boto3
import pytest
import requests

from chalicelib import bootstrap
from chalicelib.domain.commands import (
    CompleteSubmission,
    CreateCitizenLink,
    DeclaredFile,
    PlaceHold,
    RequestUploads,
    SetRetentionPolicy,
)
from chalicelib.domain.licensing import LicenseKind
from chalicelib.domain.models import Principal, Role
from chalicelib.services import agencies, citizen_links, citizen_uploads, ingest, retention

pytestmark = pytest.mark.integration
JPEG = b"\xff\xd8\xff\xe0" + b"\x01" * 500


def test_a_sweep_killed_midway_then_rerun_deletes_exactly_what_is_due(stack):
    deps = bootstrap.deps()
    agency = agencies.create_agency("Sweep PD", "US", license=LicenseKind.OSP7_PLUS, deps=deps)
    admin = Principal(agency_id=agency.agency_id, role=Role.AGENCY_ADMIN, key_id="sweep-admin")
    retention.set_policy(admin, SetRetentionPolicy(default_days=30, by_case_type={"keep": None}), deps=deps)
    due = [_sent(admin, deps, f"DUE-{n}") for n in range(4)]
    kept = _sent(admin, deps, "KEPT", case_type="keep")
    held = _sent(admin, deps, "HELD")
    retention.hold_case(admin, "HELD", PlaceHold(reason="court order"), deps=deps)
    s3, bucket = boto3.client("s3"), os.environ["EVIDENCE_BUCKET"]
    first_key = next(iter(deps.submissions.get_submission(agency.agency_id, due[0]).files.values())).key
    s3.put_object(Bucket=bucket, Key=first_key, Body=JPEG)  # a second version: both must go

    later = datetime.now(timezone.utc) + timedelta(days=31)
    dying = replace(deps, blobs=_DiesOnThirdDelete(deps.blobs))
    with pytest.raises(RuntimeError, match="killed"):
        retention.sweep(deps=dying, now=later)
    retention.sweep(deps=deps, now=later)
    assert retention.sweep(deps=deps, now=later)["deleted"] == 0  # a third run finds nothing more

    remaining = {sid for sid in due + [kept, held] if deps.submissions.get_submission(agency.agency_id, sid)}
    assert remaining == {kept, held}
    for sid in due:
        grave = deps.submissions.tombstone(agency.agency_id, sid)
        assert grave and grave.rule == "default" and grave.files[0]["sha256"]
    versions = s3.list_object_versions(Bucket=bucket, Prefix=f"agencies/{agency.agency_id}/cases/DUE-")
    assert versions.get("Versions", []) == [] and versions.get("DeleteMarkers", []) == []
    stack.wait_for(lambda: deps.audit.waiting(agency.agency_id) == 0, what="the audit events to be chained")
    entries = list(deps.audit.entries(agency.agency_id))
    refused = [e for e in entries if e.action == "evidence.deletion_refused"]
    assert len(refused) == 1 and refused[0].target == f"submission:{held}"  # once, though swept three times
    deleted = [e.target for e in entries if e.action == "evidence.deleted"]
    assert sorted(deleted) == sorted(f"submission:{sid}" for sid in due)  # each exactly once, kill or not
    assert deps.agencies.get_agency(agency.agency_id).used_bytes == 2 * len(JPEG)  # kept + held remain


class _DiesOnThirdDelete:
    def __init__(self, blobs):
        self._blobs, self._calls = blobs, 0

    def __getattr__(self, name):
        return getattr(self._blobs, name)

    def delete_all_versions(self, key):
        self._calls += 1
        if self._calls == 3:
            raise RuntimeError("killed")
        return self._blobs.delete_all_versions(key)


def _sent(admin, deps, case_ref, case_type=None):
    _, url = citizen_links.send_citizen_link(
        admin, CreateCitizenLink(case_ref=case_ref, case_type=case_type, email="c@example.org"),
        page_base="http://x", deps=deps)
    token = url.rsplit("/", 1)[-1]
    sid, [(file, post)] = citizen_uploads.request_uploads(token, RequestUploads(files=[
        DeclaredFile(name="a.jpg", size=len(JPEG), content_type="image/jpeg")]), deps=deps)
    assert requests.post(post.url, data=post.fields, files={"file": ("a.jpg", JPEG)}).status_code == 201
    ingest.ingest_object(file.key, deps=deps)  # the pump may also deliver it: recorded once either way
    citizen_uploads.complete(token, CompleteSubmission(), deps=deps)
    return sid

