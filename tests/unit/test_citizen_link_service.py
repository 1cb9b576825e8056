"""Citizen for Officers, use cases over in-memory fakes and a fixed clock."""
from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest

from chalicelib.domain import ids
from chalicelib.domain.commands import CompleteSubmission, CreateCitizenLink, DeclaredFile, RequestUploads
from chalicelib.domain.errors import Gone, InvalidInput, LimitExceeded, NotFound, UnsupportedMedia
from chalicelib.domain.licensing import AgencyLicense, LicenseKind
from chalicelib.domain.models import FileStatus, Principal, Role, SubmissionStatus
from chalicelib.services import agencies, citizen_links, citizen_uploads, ingest, submissions
from tests.fakes import RecordingSms, make_deps

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 200
MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 300


def send(officer, deps, **fields):
    cmd = CreateCitizenLink(**({"case_ref": "CASE-1", "phone": "+15555550123"} | fields))
    link, url = citizen_links.send_citizen_link(officer, cmd, page_base="https://evidence.example/api", deps=deps)
    return link, url.rsplit("/", 1)[-1]


def declare(token, deps, *files):
    cmd = RequestUploads(files=[DeclaredFile(**f) for f in files])
    return citizen_uploads.request_uploads(token, cmd, deps=deps)


def photo(name="a.jpg", size=len(JPEG), **extra):
    return {"name": name, "size": size, "content_type": "image/jpeg", **extra}


def test_a_link_is_texted_to_the_citizen_and_only_its_hash_is_stored(officer, deps):
    link, token = send(officer, deps)
    (phone, text), = deps.sms.sent
    assert phone == "+15555550123" and f"/c/{token}" in text and "Springfield Police" in text
    assert deps.links.tokens == {ids.digest(token): (officer.agency_id, link.link_id)}
    assert token not in repr(deps.links.links)
    assert link.phone_masked == "+1******0123" and link.deliveries[0].status == "sent"


def test_a_link_expires_after_the_agency_default_of_three_days(officer, deps, clock):
    link, _ = send(officer, deps)
    assert link.expires_at - clock.now() == timedelta(hours=72)


def test_an_email_address_gets_the_link_by_email_with_the_officers_note(officer, deps):
    link, token = send(officer, deps, phone=None, email="pat@example.org", note="Front door camera, please")
    (to, subject, text), = deps.email.sent
    assert to == "pat@example.org" and token in text and "Front door camera" in text
    assert [d.channel for d in link.deliveries] == ["email"] and not deps.sms.sent


def test_a_failed_text_still_creates_the_link_and_reports_the_failure(officer, agency):
    deps = make_deps(sms=RecordingSms(fail=True))
    deps.agencies.create_agency(agency)
    deps.licenses.create(AgencyLicense(agency_id=agency.agency_id, kind=LicenseKind.EVIDENCE_BASIC, country="US"))
    link, token = send(officer, deps)
    stored = deps.links.get_link(officer.agency_id, link.link_id)
    assert stored.deliveries[0].status == "failed" and "opted out" in stored.deliveries[0].detail
    assert citizen_uploads.open_link(token, deps=deps)["max_files"] == 50


def test_creating_a_link_and_delivering_it_are_each_audited_with_the_link(officer, deps):
    link, _ = send(officer, deps)
    entries = list(deps.audit.entries(officer.agency_id))[-2:]
    assert [(e.action, e.target) for e in entries] == [("citizen_link.created", f"link:{link.link_id}"),
                                                       ("citizen_link.delivered", f"link:{link.link_id}")]
    assert entries[1].details["deliveries"][0]["channel"] == "sms"


def test_the_page_works_until_the_expiry_instant_and_not_at_it(officer, deps, clock):
    link, token = send(officer, deps)
    clock.at = link.expires_at - timedelta(microseconds=1)
    assert citizen_uploads.page_state(token, deps=deps) == (None, "en", None)
    clock.at = link.expires_at
    problem, language, agency = citizen_uploads.page_state(token, deps=deps)
    assert (problem, language, agency.name) == ("link_expired", "en", "Springfield Police")  # named on the page
    with pytest.raises(Gone, match="expired"):
        declare(token, deps, photo())


def test_an_unknown_token_is_not_found(deps):
    for token in ["x" * 43, "short", "y" * 500]:
        assert citizen_uploads.page_state(token, deps=deps) == ("link_not_found", None, None)
        with pytest.raises(NotFound):
            citizen_uploads.open_link(token, deps=deps)


def test_each_declared_file_gets_an_upload_bound_to_its_own_key_under_the_case(officer, deps):
    link, token = send(officer, deps)
    submission_id, signed = declare(token, deps, photo("a.jpg"), photo("b.jpg", caption="the car"))
    assert submission_id == link.link_id
    keys = [f.key for f, _ in signed]
    assert len(set(keys)) == 2
    assert all(k.startswith(f"agencies/{officer.agency_id}/cases/CASE-1/{link.link_id}/") for k in keys)
    assert [s["size"] for s in deps.blobs.signed] == [len(JPEG), len(JPEG)]
    assert signed[1][0].caption == "the car"


