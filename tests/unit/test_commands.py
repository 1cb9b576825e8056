"""Request bodies are validated strictly: wrong types and unknown fields are refused, not coerced."""
from __future__ import annotations

import pytest
from pydantic import ValidationError

from chalicelib.domain.commands import CreateCitizenLink, DeclaredFile, RequestUploads

PHONE = "+15551234567"
EMAIL = "jane.doe@example.com"


def create(**fields) -> CreateCitizenLink:
    return CreateCitizenLink(**({"case_ref": "CASE-1", "phone": PHONE} | fields))


def file(**fields) -> DeclaredFile:
    return DeclaredFile(**({"name": "photo.jpg", "size": 1000, "content_type": "image/jpeg"} | fields))


def refused(build, **fields) -> None:
    with pytest.raises(ValidationError):
        build(**fields)


# --- CreateCitizenLink: recipient -----------------------------------------------------------

@pytest.mark.parametrize(("phone", "email"), [
    (PHONE, None),
    (None, EMAIL),
    (PHONE, EMAIL),
])
def test_a_link_goes_to_a_phone_an_email_or_both(phone, email):
    cmd = CreateCitizenLink(case_ref="CASE-1", phone=phone, email=email)
    assert (cmd.phone, cmd.email) == (phone, email)


def test_a_link_with_neither_phone_nor_email_is_refused():
    refused(CreateCitizenLink, case_ref="CASE-1")


def test_empty_phone_and_email_do_not_count_as_a_recipient():
    refused(CreateCitizenLink, case_ref="CASE-1", phone=None, email=None)


@pytest.mark.parametrize("phone", [
    "+12345678",          # 8 digits: the shortest accepted
    "+15551234567",
    "+447911123456",
    "+123456789012345",   # 15 digits: the E.164 maximum
])
def test_e164_phone_numbers_are_accepted(phone):
    assert create(phone=phone).phone == phone


def test_spaces_around_a_phone_number_are_trimmed():
    assert create(phone="  +15551234567 ").phone == "+15551234567"


@pytest.mark.parametrize("phone", [
    pytest.param("15551234567", id="no-plus"),
    pytest.param("005551234567", id="international-prefix-instead-of-plus"),
    pytest.param("+1234567", id="too-short"),
    pytest.param("+1234567890123456", id="too-long"),
    pytest.param("+1555CALLNOW", id="letters"),
    pytest.param("+1555123456a", id="trailing-letter"),
    pytest.param("+05551234567", id="country-code-starting-with-0"),
    pytest.param("+1 555 123 4567", id="inner-spaces"),
    pytest.param("+1-555-123-4567", id="dashes"),
    pytest.param("++15551234567", id="two-pluses"),
    pytest.param("+", id="plus-only"),
    pytest.param("", id="empty"),
    pytest.param("+15551234567\n+15559999999", id="two-numbers"),
])
def test_phone_numbers_that_are_not_e164_are_refused(phone):
    refused(create, phone=phone)


@pytest.mark.parametrize("email", [
    "no-at-sign.example.com",
    "two@@example.com",
    "jane@localhost",
    "jane doe@example.com",
    "@example.com",
    "jane@",
    "",
    "a" * 250 + "@example.com",
])
def test_malformed_email_addresses_are_refused(email):
    refused(create, email=email)


# --- CreateCitizenLink: case reference ------------------------------------------------------

@pytest.mark.parametrize("case_ref", ["C", "CASE-1", "2024.001", "a_b-c.d", "X" * 64])
def test_case_references_of_letters_digits_dots_dashes_and_underscores_are_accepted(case_ref):
    assert create(case_ref=case_ref).case_ref == case_ref


@pytest.mark.parametrize("case_ref", [
    pytest.param("CASE 1", id="space"),
    pytest.param("CASE/1", id="slash"),
    pytest.param("CASE\\1", id="backslash"),
    pytest.param("..", id="dot-dot"),
    pytest.param("../etc", id="dot-dot-slash"),
    pytest.param(".hidden", id="leading-dot"),
    pytest.param("-x", id="leading-dash"),
    pytest.param("", id="empty"),
    pytest.param("   ", id="blank"),
    pytest.param("X" * 65, id="over-64"),
    pytest.param("CASE\n1", id="newline"),
    pytest.param("CASE#1", id="hash"),
    pytest.param("caso-ñ", id="non-ascii"),
])
def test_case_references_that_could_not_be_a_key_segment_are_refused(case_ref):
    refused(create, case_ref=case_ref)


# --- CreateCitizenLink: the other fields ------------------------------------------------------

@pytest.mark.parametrize("language", ["en", "es", "fr"])
def test_supported_languages_are_accepted(language):
    assert create(language=language).language == language


def test_the_language_defaults_to_english():
    assert create().language == "en"


@pytest.mark.parametrize("language", ["de", "EN", "en-US", "", "english"])
def test_unknown_languages_are_refused(language):
    refused(create, language=language)


@pytest.mark.parametrize("hours", [1, 72, 336])
def test_expiry_hours_from_1_to_336_are_accepted(hours):
    assert create(expires_in_hours=hours).expires_in_hours == hours


@pytest.mark.parametrize("hours", [0, -1, 337, 10_000])
def test_expiry_hours_outside_1_to_336_are_refused(hours):
    refused(create, expires_in_hours=hours)


