"""The improvement program's settings, change-notice subscribers, sent notices and the public's
feedback, in the main table:

| record | pk | sk |
|---|---|---|
| settings | `PROGRAM` | `SETTINGS` (a version number, each save conditioned on the one read) |
| subscription | `PROGRAM_SUBSCRIPTION#<id>` | `SUBSCRIPTION` (confirmed: `gsi1` = `PROGRAM_SUBSCRIBERS` / id) |
| token | `PROGRAM_SUBTOKEN#<sha256(token)>` | `TOKEN` (-> subscription, or the recipient it opts out) |
| opt-out | `PROGRAM_OPTOUT#<recipient key>` | `OPTOUT` (an address that unsubscribed, and when) |
| notice claim | `PROGRAM_NOTICE#<notice id>` | `TO#<recipient key>` (created once: the send's claim) |
| notice done | `PROGRAM_NOTICE#<notice id>` | `DONE` (a run went through every recipient) |
| feedback | `PROGRAM_FEEDBACK` | `FEEDBACK#<id>` (time-sorted id: newest first by a query) |

Changes to settings, subscriptions and feedback take their audit event (one transaction)."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from ..domain import ids
from ..domain.errors import Conflict, InvalidInput
from ..domain.models import AuditEvent
from ..domain.program import ProgramRules
from ..domain.program_notices import Delivery, Feedback, Subscription, SubscriptionState
from .dynamo_codec import DynamoBase, from_item, to_item

SUBSCRIBERS = "PROGRAM_SUBSCRIBERS"
FEEDBACK = "PROGRAM_FEEDBACK"


def _sub_key(subscription_id: str) -> dict[str, str]:
    return {"pk": f"PROGRAM_SUBSCRIPTION#{subscription_id}", "sk": "SUBSCRIPTION"}


def _token_item(token_hash: str, *, subscription_id: str | None = None, recipient: str | None = None) -> dict[str, str]:
    """A token points at a subscription, or (an agency contact's notice) at the recipient it opts out."""
    target = {"subscription_id": subscription_id} if subscription_id else {"recipient": recipient or ""}
    return {"pk": f"PROGRAM_SUBTOKEN#{token_hash}", "sk": "TOKEN", **target}


class DynamoProgramNotices(DynamoBase):
    # --- settings ----------------------------------------------------------------------------------
    def get_rules(self) -> tuple[ProgramRules | None, int]:
        """The stored rules (None: never set, the defaults apply) and their version number."""
        item = self._get("PROGRAM", "SETTINGS")
        return (ProgramRules.model_validate(item), int(item["revision"])) if item else (None, 0)

    def save_rules(self, rules: ProgramRules, *, revision: int, event: AuditEvent) -> None:
        """Saved as revision + 1, only if the stored revision is still `revision`."""
        item = {"pk": "PROGRAM", "sk": "SETTINGS", **rules.model_dump(mode="json"), "revision": revision + 1}
        put: dict[str, Any] = {"TableName": self._table, "Item": to_item(item)}
        if revision:
            put |= {"ConditionExpression": "revision = :r", "ExpressionAttributeValues": to_item({":r": revision})}
        else:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        self._commit({"Put": put}, event=event, conflict="The settings changed meanwhile; read them again.",
                     code="settings_changed")

    # --- subscriptions -----------------------------------------------------------------------------
    def add_subscription(self, subscription: Subscription, token_hash: str, *, event: AuditEvent) -> None:
        item = {**_sub_key(subscription.subscription_id), **subscription.model_dump(mode="json")}
        token = _token_item(token_hash, subscription_id=subscription.subscription_id)
        self._commit({"Put": self._write(item, new=True)}, {"Put": self._write(token, new=True)},
                     event=event, conflict="That subscription already exists.")

    def subscription_by_token(self, token_hash: str) -> Subscription | None:
        token = self._get(f"PROGRAM_SUBTOKEN#{token_hash}", "TOKEN")
        if token is None or "subscription_id" not in token:
            return None
        item = self._get(**_sub_key(token["subscription_id"]))
        return Subscription.model_validate(item) if item else None

    def move_subscription(self, moved: Subscription, was: SubscriptionState, *, event: AuditEvent,
                          opt_out: str | None = None) -> None:
        """The new state, from the state read: confirmed ones are filed for the scheduler (gsi1),
        unsubscribed ones taken out of it. With `opt_out`, that recipient's opt-out is (re)written
        as of the unsubscription, in the same transaction: the address's other subscriptions stop too."""
        listed = moved.state is SubscriptionState.CONFIRMED
        update = ("SET #s = :s, confirmed_at = :c, unsubscribed_at = :u" +
                  (", gsi1pk = :g, gsi1sk = :id" if listed else " REMOVE gsi1pk, gsi1sk"))
        values = {":s": moved.state.value, ":was": was.value, ":c": _text(moved.confirmed_at),
                  ":u": _text(moved.unsubscribed_at)} | ({":g": SUBSCRIBERS, ":id": moved.subscription_id}
                                                       if listed else {})
        self._commit({"Update": {
            "TableName": self._table, "Key": to_item(_sub_key(moved.subscription_id)), "UpdateExpression": update,
            "ConditionExpression": "#s = :was", "ExpressionAttributeNames": {"#s": "state"},
            "ExpressionAttributeValues": to_item(values) | _nulls(c=moved.confirmed_at, u=moved.unsubscribed_at)}},
            *([{"Put": {"TableName": self._table, "Item": to_item(_opt_out_item(opt_out, moved.unsubscribed_at))}}]
              if opt_out is not None and moved.unsubscribed_at is not None else []),
            event=event, conflict="The subscription changed meanwhile.", code="subscription_changed")

    def confirmed_subscriptions(self) -> Iterator[Subscription]:
        """Every confirmed subscription, from gsi1 (eventually consistent: each one is re-read
        before a notice goes to it, by the caller if it must be exact)."""
        for item in self._query_all({"IndexName": "gsi1", "KeyConditionExpression": "gsi1pk = :p",
                                     "ExpressionAttributeValues": to_item({":p": SUBSCRIBERS})}):
            yield Subscription.model_validate(item)

    def recipient_by_token(self, token_hash: str) -> str | None:
        """The recipient an agency contact's unsubscribe token opts out (None for other tokens)."""
        token = self._get(f"PROGRAM_SUBTOKEN#{token_hash}", "TOKEN")
        return str(token["recipient"]) if token and token.get("recipient") else None

    def add_opt_out(self, recipient: str, at: datetime, *, event: AuditEvent) -> bool:
        """Record once that this recipient wants no notices; False if it already had."""
        item = _opt_out_item(recipient, at)
        try:
            self._commit({"Put": self._write(item, new=True)}, event=event, conflict="Already opted out.")
        except Conflict:
            return False
        return True

    def opted_out(self, recipient: str) -> datetime | None:
        found = self._get(f"PROGRAM_OPTOUT#{recipient}", "OPTOUT")
        return datetime.fromisoformat(found["at"]) if found else None

    # --- notices -----------------------------------------------------------------------------------
    def claim_notice(self, notice_id: str, recipient: str, at: datetime, *, token_hash: str,
                     subscription_id: str | None = None) -> bool:
        """Claim the sending of one notice to one recipient: True once, False ever after. The
        unsubscribe token the notice carries (a subscriber's, else one that opts this recipient
        out) is written in the same transaction."""
        claim = {"pk": f"PROGRAM_NOTICE#{notice_id}", "sk": f"TO#{recipient}", "claimed_at": at.isoformat()}
        token = _token_item(token_hash, subscription_id=subscription_id, recipient=recipient)
        writes = [{"Put": self._write(claim, new=True)}, {"Put": self._write(token, new=True)}]
        try:
            self._commit(*writes, conflict="That notice is already claimed for that recipient.")
        except Conflict:
            return False
        return True

    def notice_done(self, notice_id: str) -> bool:
        return self._get(f"PROGRAM_NOTICE#{notice_id}", "DONE") is not None

    def mark_notice_done(self, notice_id: str, at: datetime) -> None:
        """Every recipient of the notice had its turn: later runs skip it without trying a claim each."""
        self._db.put_item(TableName=self._table, Item=to_item({"pk": f"PROGRAM_NOTICE#{notice_id}", "sk": "DONE",
                                                               "at": at.isoformat()}))

    def record_delivery(self, notice_id: str, recipient: str, outcome: Delivery) -> None:
        """How the claimed send went (sent or failed); a claim without it was cut short."""
        key = to_item({"pk": f"PROGRAM_NOTICE#{notice_id}", "sk": f"TO#{recipient}"})
        self._db.update_item(TableName=self._table, Key=key, UpdateExpression="SET outcome = :o",
                             ExpressionAttributeValues=to_item({":o": outcome.value}))

    # --- feedback ----------------------------------------------------------------------------------
    def add_feedback(self, feedback: Feedback, *, event: AuditEvent) -> None:
        item = {"pk": FEEDBACK, "sk": f"FEEDBACK#{feedback.feedback_id}", **feedback.model_dump(mode="json")}
        self._commit({"Put": self._write(item, new=True)}, event=event, conflict="That feedback is already stored.")

    def list_feedback(self, *, limit: int, cursor: str | None) -> tuple[list[Feedback], str | None]:
        """Newest first; the cursor is the last feedback id returned (checked by the caller)."""
        query: dict[str, Any] = {"TableName": self._table, "ScanIndexForward": False, "Limit": limit,
                                 "KeyConditionExpression": "pk = :p AND begins_with(sk, :s)",
                                 "ExpressionAttributeValues": to_item({":p": FEEDBACK, ":s": "FEEDBACK#"})}
        if cursor:
            if not ids.is_id(cursor):  # a feedback id; anything else would reach the key unchecked
                raise InvalidInput("The page cursor is not valid.", code="bad_cursor")
            query["ExclusiveStartKey"] = to_item({"pk": FEEDBACK, "sk": f"FEEDBACK#{cursor}"})
        page = self._db.query(**query)
        found = [Feedback.model_validate(from_item(raw)) for raw in page.get("Items", [])]
        more = "LastEvaluatedKey" in page and len(found) == limit
        return found, found[-1].feedback_id if more and found else None

    def _query_all(self, extra: dict[str, Any]) -> Iterator[dict[str, Any]]:
        query: dict[str, Any] = {"TableName": self._table, **extra}
        while True:
            page = self._db.query(**query)
            yield from (from_item(raw) for raw in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _opt_out_item(recipient: str, at: datetime) -> dict[str, str]:
    return {"pk": f"PROGRAM_OPTOUT#{recipient}", "sk": "OPTOUT", "at": at.isoformat()}


def _text(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _nulls(**moments: datetime | None) -> dict[str, Any]:
    """to_item drops None values: an unset time is written as DynamoDB's NULL instead."""
    return {f":{name}": {"NULL": True} for name, value in moments.items() if value is None}
