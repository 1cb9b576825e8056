"""The improvement program's public side beyond the registry: change notices (who is told, of what,
once) and the public's feedback. Pure: time comes in as `now`.

A notice is derived from the use-case versions themselves, never stored as a to-do: a version that
was announced (a new use case, or a material edit announced again) or a use case that was retired.
Its id is fixed by what it tells (`<use case>:v<n>:announced`, `<use case>:retired`), so the
scheduler can claim each (notice, recipient) pair once with a conditional write."""
from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from enum import Enum
from typing import Annotated, Literal, Protocol

from pydantic import Field, StringConstraints

from .commands import Command, Email
from .models import AuditEvent, Record
from .program import ProgramRules
from .program_use_cases import UseCaseVersion

CONFIRM_HOURS = 72  # a confirmation link works this long; after it, subscribe again
LOOK_BACK_DAYS = 7  # a change older than this is not notified (a run missed for a week is not caught up)
MAX_FEEDBACK_CHARS = 2_000
Language = Literal["en", "es", "fr"]


class SubscriptionState(str, Enum):
    PENDING = "pending"  # nothing is sent to it but the confirmation
    CONFIRMED = "confirmed"
    UNSUBSCRIBED = "unsubscribed"


class Subscription(Record):
    """An address that asked for change notices. Found by the SHA-256 of its token (the only form
    the token is stored in); the same token confirms it and unsubscribes it."""

    subscription_id: str
    email: str
    language: Language = "en"
    state: SubscriptionState = SubscriptionState.PENDING
    created_at: datetime
    confirm_by: datetime
    confirmed_at: datetime | None = None
    unsubscribed_at: datetime | None = None


class NoticeKind(str, Enum):
    ANNOUNCED = "announced"  # a new use case announced
    MATERIAL_EDIT = "material_edit"  # a new version of an announced use case, announced again
    RETIRED = "retired"


class Delivery(str, Enum):
    """What became of one notice for one recipient in a run."""

    SENT = "sent"
    FAILED = "failed"  # SES refused it; claimed, so not tried again
    ALREADY_SENT = "already_sent"  # claimed before (by this run's predecessor or a concurrent one)
    OPTED_OUT = "opted_out"  # the address used an unsubscribe link (domain rule `silenced`)


class Notice(Record):
    notice_id: str
    kind: NoticeKind
    use_case_id: str
    version: int
    title: str
    at: datetime  # when the change was made
    effective_on: str | None = None


class Feedback(Record):
    """What someone wrote on the transparency page: stored as sent (HTML is text), shown escaped."""

    feedback_id: str
    message: str
    email: str | None = None
    use_case_id: str | None = None
    language: Language = "en"
    received_at: datetime


# --- request bodies --------------------------------------------------------------------------------

FeedbackText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_FEEDBACK_CHARS)]
UseCaseRef = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9a-z]{26}$")]


class SubmitFeedback(Command):
    """`POST /transparency/feedback` (JSON or a plain HTML form)."""

    message: FeedbackText
    email: Email | None = None
    use_case_id: UseCaseRef | None = None
    language: Language = "en"


class Subscribe(Command):
    """`POST /transparency/subscriptions`."""

    email: Email
    language: Language = "en"


class SetProgramRules(Command):
    """`PUT /operator/program/settings`: under 30 days is refused as `notice_too_short` by the rule
    itself (domain/program.rules), not by this shape."""

    notice_days: int = Field(ge=1, le=3_650)
    terms_from: date = Field(strict=False)


# --- rules -----------------------------------------------------------------------------------------

def recipient_key(email: str) -> str:
    """Who a notice went to, without the address: one key per mailbox (case-insensitive), so an
    address that is both a subscriber and an agency contact is told once."""
    return hashlib.sha256(email.strip().lower().encode("utf-8")).hexdigest()


