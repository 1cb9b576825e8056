"""Community portals (Citizen for Communities): an agency's public page for an event, where anyone
may send evidence after accepting its terms. The portal, its rules (slug, window, terms, contact
details asked for, abuse caps) and whether it takes submissions at a given instant. Pure: time is
a parameter; text is stored as given and escaped where it is shown."""
from __future__ import annotations

import re
from datetime import datetime, timedelta
from enum import Enum
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, ValidationInfo, field_validator

from .commands import _CONTROL, CaseRef, Command, Email, Phone
from .errors import Conflict, Gone, InvalidInput
from .limits import Cap
from .models import Record

GIB = 1024**3
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$")  # 3-64: lowercase letters, digits, hyphens
Language = Literal["en", "es", "fr"]
Slug = Annotated[str, StringConstraints(min_length=3, max_length=64)]  # checked by check_slug for its own code
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
Line = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
TermsText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
SESSION_HOURS = 24  # how long a portal's upload link lives (never past the portal's close)


class PortalState(str, Enum):
    DRAFT = "draft"  # created, not opened yet by the agency
    OPEN = "open"  # opened: takes submissions within its window
    CLOSED = "closed"  # closed by the agency


class Availability(str, Enum):
    """What the public sees at an instant."""

    OPEN = "open"
    NOT_YET_OPEN = "not_yet_open"
    CLOSED = "closed"


class Ask(str, Enum):
    """Whether a contact detail is asked for."""

    NONE = "none"
    OPTIONAL = "optional"
    REQUIRED = "required"