def test_types_outside_the_allow_list_and_bad_sizes_are_refused_without_storing_anything(officer, deps):
    _, token = send(officer, deps)
    with pytest.raises(UnsupportedMedia):
        declare(token, deps, photo(), {"name": "x.html", "size": 10, "content_type": "text/html"})
    with pytest.raises(InvalidInput):
        declare(token, deps, photo(size=0))
    with pytest.raises(LimitExceeded):
        declare(token, deps, photo(size=deps.max_upload_bytes + 1))
    submission_id, _ = declare(token, deps, photo())
    assert len(deps.submissions.get_submission(officer.agency_id, submission_id).files) == 1


def test_a_link_accepts_at_most_its_file_limit_across_requests(officer, deps, agency):
    deps.agencies.save_agency(agency.model_copy(update={"max_files_per_link": 3}))
    _, token = send(officer, deps)
    declare(token, deps, photo(), photo())
    with pytest.raises(LimitExceeded, match="at most 3"):
        declare(token, deps, photo(), photo())
    declare(token, deps, photo())


def test_a_file_can_be_signed_again_by_its_id_without_counting_twice(officer, deps):
    _, token = send(officer, deps)
    submission_id, [(first, _)] = declare(token, deps, photo())
    _, [(again, _)] = declare(token, deps, photo(file_id=first.file_id))
    assert again.key == first.key
    assert len(deps.submissions.items[(officer.agency_id, submission_id)].files) == 1


def test_completing_uses_the_link_up(officer, deps):
    link, token = send(officer, deps)
    declare(token, deps, photo())
    done = citizen_uploads.complete(token, CompleteSubmission(), deps=deps)
    assert done.status is SubmissionStatus.SUBMITTED
    assert citizen_uploads.page_state(token, deps=deps)[:2] == ("link_used", "en")
    for again in (lambda: declare(token, deps, photo()),
                  lambda: citizen_uploads.complete(token, CompleteSubmission(), deps=deps)):
        with pytest.raises(Gone) as raised:
            again()
        assert raised.value.code == "link_used"


def test_completing_with_nothing_declared_is_refused(officer, deps):
    _, token = send(officer, deps)
    with pytest.raises(InvalidInput, match="No files"):
        citizen_uploads.complete(token, CompleteSubmission(), deps=deps)


def test_completion_is_allowed_shortly_after_expiry_for_uploads_already_signed(officer, deps, clock):
    link, token = send(officer, deps)
    declare(token, deps, photo())
    clock.at = link.expires_at + timedelta(minutes=14)
    citizen_uploads.complete(token, CompleteSubmission(), deps=deps)


def test_completion_long_after_expiry_is_refused(officer, deps, clock):
    link, token = send(officer, deps)
    declare(token, deps, photo())
    clock.at = link.expires_at + timedelta(minutes=15)
    with pytest.raises(Gone):
        citizen_uploads.complete(token, CompleteSubmission(), deps=deps)


def upload(token, deps, *contents, content_type="image/jpeg"):
    files = [{"name": f"f{i}", "size": len(c), "content_type": content_type} for i, c in enumerate(contents)]
    submission_id, signed = declare(token, deps, *files)
    for (file, _), data in zip(signed, contents):
        deps.blobs.put(file.key, data)
    return submission_id, [f for f, _ in signed]


def test_an_uploaded_file_is_verified_hashed_and_recorded_once(officer, deps):
    _, token = send(officer, deps)
    submission_id, [file] = upload(token, deps, JPEG)
    assert ingest.ingest_object(file.key, deps=deps) == "recorded"
    assert ingest.ingest_object(file.key, deps=deps) == "duplicate"
    stored = deps.submissions.get_submission(officer.agency_id, submission_id).files[file.file_id]
    assert stored.status is FileStatus.VERIFIED and stored.sha256 == hashlib.sha256(JPEG).hexdigest()
    assert deps.audit.actions(officer.agency_id).count("evidence.recorded") == 1


def test_content_that_is_not_what_was_declared_is_kept_but_rejected(officer, deps):
    _, token = send(officer, deps)
    submission_id, [file] = upload(token, deps, b"<html><script>alert(1)</script></html>")
    assert ingest.ingest_object(file.key, deps=deps) == "rejected"
    stored = deps.submissions.get_submission(officer.agency_id, submission_id).files[file.file_id]
    assert stored.status is FileStatus.REJECTED and "not a recognised media file" in stored.reject_reason
    assert stored.sha256 and file.key in deps.blobs.objects


def test_a_size_other_than_declared_is_rejected(officer, deps):
    _, token = send(officer, deps)
    submission_id, [file] = upload(token, deps, JPEG)
    deps.blobs.put(file.key, JPEG + b"extra")
    assert ingest.ingest_object(file.key, deps=deps) == "rejected"


