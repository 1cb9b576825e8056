"""Change notices of the improvement program: anyone subscribes with an email (double opt-in: nothing
but the confirmation is sent before its link is used), and the daily run tells confirmed subscribers
and every participant agency's contact when a use case is announced, announced again after a
material edit, or retired. Rules: domain/program_notices.py (docs/PROGRAM.md).

Each (notice, recipient) is claimed with a conditional write before it is sent, so two runs (or a
rerun) never send it twice. A run killed between the claim and the send leaves that one unsent: the
guarantee is at most once, and the claim without an outcome shows which."""
from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ..domain import ids
from ..domain import program_emails as emails
from ..domain import program_notices as notices
from ..domain.errors import Conflict, DomainError, Gone, NotFound
from ..domain.limits import Check, Rule
from ..domain.models import OPERATOR_AGENCY, Agency, Role
from ..domain.program import Tier
from ..domain.program_notices import Delivery, Notice, Subscription, SubscriptionState
from ..domain.program_use_cases import by_use_case
from . import custody, limits
from .deps import Deps
from .program import participation

SYSTEM = "system:program_notices"
PUBLIC = "public"
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")  # what ids.new_token() makes


# --- subscribing -----------------------------------------------------------------------------------

def subscribe(cmd: notices.Subscribe, base_url: str, *, deps: Deps) -> Subscription:
    """A pending subscription and its confirmation email. The answer is the same whether or not the
    address is already subscribed: nobody learns who is. A few confirmations per address a day at
    most (429 beyond): the form cannot be used to flood a stranger's mailbox."""
    limits.enforce(Check(rule=Rule.PROGRAM_CONFIRMATION, scope=f"email:{notices.recipient_key(cmd.email)}",
                         cap=deps.rate_caps.program_confirmations), deps=deps)
    now, token = deps.clock.now(), ids.new_token()
    made = Subscription(subscription_id=ids.new_id(now), email=cmd.email, language=cmd.language, created_at=now,
                        confirm_by=now + timedelta(hours=notices.CONFIRM_HOURS))
    deps.program_notices.add_subscription(made, ids.digest(token), event=_event(
        deps, PUBLIC, "program.subscription_requested", made, {"language": made.language}))
    subject, text = emails.confirmation_email(f"{base_url}/transparency/confirm?token={token}", made.language)
    deps.email.send_email(made.email, subject, text)  # DeliveryFailed (502): the pending one lapses unused
    return made


def confirmable(token: str, *, deps: Deps) -> Subscription:
    """What the confirmation link shows when opened, changing nothing: opening it (or a mail
    scanner fetching it) does not confirm; the button on its page does (`confirm`)."""
    found = _by_token(token, deps)
    _check_confirmable(found, deps.clock.now())
    return found


def confirm(token: str, *, deps: Deps) -> Subscription:
    """From now on notices go to this address. Confirming again changes nothing."""
    found, now = _by_token(token, deps), deps.clock.now()
    _check_confirmable(found, now)
    if found.state is SubscriptionState.CONFIRMED:
        return found
    moved = found.model_copy(update={"state": SubscriptionState.CONFIRMED, "confirmed_at": now})
    deps.program_notices.move_subscription(moved, found.state, event=_event(
        deps, PUBLIC, "program.subscription_confirmed", moved, {}))
    return moved


def unsubscribable(token: str, *, deps: Deps) -> SubscriptionState:
    """What the unsubscribe link shows when opened, changing nothing (a mail scanner fetching it
    unsubscribes nobody): where it stands now. Unknown links are 404."""
    found, recipient = _by_unsubscribe_token(token, deps)
    if found is not None:
        return found.state
    opted_out = deps.program_notices.opted_out(recipient) is not None
    return SubscriptionState.UNSUBSCRIBED if opted_out else SubscriptionState.CONFIRMED