@pytest.mark.parametrize(("field", "value"), [
    ("expires_in_hours", "5"),
    ("expires_in_hours", 5.0),
    ("expires_in_hours", True),
    ("case_ref", 123),
    ("phone", 15551234567),
    ("language", ["en"]),
    ("note", 42),
])
def test_values_of_the_wrong_type_are_refused_not_coerced(field, value):
    refused(create, **{field: value})


@pytest.mark.parametrize("extra", [{"admin": True}, {"agency_id": "other"}, {"expires_at": "2030-01-01"}])
def test_unknown_fields_are_refused(extra):
    refused(create, **extra)


def test_a_note_of_up_to_500_characters_is_accepted_and_a_longer_one_refused():
    assert create(note="n" * 500).note == "n" * 500
    refused(create, note="n" * 501)


def test_the_same_rules_apply_to_a_json_body():
    assert CreateCitizenLink.model_validate_json('{"case_ref": "C-1", "email": "a@b.io", "expires_in_hours": 5}')
    with pytest.raises(ValidationError):
        CreateCitizenLink.model_validate_json('{"case_ref": "C-1", "email": "a@b.io", "expires_in_hours": "5"}')


# --- DeclaredFile -----------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "kept"), [
    ("photo.jpg", "photo.jpg"),
    ("C:\\fakepath\\a.jpg", "a.jpg"),
    ("../../etc/passwd", "passwd"),
    ("..\\..\\windows\\win.ini", "win.ini"),
    ("/var/mobile/Media/DCIM/IMG_0001.HEIC", "IMG_0001.HEIC"),
    ("dir/sub/clip.mp4", "clip.mp4"),
    ("  spaced name.jpg  ", "spaced name.jpg"),
])
def test_only_the_last_segment_of_a_file_name_is_kept(name, kept):
    assert file(name=name).name == kept


@pytest.mark.parametrize(("name", "kept"), [
    ("a\x00b.jpg", "ab.jpg"),
    ("evil\r\nSet-Cookie: x.jpg", "evilSet-Cookie: x.jpg"),
    ("tab\there.jpg", "tabhere.jpg"),
    ("del\x7f.jpg", "del.jpg"),
    ("\x1b[31mred.jpg", "[31mred.jpg"),
])
def test_control_characters_are_stripped_from_file_names(name, kept):
    assert file(name=name).name == kept


@pytest.mark.parametrize("char", ["\x85", "\x9b", "\u2028", "\u2029"])
def test_unicode_control_and_line_separator_characters_are_stripped_from_file_names(char):
    assert file(name=f"a{char}b.jpg").name == "ab.jpg"


@pytest.mark.parametrize("name", ["dir/", "C:\\folder\\", "\x00\x01", "/"])
def test_a_name_with_nothing_left_becomes_file(name):
    assert file(name=name).name == "file"


@pytest.mark.parametrize("name", ["", "   ", "x" * 256])
def test_empty_or_over_long_file_names_are_refused(name):
    refused(file, name=name)


@pytest.mark.parametrize(("field", "value"), [
    ("size", "1000"),
    ("size", 1000.0),
    ("size", None),
    ("name", 5),
    ("content_type", None),
    ("file_id", 7),
])
def test_declared_files_refuse_values_of_the_wrong_type(field, value):
    refused(file, **{field: value})


@pytest.mark.parametrize("missing", ["name", "size", "content_type"])
def test_declared_files_need_a_name_size_and_type(missing):
    fields = {"name": "a.jpg", "size": 1, "content_type": "image/jpeg"}
    del fields[missing]
    refused(DeclaredFile, **fields)


def test_declared_files_refuse_unknown_fields():
    refused(file, key="agencies/x/cases/y/z/w")


def test_declared_files_refuse_over_long_captions_and_file_ids():
    refused(file, caption="c" * 1001)
    refused(file, file_id="f" * 41)


# --- RequestUploads ---------------------------------------------------------------------------

ONE = {"name": "a.jpg", "size": 1, "content_type": "image/jpeg"}


@pytest.mark.parametrize("count", [1, 2, 200])
def test_an_upload_request_carries_1_to_200_files(count):
    request = RequestUploads(files=[ONE] * count)
    assert len(request.files) == count
    assert all(isinstance(f, DeclaredFile) for f in request.files)


@pytest.mark.parametrize("count", [0, 201])
def test_an_upload_request_with_no_files_or_over_200_is_refused(count):
    refused(RequestUploads, files=[ONE] * count)


def test_an_upload_request_needs_a_list_of_files():
    refused(RequestUploads)
    refused(RequestUploads, files=ONE)


def test_each_file_of_an_upload_request_is_validated():
    refused(RequestUploads, files=[ONE, ONE | {"size": "1"}])
    refused(RequestUploads, files=[ONE | {"extra": 1}])


# --- SHA-256 in hex: one type for every body that carries one -------------------------------

def test_a_sha256_in_any_case_is_kept_in_lower_case_and_anything_else_is_refused() -> None:
    from chalicelib.domain.commands import CompleteFile
    from chalicelib.domain.program_commands import AcceptTier2

    upper = "AB" * 32
    assert CompleteFile(sha256=upper).sha256 == "ab" * 32
    assert AcceptTier2(terms_version="v1", sha256=f" {upper} ").sha256 == "ab" * 32
    for bad in ("ab" * 31, "zz" * 32, "ab" * 33):
        refused(CompleteFile, sha256=bad)
        refused(AcceptTier2, terms_version="v1", sha256=bad)