class ContactFields(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    # Enum values from JSON text: not strict, even inside a strict command.
    name: Ask = Field(default=Ask.NONE, strict=False)
    email: Ask = Field(default=Ask.NONE, strict=False)
    phone: Ask = Field(default=Ask.NONE, strict=False)


class Terms(BaseModel):
    """What a submitter must accept; a new version is a new text, accepted afresh."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    version: Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")]
    text: dict[Language, TermsText]

    @field_validator("text")
    @classmethod
    def english_at_least(cls, value: dict[str, str]) -> dict[str, str]:
        if "en" not in value:
            raise ValueError("the terms need an English text (Spanish and French are optional)")
        return value

    def text_in(self, language: str) -> str:
        return self.text.get(language) or self.text["en"]  # type: ignore[call-overload]


class PortalCaps(BaseModel):
    """Abuse caps per window: per portal (everyone) and per client (one address)."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    window_seconds: int = Field(default=3600, ge=60, le=86400)
    sessions_per_client: int = Field(default=10, ge=1, le=10_000)
    sessions_per_portal: int = Field(default=5_000, ge=1, le=1_000_000)
    files_per_client: int = Field(default=100, ge=1, le=100_000)
    files_per_portal: int = Field(default=50_000, ge=1, le=10_000_000)
    bytes_per_client: int = Field(default=50 * GIB, ge=1, le=10**15)
    bytes_per_portal: int = Field(default=5_000 * GIB, ge=1, le=10**18)
    files_per_session: int = Field(default=20, ge=1, le=200)

    def cap(self, limit: int) -> Cap:
        return Cap(limit=limit, seconds=self.window_seconds)


class Portal(Record):
    portal_id: str
    agency_id: str
    slug: str
    case_ref: str
    title: str
    description: str = ""
    location: str = ""
    agency_contact: str = ""  # how the public reaches the agency about this portal
    opens_at: datetime | None = None
    closes_at: datetime | None = None
    terms: Terms
    contact: ContactFields = Field(default_factory=ContactFields)
    caps: PortalCaps = Field(default_factory=PortalCaps)
    language: Language | None = None  # the page's language; None: the browser's
    state: PortalState = PortalState.DRAFT
    created_by: str
    created_at: datetime
    updated_at: datetime
    version: int = 0
    sessions: int = 0  # sessions opened (a statistic, counted after the session is written)
    refused: int = 0  # requests refused: portal not open, caps reached


class EditPortal(Command):
    """The fields an admin sets; on an edit only those given change (`opens_at`/`closes_at`: null
    drops the bound)."""

    title: Title | None = None
    description: Description | None = None
    location: Line | None = None
    agency_contact: Line | None = None
    slug: Slug | None = None
    opens_at: AwareDatetime | None = Field(default=None, strict=False)
    closes_at: AwareDatetime | None = Field(default=None, strict=False)
    terms: Terms | None = None
    contact: ContactFields | None = None
    caps: PortalCaps | None = None
    language: Language | None = None

    @field_validator("title", "location", "agency_contact")
    @classmethod
    def one_line(cls, value: str | None, info: ValidationInfo) -> str | None:
        cleaned = None if value is None else _CONTROL.sub(" ", value).strip()
        if cleaned == "" and info.field_name == "title":
            raise ValueError("the title has no visible text")
        return cleaned


class CreatePortal(EditPortal):
    title: Title
    slug: Slug
    terms: Terms
    case_ref: CaseRef | None = None  # where its submissions are filed; default: the slug


class ContactDetails(Command):
    name: Line | None = None
    email: Email | None = None
    phone: Phone | None = None


class StartSession(Command):
    """The submitter's request for an upload session: the terms they accepted and their contact."""

    terms_version: Annotated[str, StringConstraints(max_length=32)]
    accept_terms: bool
    language: Language = "en"
    contact: ContactDetails = Field(default_factory=ContactDetails)


class SmsLink(StartSession):
    """The same, and a number to text the private link to (E.164)."""

    send_to: Phone


def check_slug(slug: str) -> str:
    if not SLUG.fullmatch(slug) or "--" in slug:
        raise InvalidInput("The address must be 3 to 64 lowercase letters, digits or single hyphens, "
                           "starting and ending with a letter or digit.", code="invalid_slug")
    return slug


def check_window(opens_at: datetime | None, closes_at: datetime | None) -> None:
    for bound in (opens_at, closes_at):
        if bound is not None and bound.tzinfo is None:
            raise InvalidInput("Opening and closing times need a time zone (e.g. 2024-07-04T09:00:00Z).",
                               code="window_without_zone")
    if opens_at is not None and closes_at is not None and closes_at <= opens_at:
        raise InvalidInput("The portal must close after it opens.", code="window_closes_before_opening")


def availability(portal: Portal, now: datetime) -> Availability:
    if portal.state is PortalState.CLOSED:
        return Availability.CLOSED
    if portal.state is PortalState.DRAFT or (portal.opens_at is not None and now < portal.opens_at):
        return Availability.NOT_YET_OPEN
    if portal.closes_at is not None and now >= portal.closes_at:
        return Availability.CLOSED
    return Availability.OPEN


def ensure_open(portal: Portal, now: datetime) -> None:
    refuse_unless_open(availability(portal, now))


def refuse_unless_open(state: Availability) -> None:
    if state is Availability.CLOSED:
        raise Gone("This portal is closed and no longer takes submissions.", code="portal_closed")
    if state is Availability.NOT_YET_OPEN:
        raise Conflict("This portal is not open yet.", code="portal_not_open")


def ensure_accepted(portal: Portal, cmd: StartSession) -> None:
    if not cmd.accept_terms:
        raise InvalidInput("The terms must be accepted before sending anything.", code="terms_not_accepted")
    if cmd.terms_version != portal.terms.version:
        raise Conflict("The terms have changed; read and accept the current version.", code="terms_changed",
                       details={"terms_version": portal.terms.version})


def collected_contact(portal: Portal, given: ContactDetails) -> dict[str, str]:
    """The contact details the portal asks for, checked; details it does not ask for are dropped."""
    kept: dict[str, str] = {}
    for name in ("name", "email", "phone"):
        ask, value = getattr(portal.contact, name), getattr(given, name)
        if ask is Ask.REQUIRED and not value:
            raise InvalidInput(f"This portal needs your {name}.", code="contact_required", details={"field": name})
        if ask is not Ask.NONE and value:
            kept[name] = value
    return kept


def session_expiry(portal: Portal, now: datetime) -> datetime:
    ends = now + timedelta(hours=SESSION_HOURS)
    return min(ends, portal.closes_at) if portal.closes_at else ends


def link_creator(portal_id: str) -> str:
    """Who a portal session's link (and so its submission) names as its creator."""
    return f"portal:{portal_id}"


REQUIRED_FIELDS = ("title", "description", "location", "agency_contact", "slug", "terms", "contact", "caps")


def edited(portal: Portal, cmd: EditPortal, now: datetime) -> Portal:
    """The portal with the given fields changed, checked as a whole."""
    changes = cmd.model_dump(exclude_unset=True)
    cleared = [name for name in REQUIRED_FIELDS if name in changes and changes[name] is None]
    if cleared:
        raise InvalidInput(f"{cleared[0]} cannot be removed.", code="validation_error")
    if "terms" in changes:
        changes["terms"] = cmd.terms  # a new terms text is a whole new version
    for name in ("contact", "caps"):  # only the members given change: the others keep their values
        if name in changes:
            current, given = getattr(portal, name), getattr(cmd, name)
            changes[name] = type(current).model_validate(current.model_dump() | given.model_dump(exclude_unset=True))
    if "slug" in changes:
        check_slug(changes["slug"])
    updated = portal.model_copy(update={**changes, "updated_at": now})
    check_window(updated.opens_at, updated.closes_at)
    return updated