def unsubscribe(token: str, *, deps: Deps) -> SubscriptionState:
    """One click (the page's button, or a mail client's one-click post), from any notice or the
    confirmation email: nothing more is sent to that address, by this subscription or any other it
    made (the address is opted out with it, in the same write), until it confirms a new one.
    Repeating it is fine. An agency contact's notice link opts that address out the same way."""
    repo = deps.program_notices
    found, recipient = _by_unsubscribe_token(token, deps)
    if found is None:
        repo.add_opt_out(recipient, deps.clock.now(), event=custody.event(
            OPERATOR_AGENCY, deps=deps, actor=PUBLIC, action="program.unsubscribed", target="agency_contact",
            details={"recipient": recipient[:16]}))
        return SubscriptionState.UNSUBSCRIBED
    if found.state is not SubscriptionState.UNSUBSCRIBED:
        moved = found.model_copy(update={"state": SubscriptionState.UNSUBSCRIBED,
                                         "unsubscribed_at": deps.clock.now()})
        repo.move_subscription(moved, found.state, opt_out=notices.recipient_key(found.email), event=_event(
            deps, PUBLIC, "program.unsubscribed", moved, {"was": found.state.value}))
    return SubscriptionState.UNSUBSCRIBED


def _by_unsubscribe_token(token: str, deps: Deps) -> tuple[Subscription | None, str]:
    """The subscription an unsubscribe token names, else the agency contact's recipient key; 404 for neither."""
    repo, valid = deps.program_notices, _TOKEN.match(token or "")
    found = repo.subscription_by_token(ids.digest(token)) if valid else None
    if found is not None:
        return found, notices.recipient_key(found.email)
    recipient = repo.recipient_by_token(ids.digest(token)) if valid else None
    if recipient is None:
        raise NotFound("This link is not valid.", code="subscription_not_found")
    return None, recipient


def _check_confirmable(found: Subscription, now: datetime) -> None:
    if found.state is SubscriptionState.UNSUBSCRIBED:
        raise Conflict("This subscription was cancelled; subscribe again.", code="subscription_ended")
    if found.state is SubscriptionState.PENDING and now > found.confirm_by:
        raise Gone("This confirmation link has expired; subscribe again.", code="confirmation_expired")


def _by_token(token: str, deps: Deps) -> Subscription:
    found = deps.program_notices.subscription_by_token(ids.digest(token)) if _TOKEN.match(token or "") else None
    if found is None:
        raise NotFound("This link is not valid.", code="subscription_not_found")
    return found


# --- the daily run ---------------------------------------------------------------------------------

class BaseUrlMissing(RuntimeError):
    """Every notice links back to the public pages, so a run outside a request needs PUBLIC_BASE_URL."""


def run_scheduled(public_base_url: str | None, *, deps: Deps, now: datetime | None = None) -> dict[str, Any]:
    """The daily run as the schedule and the CLI start it: refused without the configured base URL
    (a request's own address stands in for it only on the operator's on-demand route)."""
    if not public_base_url:
        raise BaseUrlMissing("PUBLIC_BASE_URL is not set: notices need it for their links")
    return run(public_base_url, deps=deps, now=now)


class SubscriptionAnswer(BaseModel):
    """Where a subscription stands after a public call (and, when pending, what to do next)."""

    model_config = ConfigDict(defer_build=True)
    state: SubscriptionState
    message: str | None = Field(default=None, exclude_if=lambda text: text is None)


class NoticeRun(BaseModel):
    """A run's report: notices due, those done before it, and recipients by outcome (Delivery)."""

    model_config = ConfigDict(defer_build=True)
    notices: int
    done_before: int
    sent: int
    failed: int
    already_sent: int
    opted_out: int


