"""Validated request bodies. Strict: wrong types are refused, not coerced; unknown fields too."""
from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

LANGUAGES = ("en", "es", "fr")

CaseRef = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
# E.164: a plus, a country code that does not start with 0, at most 15 digits in all.
Phone = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\+[1-9][0-9]{7,14}$")]
# ASCII only, as SES takes it: a local part of RFC 5322 atom characters, a domain of host-name labels.
# Anything looser reaches SES, whose refusal was a 502 (found by tests/e2e/test_fuzz_api.py).
Email = Annotated[str, StringConstraints(
    strip_whitespace=True, max_length=254,
    pattern=r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$")]
CaseType = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")]
Days = Annotated[int, Field(ge=1, le=36_500)]
# A SHA-256 in hex: any case accepted, kept in lower case (how ingest and the program compare hashes).
Sha256Hex = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, pattern=r"^[0-9A-Fa-f]{64}$")]
Sha256B64 = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9+/]{43}=$")]
PartNumber = Annotated[int, Field(ge=1, le=10_000)]
# Control characters (C0, DEL, C1) and line/paragraph separators: names reach download headers.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


class Command(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, defer_build=True)  # built on first use


class CreateCitizenLink(Command):
    case_ref: CaseRef
    case_type: CaseType | None = None
    phone: Phone | None = None
    email: Email | None = None
    language: Literal["en", "es", "fr"] = "en"
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] | None = None
    expires_in_hours: int | None = Field(default=None, ge=1, le=336)

    @model_validator(mode="after")
    def needs_a_recipient(self) -> "CreateCitizenLink":
        if not self.phone and not self.email:
            raise ValueError("give a phone number (E.164, e.g. +15551234567) or an email address")
        return self


class DeclaredFile(Command):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
    size: int
    content_type: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=100)]
    caption: Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)] | None = None
    file_id: str | None = Field(default=None, max_length=40)  # re-sign a file declared before
    sha256: Sha256Hex | None = None  # the content's hash, when the page has read it: bound in the POST

    @field_validator("name")
    @classmethod
    def plain_file_name(cls, value: str) -> str:
        # Keep only the last path segment and drop control characters: names reach download headers.
        return _CONTROL.sub("", value.replace("\\", "/").rsplit("/", 1)[-1]) or "file"


class RequestUploads(Command):
    files: list[DeclaredFile] = Field(min_length=1, max_length=200)


class StartCapture(Command):
    """An officer's own evidence for a case of the caller's agency. Its origin is not a field: the
    system sets it (a body naming one is refused, as any unknown field is)."""

    case_ref: CaseRef
    case_type: CaseType | None = None
    files: list[DeclaredFile] = Field(min_length=1, max_length=200)

    @model_validator(mode="after")
    def only_new_files(self) -> "StartCapture":
        if any(f.file_id for f in self.files):
            raise ValueError("a new capture declares new files; sign a declared file again with "
                             "POST /agency/captures/{id}/files")
        return self


class PartRequest(Command):
    part_number: PartNumber
    sha256: Sha256B64 | None = None  # base64, as S3's x-amz-checksum-sha256: S3 checks the part against it


class SignParts(Command):
    """Part URLs asked for on demand, a few at a time, so none expires under a sleeping phone."""

    parts: list[PartRequest] = Field(min_length=1, max_length=100)


class HeldPart(Command):
    part_number: PartNumber
    etag: Annotated[str, StringConstraints(min_length=1, max_length=100)]


class CompleteFile(Command):
    """Assemble a multipart file from its parts; `sha256` is the whole file's hash as the page read it
    (ingest compares it with the stored bytes); `parts`, if given, must be what S3 holds."""

    sha256: Sha256Hex | None = None
    parts: list[HeldPart] | None = Field(default=None, max_length=10_000)


class CompleteSubmission(Command):
    """No fields yet; an empty JSON object (or no body) completes the session."""


class UpdateAgencySettings(Command):
    link_ttl_hours: int | None = Field(default=None, ge=1, le=336)
    max_files_per_link: int | None = Field(default=None, ge=1, le=200)
    auto_accept: bool | None = None
    contact_email: Email | None = None


class ReviewSubmission(Command):
    decision: Literal["accept", "decline"]
    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)] | None = None
    change: bool = False


class SetRetentionPolicy(Command):
    """Days per category, or null to keep indefinitely. Replaces the whole policy."""

    default_days: Days | None
    declined_days: Days | None = None
    by_case_type: dict[CaseType, Days | None] = Field(default_factory=dict, max_length=50)


class PlaceHold(Command):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=1000)]


class SetLicense(Command):
    kind: Literal["evidence_basic", "evidence_pro", "evidence_lite", "osp7_plus", "none"]
    citizen_addon: bool = False
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] | None = None


class ExtendProgram(Command):
    end: date = Field(strict=False)
    agency_id: str | None = Field(default=None, max_length=40)


class SetQuota(Command):
    """The program storage quota of one agency, or of every agency of a restricted kind."""

    quota_bytes: int = Field(gt=0)
    agency_id: str | None = Field(default=None, max_length=40)
    kind: Literal["none", "evidence_lite"] | None = None  # for everyone of this kind (default: none)

    @model_validator(mode="after")
    def one_agency_or_one_kind(self) -> "SetQuota":
        if self.agency_id is not None and self.kind is not None:
            raise ValueError("give agency_id (one agency) or kind (every agency of that kind), not both")
        return self


class SetTimeZone(Command):
    """An agency's IANA time zone (e.g. "America/Chicago"); null goes back to its country's."""

    time_zone: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None


class SetCountryDate(Command):
    available_from: date = Field(strict=False)
