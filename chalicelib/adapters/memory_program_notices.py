"""ProgramNoticesRepository in memory (unit tests assert on it; tests/integration runs the same
contract on it and on DynamoDB): settings saved on the revision read, subscriptions moved from the
state read, each (notice, recipient) claimed once, feedback newest first."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from ..domain import ids
from ..domain.errors import Conflict, InvalidInput
from ..domain.models import AuditEvent
from ..domain.program import ProgramRules
from ..domain.program_notices import Delivery, Feedback, Subscription, SubscriptionState
from .memory_audit import MemoryAuditLog


class MemoryProgramNotices:
    def __init__(self, audit: MemoryAuditLog | None = None) -> None:
        self.audit = audit or MemoryAuditLog()
        self.rules: tuple[ProgramRules | None, int] = (None, 0)
        self.subscriptions: dict[str, Subscription] = {}
        self.tokens: dict[str, str] = {}  # token hash -> subscription id
        self.recipient_tokens: dict[str, str] = {}  # token hash -> recipient it opts out
        self.opt_outs: dict[str, datetime] = {}  # recipient -> when it last opted out
        self.claims: dict[tuple[str, str], str] = {}  # (notice, recipient) -> outcome ("" while claimed)
        self.done: set[str] = set()  # notices every recipient had its turn at
        self.feedback: dict[str, Feedback] = {}

    def get_rules(self) -> tuple[ProgramRules | None, int]:
        return self.rules

    def save_rules(self, rules: ProgramRules, *, revision: int, event: AuditEvent) -> None:
        if self.rules[1] != revision:
            raise Conflict("The settings changed meanwhile; read them again.", code="settings_changed")
        self.rules = (rules, revision + 1)
        self.audit.record(event)

    def add_subscription(self, subscription: Subscription, token_hash: str, *, event: AuditEvent) -> None:
        if subscription.subscription_id in self.subscriptions or token_hash in self.tokens:
            raise Conflict("That subscription already exists.")
        self.subscriptions[subscription.subscription_id] = subscription
        self.tokens[token_hash] = subscription.subscription_id
        self.audit.record(event)

    def subscription_by_token(self, token_hash: str) -> Subscription | None:
        found = self.tokens.get(token_hash)
        return self.subscriptions.get(found) if found else None

    def move_subscription(self, moved: Subscription, was: SubscriptionState, *, event: AuditEvent,
                          opt_out: str | None = None) -> None:
        stored = self.subscriptions.get(moved.subscription_id)
        if stored is None or stored.state is not was:
            raise Conflict("The subscription changed meanwhile.", code="subscription_changed")
        self.subscriptions[moved.subscription_id] = moved
        if opt_out is not None and moved.unsubscribed_at is not None:
            self.opt_outs[opt_out] = moved.unsubscribed_at
        self.audit.record(event)

    def confirmed_subscriptions(self) -> Iterator[Subscription]:
        yield from (s for _, s in sorted(self.subscriptions.items()) if s.state is SubscriptionState.CONFIRMED)

    def recipient_by_token(self, token_hash: str) -> str | None:
        return self.recipient_tokens.get(token_hash)

    def add_opt_out(self, recipient: str, at: datetime, *, event: AuditEvent) -> bool:
        if recipient in self.opt_outs:
            return False
        self.opt_outs[recipient] = at
        self.audit.record(event)
        return True

    def opted_out(self, recipient: str) -> datetime | None:
        return self.opt_outs.get(recipient)

    def claim_notice(self, notice_id: str, recipient: str, at: datetime, *, token_hash: str,
                     subscription_id: str | None = None) -> bool:
        if (notice_id, recipient) in self.claims or token_hash in self.tokens or token_hash in self.recipient_tokens:
            return False
        self.claims[(notice_id, recipient)] = ""
        if subscription_id:
            self.tokens[token_hash] = subscription_id
        else:
            self.recipient_tokens[token_hash] = recipient
        return True

    def notice_done(self, notice_id: str) -> bool:
        return notice_id in self.done

    def mark_notice_done(self, notice_id: str, at: datetime) -> None:
        self.done.add(notice_id)

    def record_delivery(self, notice_id: str, recipient: str, outcome: Delivery) -> None:
        self.claims[(notice_id, recipient)] = outcome.value

    def add_feedback(self, feedback: Feedback, *, event: AuditEvent) -> None:
        if feedback.feedback_id in self.feedback:
            raise Conflict("That feedback is already stored.")
        self.feedback[feedback.feedback_id] = feedback
        self.audit.record(event)

    def list_feedback(self, *, limit: int, cursor: str | None) -> tuple[list[Feedback], str | None]:
        if cursor is not None and not ids.is_id(cursor):
            raise InvalidInput("The page cursor is not valid.", code="bad_cursor")
        newest = [f for k, f in sorted(self.feedback.items(), reverse=True) if cursor is None or k < cursor]
        page = newest[:limit]
        return page, page[-1].feedback_id if len(newest) > limit else None