def run(base_url: str, *, deps: Deps, now: datetime | None = None) -> dict[str, Any]:
    """Send every notice due (changes of the last LOOK_BACK_DAYS) to whoever has not had it yet.
    Safe to run again and side by side: each send is claimed first. A notice whose recipients all
    had their turn is marked done, so the next days' runs skip it at the cost of one read (a
    subscriber confirmed, or an agency joining, after that is not told of it)."""
    now = now or deps.clock.now()
    by_case = by_use_case(deps.program.all_use_case_versions())
    due = notices.due([n for versions in by_case.values() for n in notices.notices(versions)], now)
    todo = [n for n in due if not deps.program_notices.notice_done(n.notice_id)]
    report: dict[str, Any] = {"notices": len(due), "done_before": len(due) - len(todo)} | {d.value: 0 for d in Delivery}
    if not todo:
        return report
    subscribers = list(deps.program_notices.confirmed_subscriptions())
    contacts = _participant_contacts(deps)
    opted_out = _opt_outs([s.email for s in subscribers] + contacts, deps)
    for notice in todo:
        counts = dict.fromkeys(Delivery, 0)
        for sub in subscribers:
            if notices.tells(sub, notice):
                counts[_send_to_subscriber(notice, sub, base_url, now, deps, opted_out)] += 1
        for email in contacts:
            quiet = notices.silenced(opted_out.get(notices.recipient_key(email)), None)
            counts[Delivery.OPTED_OUT if quiet else deliver(notice, email, base_url, None, now, deps)] += 1
        if counts[Delivery.SENT] or counts[Delivery.FAILED]:
            deps.audit.record(custody.event(OPERATOR_AGENCY, deps=deps, actor=SYSTEM,
                                            action="program.change_notice_sent",
                                            target=f"use_case:{notice.use_case_id}",
                                            outcome="success" if not counts[Delivery.FAILED] else "partial",
                                            details={"notice": notice.notice_id, "kind": notice.kind.value,
                                                     "sent": counts[Delivery.SENT], "failed": counts[Delivery.FAILED]}))
        for delivery, count in counts.items():
            report[delivery.value] += count
        deps.program_notices.mark_notice_done(notice.notice_id, now)  # a run killed before this resumes the claims
    return report


def _opt_outs(emails: list[str], deps: Deps) -> dict[str, datetime]:
    """When each of these addresses last opted out (absent: never): read once a run per address,
    not once per notice."""
    found = {}
    for recipient in dict.fromkeys(notices.recipient_key(email) for email in emails):
        at = deps.program_notices.opted_out(recipient)
        if at is not None:
            found[recipient] = at
    return found


def _send_to_subscriber(notice: Notice, sub: Subscription, base_url: str, now: datetime, deps: Deps,
                        opted_out: dict[str, datetime]) -> Delivery:
    if notices.silenced(opted_out.get(notices.recipient_key(sub.email)), sub.confirmed_at):
        return Delivery.OPTED_OUT  # the address unsubscribed through another of its subscriptions
    return deliver(notice, sub.email, base_url, sub.subscription_id, now, deps, language=sub.language)


def deliver(notice: Notice, email: str, base_url: str, subscription_id: str | None, now: datetime,
            deps: Deps, *, language: str = "en") -> Delivery:
    """One notice to one address the run found not opted out: claimed, then sent, then its outcome
    written on the claim. Each notice carries its own unsubscribe token, written with the claim
    (only its hash): a subscriber's ends the subscription, an agency contact's opts that address out;
    either way the address hears no more."""
    recipient, token = notices.recipient_key(email), ids.new_token()
    if not deps.program_notices.claim_notice(notice.notice_id, recipient, now, token_hash=ids.digest(token),
                                             subscription_id=subscription_id):
        return Delivery.ALREADY_SENT
    link = f"{base_url}/transparency/unsubscribe?token={token}"
    subject, text = emails.notice_email(notice, f"{base_url}/transparency", link, language)
    try:
        deps.email.send_email(email, subject, text)
        outcome = Delivery.SENT
    except DomainError:
        outcome = Delivery.FAILED
    deps.program_notices.record_delivery(notice.notice_id, recipient, outcome)
    return outcome


def _participant_contacts(deps: Deps) -> list[str]:
    """The admin contacts of every agency taking part in the program now (the agency directory):
    its active admin keys' emails and the agency's contact address."""
    found, cursor = [], None
    while True:
        page = deps.agencies.list_agencies(limit=100, cursor=cursor)
        for agency in page.items:
            if participation(agency.agency_id, deps=deps).tier is not Tier.NONE:
                found += _admin_contacts(agency, deps)
        cursor = page.next_cursor
        if cursor is None:
            return found


def _admin_contacts(agency: Agency, deps: Deps) -> list[str]:
    admins = [k.email for k in deps.agencies.list_keys(agency.agency_id)
              if k.role is Role.AGENCY_ADMIN and k.revoked_at is None and k.email]
    return [email for email in [*admins, agency.contact_email] if email]


def _event(deps: Deps, actor: str, action: str, sub: Subscription, details: dict[str, Any]) -> Any:
    """In the operator's log, without the address: who subscribed is nobody else's business."""
    return custody.event(OPERATOR_AGENCY, deps=deps, actor=actor, action=action,
                         target=f"subscription:{sub.subscription_id}", details=details)
