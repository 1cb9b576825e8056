"""A first-time or enrolled Lite agency's program account has a storage quota: checked when upload URLs are asked
for, counted from what actually lands, and given back when retention deletes."""
from __future__ import annotations

import pytest

from chalicelib.domain.commands import CompleteSubmission, CreateCitizenLink, DeclaredFile, RequestUploads
from chalicelib.domain.errors import LimitExceeded
from chalicelib.services import citizen_links, citizen_uploads, ingest, licensing

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 996  # 1,000 bytes


def enrolled(kind, agency, deps, clock):
    licensing.set_license(agency.agency_id, kind, deps=deps)
    licensing.enroll(agency.agency_id, clock.now(), deps=deps)
    licensing.set_quota(2_500, agency_id=agency.agency_id, deps=deps)
    return agency


@pytest.fixture
def first_time(deps, agency, clock):
    return enrolled("none", agency, deps, clock)


def token_for(officer, deps):
    _, url = citizen_links.send_citizen_link(officer, CreateCitizenLink(case_ref="Q", phone="+15555550123"),
                                             page_base="https://x", deps=deps)
    return url.rsplit("/", 1)[-1]


def declare(token, deps, *sizes):
    files = [DeclaredFile(name=f"{n}.jpg", size=size, content_type="image/jpeg") for n, size in enumerate(sizes)]
    return citizen_uploads.request_uploads(token, RequestUploads(files=files), deps=deps)


def test_uploads_that_would_pass_the_quota_are_refused_when_urls_are_asked_for(first_time, officer, deps):
    with pytest.raises(LimitExceeded) as refused:
        declare(token_for(officer, deps), deps, 1_000, 1_000, 1_000)
    assert refused.value.code == "storage_quota_exceeded"
    assert refused.value.details == {"quota_bytes": 2_500, "used_bytes": 0, "requested_bytes": 3_000}


def test_usage_is_counted_from_what_lands_and_the_quota_then_holds(first_time, officer, deps):
    token = token_for(officer, deps)
    _, signed = declare(token, deps, 1_000, 1_000)
    for file, _ in signed:
        deps.blobs.put(file.key, JPEG)
        ingest.ingest_object(file.key, deps=deps)
    citizen_uploads.complete(token, CompleteSubmission(), deps=deps)
    assert deps.agencies.get_agency(first_time.agency_id).used_bytes == 2_000
    with pytest.raises(LimitExceeded):
        declare(token_for(officer, deps), deps, 1_000)
    declare(token_for(officer, deps), deps, 500)


def test_agencies_with_a_licence_of_their_own_have_no_quota(officer, deps):
    declare(token_for(officer, deps), deps, 90 * 1024 * 1024)


def test_an_enrolled_lite_agency_s_program_uploads_are_held_to_its_quota(deps, agency, clock, officer):
    enrolled("evidence_lite", agency, deps, clock)
    with pytest.raises(LimitExceeded) as refused:
        declare(token_for(officer, deps), deps, 1_000, 1_000, 1_000)
    assert refused.value.code == "storage_quota_exceeded"
    declare(token_for(officer, deps), deps, 2_000)


def test_a_lite_agency_with_the_citizen_add_on_has_no_quota(deps, agency, clock, officer):
    enrolled("evidence_lite", agency, deps, clock)
    licensing.set_license(agency.agency_id, "evidence_lite", True, deps=deps)
    declare(token_for(officer, deps), deps, 90 * 1024 * 1024)
