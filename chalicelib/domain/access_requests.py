"""Requests for access to the emergency program, from any public-safety or public-health entity.

The licence named on the form is a claim: approval never grants it on the requester's word. The
operator confirms or corrects it (or leaves the first-time program licence); an existing agency
(named on the form or matched by the operator) is enrolled as it is, with the licence on record."""
from __future__ import annotations

import hashlib
import re
import unicodedata
from datetime import datetime
from enum import Enum
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from .commands import Command, Email, Phone
from .models import Record

OrgType = Literal["public_safety", "public_health", "other"]
CurrentLicense = Literal["evidence_basic", "evidence_pro", "evidence_lite", "osp7_plus", "none"]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=200)]
AgencyId = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9a-hjkmnp-tv-z]{26}$")]


class RequestStatus(str, Enum):
    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"


class LicenseDecision(str, Enum):
    """How the approved licence relates to the one the form claimed."""

    CONFIRMED = "confirmed"  # the operator granted the licence the form named
    CORRECTED = "corrected"  # the operator granted another licence
    PROGRAM_DEFAULT = "program_default"  # no licence confirmed: the first-time program licence
    ON_RECORD = "on_record"  # an existing agency: its licence on record, unchanged


class SubmitAccessRequest(Command):
    organisation: Text
    organisation_type: OrgType
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
    contact_name: Text
    contact_email: Email
    contact_phone: Phone | None = None
    current_license: CurrentLicense = "none"
    existing_agency_id: AgencyId | None = None  # an agency that already has an account here
    message: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] | None = None


class ApproveAccessRequest(Command):
    """The operator's approval. `license`: the licence the operator confirmed for a new agency
    (absent: the first-time program licence). `agency_id`: the existing agency to enrol (absent:
    the one the form named, if any; null: create a new agency whatever the form said)."""

    license: CurrentLicense | None = None
    agency_id: AgencyId | None = None

    @model_validator(mode="after")
    def licence_of_an_existing_agency_stays_on_record(self) -> "ApproveAccessRequest":
        if self.license is not None and self.agency_id is not None:
            raise ValueError("an existing agency keeps its licence on record: give license or agency_id, not both")
        return self


class DenyAccessRequest(Command):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=1000)]


class AccessRequest(Record):
    request_id: str
    organisation: str
    organisation_type: OrgType
    country: str
    contact_name: str
    contact_email: str
    contact_phone: str | None = None
    current_license: CurrentLicense  # what the requester claims; approval decides what is granted
    existing_agency_id: str | None = None  # the requester's claim, checked when approving
    message: str | None = None
    status: RequestStatus = RequestStatus.PENDING
    received_at: datetime
    decided_at: datetime | None = None
    decided_by: str | None = None
    decision_reason: str | None = None
    agency_id: str | None = None  # the agency approval created or enrolled
    granted_license: CurrentLicense | None = None
    license_decision: LicenseDecision | None = None
    fingerprint: str = Field(default="")


def fingerprint(organisation: str, country: str) -> str:
    """Same organisation in the same country, however it was typed: case, accents, punctuation and
    spacing do not make a new request."""
    folded = unicodedata.normalize("NFKD", organisation).encode("ascii", "ignore").decode().lower()
    words = re.sub(r"[^a-z0-9]+", " ", folded).split()
    return hashlib.sha256(f"{country}|{' '.join(words)}".encode()).hexdigest()
