"""Sharing evidence between agencies: what a share is and the pure rules about it. A share gives
another agency read-only sight of the owner's items (one submission, or a whole case) until it is
revoked or its end instant passes. Nothing is copied: the owner's item stays the only one, and
retention and legal hold stay with the owner. Time comes in as `now`."""
from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated

from pydantic import AwareDatetime, Field, StringConstraints, model_validator

from .commands import CaseRef, Command
from .errors import Forbidden, InvalidInput
from .licensing import Entitlements, LicenseKind
from .models import Record, Submission

AgencyId = Annotated[str, StringConstraints(min_length=1, max_length=40)]
ItemId = Annotated[str, StringConstraints(min_length=1, max_length=40)]


class ShareState(str, Enum):
    ACTIVE = "active"
    EXPIRED = "expired"  # its `until` instant has passed
    REVOKED = "revoked"


class Share(Record):
    share_id: str
    owner_agency_id: str
    recipient_agency_id: str
    submission_id: str | None = None  # scope: one submission ...
    case_ref: str | None = None  # ... or every submission of one case
    until: datetime | None = None  # access ends at this instant; None: until revoked
    created_by: str
    created_at: datetime
    revoked_at: datetime | None = None
    revoked_by: str | None = None

    @property
    def scope(self) -> str:
        return f"submission:{self.submission_id}" if self.submission_id else f"case:{self.case_ref}"


class CreateShare(Command):
    """`POST /agency/shares`: one submission or one case, with another agency, optionally until an instant."""

    recipient_agency_id: AgencyId
    submission_id: ItemId | None = None
    case_ref: CaseRef | None = None
    until: AwareDatetime | None = Field(default=None, strict=False)

    @model_validator(mode="after")
    def one_scope(self) -> CreateShare:
        if (self.submission_id is None) == (self.case_ref is None):
            raise ValueError("give submission_id (one item) or case_ref (a whole case), not both")
        return self


def state(share: Share, now: datetime) -> ShareState:
    """Revoked wins over expired; a share expires at its `until` instant exactly."""
    if share.revoked_at is not None:
        return ShareState.REVOKED
    if share.until is not None and now >= share.until:
        return ShareState.EXPIRED
    return ShareState.ACTIVE


def is_active(share: Share, now: datetime) -> bool:
    return state(share, now) is ShareState.ACTIVE


def covers(share: Share, agency_id: str, submission_id: str, case_ref: str) -> bool:
    """Does the share reach this item? Never an item of another agency or another case."""
    if agency_id != share.owner_agency_id:
        return False
    if share.submission_id is not None:
        return submission_id == share.submission_id
    return case_ref == share.case_ref


def covers_submission(share: Share, submission: Submission) -> bool:
    return covers(share, submission.agency_id, submission.submission_id, submission.case_ref)


def check_new(cmd: CreateShare, owner_agency_id: str, now: datetime) -> None:
    """The rules a new share must meet before anything is looked up."""
    if cmd.recipient_agency_id == owner_agency_id:
        raise InvalidInput("An agency cannot share with itself.", code="share_with_self")
    if cmd.until is not None and cmd.until <= now:
        raise InvalidInput("until must be in the future.", code="until_in_past")


def can_receive(ent: Entitlements) -> bool:
    """Receiving needs a licence of any kind, or the program's (which includes limited mode after
    it ends). Only a first-time agency that was never enrolled, with no licence at all, cannot."""
    return ent.kind is not LicenseKind.NONE or ent.enrolled


def ensure_can_receive(ent: Entitlements, *, recipient: bool) -> None:
    if can_receive(ent):
        return
    whose = "Your agency has" if recipient else "That agency has"
    raise Forbidden(f"{whose} no licence, so it cannot receive shared evidence.", code="cannot_receive_shares")
