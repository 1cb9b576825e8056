"""Rules of a citizen link: expiry, single use, object keys and what may be uploaded through it."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from itertools import count

import pytest

from chalicelib.domain import links
from chalicelib.domain.commands import DeclaredFile
from chalicelib.domain.errors import Conflict, Gone, InvalidInput, LimitExceeded, NotFound, UnsupportedMedia
from chalicelib.domain.models import (
    Agency,
    CitizenLink,
    EvidenceFile,
    FileStatus,
    Submission,
    SubmissionStatus,
)

NOW = datetime(2024, 3, 1, 12, 0, tzinfo=timezone.utc)
AGENCY_ID = "01hq3v5k8m9n0p1q2r3s4t5v6w"
LINK_ID = "01hq3v6aaaaaaaaaaaaaaaaaaa"
FILE_ID = "01hq3v7bbbbbbbbbbbbbbbbbbb"
CASE = "CASE-2024.001_a"
MAX_BYTES = 1_000_000


def agency(**overrides) -> Agency:
    return Agency(**{"agency_id": AGENCY_ID, "name": "Springfield PD", "created_at": NOW} | overrides)


def link(expires_at: datetime = NOW + timedelta(hours=72)) -> CitizenLink:
    return CitizenLink(link_id=LINK_ID, agency_id=AGENCY_ID, case_ref=CASE, language="en",
                       created_by="key:k1", created_at=NOW, expires_at=expires_at, max_files=50)


def evidence(file_id: str, *, size: int = 1000, content_type: str = "image/jpeg",
             status: FileStatus = FileStatus.AWAITING_UPLOAD) -> EvidenceFile:
    return EvidenceFile(file_id=file_id, name=f"{file_id}.jpg", size=size, content_type=content_type,
                        key=links.object_key(AGENCY_ID, CASE, LINK_ID, file_id), declared_at=NOW,
                        status=status)


def submission(*files: EvidenceFile, status: SubmissionStatus = SubmissionStatus.OPEN) -> Submission:
    return Submission(submission_id=LINK_ID, agency_id=AGENCY_ID, link_id=LINK_ID, case_ref=CASE,
                      created_at=NOW, status=status, files={f.file_id: f for f in files})


def declared(name: str = "photo.jpg", size: int = 1000, content_type: str = "image/jpeg",
             file_id: str | None = None) -> DeclaredFile:
    return DeclaredFile(name=name, size=size, content_type=content_type, file_id=file_id)


def id_maker():
    numbers = count(1)
    return lambda: f"01hq3v8{next(numbers):019d}"


def plan(sub: Submission, files: list[DeclaredFile], *, max_files: int = 50, max_bytes: int = MAX_BYTES):
    return links.plan_files(sub, files, max_files=max_files, max_bytes=max_bytes, now=NOW,
                            new_id=id_maker())


# --- expiry -------------------------------------------------------------------------------

def test_a_link_lasts_the_agencys_default_when_no_hours_are_requested():
    assert links.expiry(NOW, agency(), None) == NOW + timedelta(hours=72)


def test_the_default_follows_the_agencys_setting():
    assert links.expiry(NOW, agency(link_ttl_hours=24), None) == NOW + timedelta(hours=24)


@pytest.mark.parametrize(("requested", "hours"), [
    (1, 1),
    (5, 5),
    (72, 72),
    (100, 100),
    (336, 336),
])
def test_requested_hours_override_the_agency_default(requested, hours):
    assert links.expiry(NOW, agency(), requested) == NOW + timedelta(hours=hours)


@pytest.mark.parametrize(("requested", "hours"), [
    (337, 336),
    (10_000, 336),
    (-5, 1),
])
def test_requested_hours_are_clamped_to_1_to_336(requested, hours):
    assert links.expiry(NOW, agency(), requested) == NOW + timedelta(hours=hours)


@pytest.mark.parametrize(("agency_hours", "hours"), [(0, 1), (1000, 336)])
def test_an_out_of_range_agency_default_is_clamped_too(agency_hours, hours):
    assert links.expiry(NOW, agency(link_ttl_hours=agency_hours), None) == NOW + timedelta(hours=hours)


# --- usable? ------------------------------------------------------------------------------

@pytest.mark.parametrize("sub", [None, submission()], ids=["no-submission-yet", "open-submission"])
def test_a_link_is_usable_one_microsecond_before_it_expires(sub):
    expires = NOW + timedelta(hours=1)
    links.ensure_usable(link(expires), sub, expires - timedelta(microseconds=1))


@pytest.mark.parametrize("after", [timedelta(0), timedelta(microseconds=1), timedelta(days=30)],
                         ids=["at-the-expiry-instant", "just-after", "long-after"])
def test_a_link_is_expired_at_its_expiry_instant_and_after(after):
    expires = NOW + timedelta(hours=1)
    with pytest.raises(Gone) as raised:
        links.ensure_usable(link(expires), submission(), expires + after)
    assert raised.value.code == "link_expired"


def test_a_link_whose_submission_was_completed_is_used_even_before_expiry():
    with pytest.raises(Gone) as raised:
        links.ensure_usable(link(NOW + timedelta(hours=72)), submission(status=SubmissionStatus.SUBMITTED), NOW)
    assert raised.value.code == "link_used"


def test_a_used_link_reports_used_rather_than_expired_after_expiry():
    with pytest.raises(Gone) as raised:
        links.ensure_usable(link(NOW), submission(status=SubmissionStatus.SUBMITTED), NOW + timedelta(days=1))
    assert raised.value.code == "link_used"


# --- object keys --------------------------------------------------------------------------

def test_an_object_key_is_agencies_agency_cases_case_submission_file():
    assert links.object_key(AGENCY_ID, CASE, LINK_ID, FILE_ID) == (
        f"agencies/{AGENCY_ID}/cases/{CASE}/{LINK_ID}/{FILE_ID}"
    )


@pytest.mark.parametrize("case_ref", ["C", "CASE-1", "2024.001", "a_b-c.d", "X" * 64])
def test_an_object_key_parses_back_into_its_parts(case_ref):
    key = links.object_key(AGENCY_ID, case_ref, LINK_ID, FILE_ID)
    assert links.parse_object_key(key) == {
        "agency_id": AGENCY_ID, "case_ref": case_ref, "submission_id": LINK_ID, "file_id": FILE_ID,
    }


@pytest.mark.parametrize("key", [
    pytest.param(f"agencies/{AGENCY_ID}/cases/{CASE}/{LINK_ID}/{FILE_ID}/extra", id="extra-segment-after"),
    pytest.param(f"agencies/{AGENCY_ID}/cases/{CASE}/x/{LINK_ID}/{FILE_ID}", id="extra-segment-inside"),
    pytest.param(f"agencies/{AGENCY_ID}/cases/{CASE}/{LINK_ID}", id="missing-file-id"),
    pytest.param(f"agencies/{AGENCY_ID}/cases/{CASE}/{LINK_ID}/{FILE_ID}/", id="trailing-slash"),
    pytest.param(f"/agencies/{AGENCY_ID}/cases/{CASE}/{LINK_ID}/{FILE_ID}", id="leading-slash"),
    pytest.param(f"agencies/{AGENCY_ID}/cases/../{LINK_ID}/{FILE_ID}/{FILE_ID}", id="dot-dot-case-with-extra-segment"),
    pytest.param(f"agencies/{AGENCY_ID}/cases/{CASE}/../{FILE_ID}", id="dot-dot-as-submission"),
    pytest.param(f"exports/{AGENCY_ID}/cases/{CASE}/{LINK_ID}/{FILE_ID}", id="other-prefix"),
    pytest.param(f"tmp/agencies/{AGENCY_ID}/cases/{CASE}/{LINK_ID}/{FILE_ID}", id="prefixed"),
    pytest.param(f"agencies/{AGENCY_ID}/case/{CASE}/{LINK_ID}/{FILE_ID}", id="misspelt-cases"),
    pytest.param(f"agencies/{AGENCY_ID.upper()}/cases/{CASE}/{LINK_ID}/{FILE_ID}", id="upper-case-agency"),
    pytest.param(f"agencies/{AGENCY_ID}/cases/{CASE}/{LINK_ID.upper()}/{FILE_ID}", id="upper-case-submission"),
    pytest.param(f"agencies/{AGENCY_ID}/cases/{CASE}/{LINK_ID}/{FILE_ID.upper()}", id="upper-case-file"),
    pytest.param(f"agencies/{AGENCY_ID[:-1]}/cases/{CASE}/{LINK_ID}/{FILE_ID}", id="short-agency-id"),
    pytest.param(f"agencies/{AGENCY_ID}x/cases/{CASE}/{LINK_ID}/{FILE_ID}", id="long-agency-id"),
    pytest.param(f"agencies/{AGENCY_ID}/cases//{LINK_ID}/{FILE_ID}", id="empty-case"),
    pytest.param(f"agencies/{AGENCY_ID}/cases/{'X' * 65}/{LINK_ID}/{FILE_ID}", id="case-over-64"),
    pytest.param(f"agencies/{AGENCY_ID}/cases/A B/{LINK_ID}/{FILE_ID}", id="space-in-case"),
    pytest.param("", id="empty"),
])
def test_keys_of_the_wrong_shape_do_not_parse(key):
    assert links.parse_object_key(key) is None


def test_a_key_with_a_trailing_newline_does_not_parse():
    assert links.parse_object_key(f"agencies/{AGENCY_ID}/cases/{CASE}/{LINK_ID}/{FILE_ID}\n") is None


@pytest.mark.parametrize("case_ref", ["..", ".", ".hidden", "-x"])
def test_a_case_segment_that_no_case_ref_could_produce_does_not_parse(case_ref):
    assert links.parse_object_key(f"agencies/{AGENCY_ID}/cases/{case_ref}/{LINK_ID}/{FILE_ID}") is None


# --- declared files -----------------------------------------------------------------------

@pytest.mark.parametrize("content_type", ["text/html", "image/svg+xml", "application/x-msdownload",
                                          "application/octet-stream"])
def test_a_type_outside_the_allow_list_is_unsupported_media(content_type):
    with pytest.raises(UnsupportedMedia) as raised:
        links.check_declared(declared(content_type=content_type), MAX_BYTES)
    assert raised.value.code == "unsupported_media_type"
    assert "image/jpeg" in raised.value.details["allowed"]


@pytest.mark.parametrize("size", [0, -1])
def test_an_empty_file_is_invalid(size):
    with pytest.raises(InvalidInput) as raised:
        links.check_declared(declared(size=size), MAX_BYTES)
    assert raised.value.code == "empty_file"


def test_a_file_over_the_size_limit_is_refused():
    with pytest.raises(LimitExceeded) as raised:
        links.check_declared(declared(size=MAX_BYTES + 1), MAX_BYTES)
    assert raised.value.code == "file_too_large"
    assert raised.value.details == {"max_bytes": MAX_BYTES}


@pytest.mark.parametrize("size", [1, MAX_BYTES - 1, MAX_BYTES])
def test_a_file_up_to_exactly_the_size_limit_is_accepted(size):
    links.check_declared(declared(size=size), MAX_BYTES)


def test_a_declared_type_with_parameters_is_accepted():
    links.check_declared(declared(content_type="video/mp4; codecs=avc1"), MAX_BYTES)


def test_plan_refuses_the_whole_request_if_any_file_is_not_allowed():
    with pytest.raises(UnsupportedMedia):
        plan(submission(), [declared(), declared(name="page.html", content_type="text/html")])


def test_plan_refuses_a_file_over_the_size_limit():
    with pytest.raises(LimitExceeded) as raised:
        plan(submission(), [declared(size=11)], max_bytes=10)
    assert raised.value.code == "file_too_large"


def test_new_files_get_keys_under_agency_case_submission_and_their_own_id():
    added, again = plan(submission(), [declared("a.jpg"), declared("b.mp4", 5000, "video/mp4")])
    assert again == []
    assert [f.name for f in added] == ["a.jpg", "b.mp4"]
    assert len({f.file_id for f in added}) == 2
    for f in added:
        assert f.key == f"agencies/{AGENCY_ID}/cases/{CASE}/{LINK_ID}/{f.file_id}"
        assert links.parse_object_key(f.key)["file_id"] == f.file_id
        assert f.status is FileStatus.AWAITING_UPLOAD
        assert f.declared_at == NOW


def test_new_files_keep_what_was_declared():
    item = DeclaredFile(name="bridge.jpg", size=4321, content_type="image/jpeg", caption="north side")
    (added,), _ = plan(submission(), [item])
    assert (added.name, added.size, added.content_type, added.caption) == (
        "bridge.jpg", 4321, "image/jpeg", "north side")


@pytest.mark.parametrize(("already", "new", "max_files"), [
    (0, 4, 3),
    (3, 1, 3),
    (2, 2, 3),
    (0, 51, 50),
])
def test_more_files_than_the_link_allows_counting_earlier_ones_are_refused(already, new, max_files):
    earlier = [evidence(f"01hq3v9{n:019d}") for n in range(already)]
    with pytest.raises(LimitExceeded) as raised:
        plan(submission(*earlier), [declared() for _ in range(new)], max_files=max_files)
    assert raised.value.code == "too_many_files"
    assert raised.value.details == {"max_files": max_files}


@pytest.mark.parametrize(("already", "new", "max_files"), [
    (0, 3, 3),
    (2, 1, 3),
    (0, 50, 50),
])
def test_exactly_as_many_files_as_the_link_allows_is_fine(already, new, max_files):
    earlier = [evidence(f"01hq3v9{n:019d}") for n in range(already)]
    added, _ = plan(submission(*earlier), [declared() for _ in range(new)], max_files=max_files)
    assert len(added) == new


def test_signing_earlier_files_again_does_not_count_against_the_limit():
    earlier = [evidence(f"01hq3v9{n:019d}") for n in range(3)]
    again_request = [declared(size=1000, content_type="image/jpeg", file_id=f.file_id) for f in earlier]
    added, again = plan(submission(*earlier), again_request, max_files=3)
    assert added == []
    assert again == earlier


def test_redeclaring_a_file_by_its_id_returns_the_existing_file():
    existing = evidence(FILE_ID, size=2000, content_type="video/mp4")
    added, again = plan(submission(existing), [declared("clip.mp4", 2000, "video/mp4", FILE_ID),
                                               declared("new.jpg")])
    assert again == [existing]
    assert [f.name for f in added] == ["new.jpg"]


@pytest.mark.parametrize(("size", "content_type"), [
    (2001, "video/mp4"),
    (2000, "video/quicktime"),
    (1, "image/jpeg"),
])
def test_redeclaring_a_file_with_a_changed_size_or_type_is_refused(size, content_type):
    existing = evidence(FILE_ID, size=2000, content_type="video/mp4")
    with pytest.raises(InvalidInput) as raised:
        plan(submission(existing), [declared("clip.mp4", size, content_type, FILE_ID)])
    assert raised.value.code == "file_changed"


def test_redeclaring_an_unknown_file_id_is_not_found():
    with pytest.raises(NotFound) as raised:
        plan(submission(evidence(FILE_ID)), [declared(file_id="01hq3vzzzzzzzzzzzzzzzzzzzz")])
    assert raised.value.code == "unknown_file"


def test_redeclaring_a_file_of_another_submission_is_not_found():
    with pytest.raises(NotFound):
        plan(submission(), [declared(file_id=FILE_ID)])


@pytest.mark.parametrize("status", [FileStatus.VERIFIED, FileStatus.REJECTED])
def test_a_file_already_checked_cannot_be_signed_for_upload_again(status):
    existing = evidence(FILE_ID, status=status)
    with pytest.raises(Conflict) as refused:
        plan(submission(existing), [declared(file_id=FILE_ID)])
    assert refused.value.code == "file_already_received"


# --- masking ------------------------------------------------------------------------------

@pytest.mark.parametrize(("phone", "masked"), [
    ("+15551234567", "+1******4567"),
    ("+447911123456", "+4*******3456"),
    ("+12345678", "+1***5678"),
])
def test_mask_phone_keeps_only_the_first_two_and_last_four_characters(phone, masked):
    assert links.mask_phone(phone) == masked
    assert len(links.mask_phone(phone)) == len(phone)


@pytest.mark.parametrize(("email", "masked"), [
    ("jane.doe@example.com", "j***@example.com"),
    ("j@example.org", "j***@example.org"),
    ("someone+tag@mail.example.co.uk", "s***@mail.example.co.uk"),
])
def test_mask_email_keeps_only_the_first_letter_and_the_domain(email, masked):
    assert links.mask_email(email) == masked


def test_masking_does_not_reveal_the_length_of_the_local_part():
    assert links.mask_email("ab@x.io") == links.mask_email("abcdefghij@x.io") == "a***@x.io"