def test_video_declared_as_quicktime_with_mp4_content_is_accepted(officer, deps):
    _, token = send(officer, deps)
    _, [file] = upload(token, deps, MP4, content_type="video/quicktime")
    assert ingest.ingest_object(file.key, deps=deps) == "recorded"


def test_objects_that_match_no_declared_file_are_ignored(officer, deps):
    assert ingest.ingest_object("agencies/x/other", deps=deps) == "unknown"
    key = f"agencies/{officer.agency_id}/cases/C/{ids.new_id(deps.clock.now())}/{ids.new_id(deps.clock.now())}"
    assert ingest.ingest_object(key, deps=deps) == "unknown"


def test_a_declared_file_that_never_arrived_is_reported_missing(officer, deps):
    _, token = send(officer, deps)
    _, [(file, _)] = declare(token, deps, photo())
    assert ingest.ingest_object(file.key, deps=deps) == "missing"


def test_another_agency_cannot_see_a_link_or_submission(officer, deps):
    link, token = send(officer, deps)
    declare(token, deps, photo())
    other = agencies.create_agency("Shelbyville PD", "US", deps=deps)
    stranger = Principal(agency_id=other.agency_id, role=Role.AGENCY_ADMIN, key_id="k")
    with pytest.raises(NotFound):
        citizen_links.get_link(stranger, link.link_id, deps=deps)
    with pytest.raises(NotFound):
        submissions.view_submission(stranger, link.link_id, deps=deps)
    assert submissions.list_submissions(stranger, case_ref=None, limit=10, cursor=None, deps=deps).items == []


def test_viewing_a_submission_gives_download_urls_for_verified_files_and_is_audited(officer, deps):
    _, token = send(officer, deps)
    submission_id, [file] = upload(token, deps, JPEG)
    ingest.ingest_object(file.key, deps=deps)
    submission, extra = submissions.view_submission(officer, submission_id, deps=deps)
    assert list(extra["download_urls"]) == [file.file_id]
    assert deps.audit.actions(officer.agency_id)[-1] == "submission.viewed"


def test_submissions_list_newest_first_filtered_by_case_and_paginated(officer, deps, clock):
    made = []
    for case in ["A", "B", "A"]:
        _, token = send(officer, deps, case_ref=case)
        made.append(declare(token, deps, photo())[0])
        clock.advance(minutes=1)
    first = submissions.list_submissions(officer, case_ref=None, limit=2, cursor=None, deps=deps)
    rest = submissions.list_submissions(officer, case_ref=None, limit=2, cursor=first.next_cursor, deps=deps)
    assert [s.submission_id for s in first.items + rest.items] == made[::-1] and rest.next_cursor is None
    only_a = submissions.list_submissions(officer, case_ref="A", limit=10, cursor=None, deps=deps)
    assert [s.submission_id for s in only_a.items] == [made[2], made[0]]


def test_api_keys_resolve_to_their_agency_and_role_and_nothing_else_does(deps, agency):
    key, secret = agencies.issue_key(agency.agency_id, Role.AGENCY_ADMIN, "Chief", deps=deps)
    principal = agencies.authenticate(f"Bearer {secret}", deps=deps)
    assert principal == Principal(agency_id=agency.agency_id, role=Role.AGENCY_ADMIN, key_id=key.key_id)
    assert secret not in repr(deps.agencies.keys)
    for bad in ["", secret, f"Basic {secret}", f"Bearer {secret}x", "Bearer cek_nope"]:
        assert agencies.authenticate(bad, deps=deps) is None


def test_only_an_agency_admin_changes_link_settings(deps, agency, officer):
    from chalicelib.domain.commands import UpdateAgencySettings
    from chalicelib.domain.errors import Forbidden

    with pytest.raises(Forbidden):
        agencies.update_settings(officer, UpdateAgencySettings(link_ttl_hours=24), deps=deps)
    admin = Principal(agency_id=agency.agency_id, role=Role.AGENCY_ADMIN, key_id="k")
    assert agencies.update_settings(admin, UpdateAgencySettings(link_ttl_hours=24), deps=deps).link_ttl_hours == 24
    link, _ = send(officer, deps)
    assert link.expires_at - deps.clock.now() == timedelta(hours=24)


def test_an_operator_key_reading_a_link_is_refused_like_on_every_agency_route(officer, deps):
    from chalicelib.domain.errors import Forbidden
    from chalicelib.domain.models import OPERATOR_AGENCY

    link, _ = send(officer, deps)
    operator = Principal(agency_id=OPERATOR_AGENCY, role=Role.OPERATOR, key_id="op")
    with pytest.raises(Forbidden):
        citizen_links.get_link(operator, link.link_id, deps=deps)
    assert citizen_links.get_link(officer, link.link_id, deps=deps).link_id == link.link_id
