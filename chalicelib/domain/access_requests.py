"""Requests for access to the emergency program, from any public-safety or public-health entity."""
from __future__ import annotations

import hashlib
import re
import unicodedata
from datetime import datetime
from enum import Enum
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from .commands import Command, Email, Phone
from .models import Record

OrgType = Literal["public_safety", "public_health", "other"]
CurrentLicense = Literal["evidence_basic", "evidence_pro", "evidence_lite", "osp7_plus", "none"]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=200)]


class RequestStatus(str, Enum):
    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"


class SubmitAccessRequest(Command):
    organisation: Text
    organisation_type: OrgType
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
    contact_name: Text
    contact_email: Email
    contact_phone: Phone | None = None
    current_license: CurrentLicense = "none"
    message: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] | None = None


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
    current_license: CurrentLicense
    message: str | None = None
    status: RequestStatus = RequestStatus.PENDING
    received_at: datetime
    decided_at: datetime | None = None
    decided_by: str | None = None
    decision_reason: str | None = None
    agency_id: str | None = None
    fingerprint: str = Field(default="")


def fingerprint(organisation: str, country: str) -> str:
    """Same organisation in the same country, however it was typed: case, accents, punctuation and
    spacing do not make a new request."""
    folded = unicodedata.normalize("NFKD", organisation).encode("ascii", "ignore").decode().lower()
    words = re.sub(r"[^a-z0-9]+", " ", folded).split()
    return hashlib.sha256(f"{country}|{' '.join(words)}".encode()).hexdigest()
