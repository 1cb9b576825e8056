"""Request bodies of the improvement program's routes (agency and operator). Strict like every
Command: unknown fields and wrong types are refused; every string is bounded. Text is stored as
sent (HTML included, as text): whoever shows it escapes it."""
from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from .commands import CaseRef, Command, Sha256Hex

ItemId = Annotated[str, StringConstraints(min_length=1, max_length=40)]
VERSION_ID = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"  # a terms version; checked before any lookup by it
VersionId = Annotated[str, StringConstraints(strip_whitespace=True, pattern=VERSION_ID)]
Country = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
TierName = Literal["tier_1", "tier_2"]
MAX_TERMS_CHARS = 60_000  # the whole body is at most 64 KiB


Text200 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Text100 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Text500 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
Text2k = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2_000)]
Text4k = Annotated[str, StringConstraints(strip_whitespace=True, max_length=4_000)]
TermsText = Annotated[str, StringConstraints(min_length=1, max_length=MAX_TERMS_CHARS)]  # hashed as sent


# --- agency ----------------------------------------------------------------------------------------

class AcceptTier2(Command):
    """`POST /agency/program/tier2`: the terms version accepted and the SHA-256 of its document."""

    terms_version: VersionId
    sha256: Sha256Hex


class RequestWithdrawal(Command):
    """`POST /agency/program/withdrawal`: no fields (an empty body or `{}`)."""


class RequestRemoval(Command):
    """`POST /agency/program/removals`: some of the agency's submissions, or one of its cases."""

    submission_ids: list[ItemId] = Field(default_factory=list, max_length=100)
    case_ref: CaseRef | None = None

    @model_validator(mode="after")
    def one_scope(self) -> RequestRemoval:
        if bool(self.submission_ids) == (self.case_ref is not None):
            raise ValueError("give submission_ids (some items) or case_ref (one case), not both")
        if len(set(self.submission_ids)) != len(self.submission_ids):
            raise ValueError("a submission id is named twice")
        return self


# --- operator --------------------------------------------------------------------------------------

class RecordContract(Command):
    """A customer agreement as executed; `contract_id` is the operator's reference (made if absent)."""

    contract_id: VersionId | None = None
    country: Country
    executed_on: date = Field(strict=False)
    includes_program_terms: bool


class EndContract(Command):
    ended_on: date = Field(strict=False)


class PublishTerms(Command):
    """A terms version: its document (its SHA-256 is computed here, never taken from the caller)."""

    version: VersionId
    document: TermsText
    tier: TierName = "tier_2"
    deletion_days: int = Field(default=30, ge=1, le=365)


class UseCaseBody(Command):
    """A use case's declaration; an edit sends all of it again (a new version)."""

    title: Text200
    purpose: Text2k
    data_types: list[Text100] = Field(min_length=1, max_length=50)
    technique: Text500
    retention: Text500
    practices: Text4k = ""
    tier: TierName = "tier_1"