def notices(versions: list[UseCaseVersion]) -> list[Notice]:
    """What there is to tell about one use case. A version counts as announced when its
    announcement is its own: a non-material edit copies the dates of the version it edits."""
    found: list[Notice] = []
    seen: set[datetime] = set()
    for v in sorted(versions, key=lambda v: v.version):
        if v.announced_at is None or v.announced_at in seen:
            continue
        kind = NoticeKind.MATERIAL_EDIT if seen else NoticeKind.ANNOUNCED
        seen.add(v.announced_at)
        found.append(Notice(notice_id=f"{v.use_case_id}:v{v.version}:announced", kind=kind, use_case_id=v.use_case_id,
                            version=v.version, title=_title(versions, v.version), at=v.announced_at,
                            effective_on=v.effective_on.isoformat() if v.effective_on else None))
    retired = [v for v in versions if v.retired_at is not None]
    if seen and retired and len(retired) == len(versions):  # a draft never announced retires unseen
        last = max(retired, key=lambda v: v.version)
        assert last.retired_at is not None
        found.append(Notice(notice_id=f"{last.use_case_id}:retired", kind=NoticeKind.RETIRED,
                            use_case_id=last.use_case_id, version=last.version, title=last.title, at=last.retired_at))
    return found


def _title(versions: list[UseCaseVersion], number: int) -> str:
    return next(v.title for v in versions if v.version == number)


def due(found: list[Notice], now: datetime) -> list[Notice]:
    """Notices of changes made in the look-back window up to now, oldest first."""
    since = now - timedelta(days=LOOK_BACK_DAYS)
    return sorted((n for n in found if since <= n.at <= now), key=lambda n: (n.at, n.notice_id))


def tells(subscription: Subscription, notice: Notice) -> bool:
    """A subscriber hears of changes made once it had confirmed, and not after it left."""
    return (subscription.state is SubscriptionState.CONFIRMED and subscription.confirmed_at is not None
            and subscription.confirmed_at <= notice.at)


def silenced(opted_out_at: datetime | None, confirmed_at: datetime | None) -> bool:
    """An address that unsubscribed (through any of its subscriptions' links or an agency notice's)
    hears nothing more, whichever subscription it came by; only a subscription it confirms after
    that (a new double opt-in) is told again. An agency contact (nothing confirmed) never again."""
    return opted_out_at is not None and (confirmed_at is None or confirmed_at <= opted_out_at)


class ProgramNoticesRepository(Protocol):
    """The program's settings, subscribers, notice claims and feedback (adapters/dynamo_program_notices.py,
    memory_program_notices.py). Changes take their audit event; a failed condition is Conflict."""

    def get_rules(self) -> tuple[ProgramRules | None, int]:
        """The stored rules (None: the defaults apply) and their revision (0: never saved)."""
    def save_rules(self, rules: ProgramRules, *, revision: int, event: AuditEvent) -> None: ...
    def add_subscription(self, subscription: Subscription, token_hash: str, *, event: AuditEvent) -> None: ...
    def subscription_by_token(self, token_hash: str) -> Subscription | None: ...
    def move_subscription(self, moved: Subscription, was: SubscriptionState, *, event: AuditEvent,
                          opt_out: str | None = None) -> None:
        """The new state, from the state read; with `opt_out` (a recipient key), that address is
        opted out as of `moved.unsubscribed_at` in the same write."""
    def confirmed_subscriptions(self) -> Iterator[Subscription]: ...
    def recipient_by_token(self, token_hash: str) -> str | None:
        """The recipient an agency contact's unsubscribe token opts out."""
    def add_opt_out(self, recipient: str, at: datetime, *, event: AuditEvent) -> bool:
        """Recorded once (True); False if the recipient had already opted out."""
    def opted_out(self, recipient: str) -> datetime | None:
        """When the recipient last opted out (None: never)."""
    def claim_notice(self, notice_id: str, recipient: str, at: datetime, *, token_hash: str,
                     subscription_id: str | None = None) -> bool:
        """True for the one caller that claims this (notice, recipient), with the notice's
        unsubscribe token written alongside; False ever after."""
    def notice_done(self, notice_id: str) -> bool: ...
    def mark_notice_done(self, notice_id: str, at: datetime) -> None:
        """Every recipient had its turn (idempotent): later runs skip the notice."""
    def record_delivery(self, notice_id: str, recipient: str, outcome: Delivery) -> None: ...
    def add_feedback(self, feedback: Feedback, *, event: AuditEvent) -> None: ...
    def list_feedback(self, *, limit: int, cursor: str | None) -> tuple[list[Feedback], str | None]: ...
