"""The program's settings, subscriptions, notice claims and feedback: one contract, in memory and on
DynamoDB (moto server, tables from infra/template.yaml). Settings are saved on the revision read;
a subscription is found only by its token's hash and moves from the state read; each (notice,
recipient) is claimed once; feedback lists newest first; every change commits its audit event."""
from __future__ import annotations

import os
from datetime import timedelta

import boto3
import pytest

from chalicelib.adapters.dynamo_audit import DynamoAuditLog
from chalicelib.adapters.dynamo_program_notices import DynamoProgramNotices
from chalicelib.adapters.memory_program_notices import MemoryProgramNotices
from chalicelib.domain import audit, ids
from chalicelib.domain.errors import Conflict, InvalidInput
from chalicelib.domain.program import ProgramRules
from chalicelib.domain.program_notices import Delivery, Feedback, Subscription, SubscriptionState
from tests.fakes import START, MemoryAuditLog
from tests.integration.test_repository_contract import new_id

pytestmark = pytest.mark.integration


@pytest.fixture(params=["memory", "dynamodb"])
def world(request):
    """(repository, audit log) of one implementation."""
    if request.param == "memory":
        log = MemoryAuditLog(chain_on_record=False)
        yield MemoryProgramNotices(log), log
        return
    stack = request.getfixturevalue("stack")
    db, table, inbox = boto3.client("dynamodb"), os.environ["TABLE_NAME"], os.environ["AUDIT_INBOX_TABLE_NAME"]
    log = DynamoAuditLog(db, os.environ["AUDIT_TABLE_NAME"], inbox, table)
    with stack.local.paused():  # its pump would chain the events first
        yield DynamoProgramNotices(db, table, inbox), log


def event(log_id: str, action: str):
    return audit.new_event(log_id, at=START, actor="public", action=action, target="program")


def a_subscription(email: str = "reader@example.org") -> Subscription:
    return Subscription(subscription_id=new_id(), email=email, created_at=START, confirm_by=START + timedelta(hours=72))


def test_settings_are_saved_on_the_revision_read(world):
    repo, log = world
    log_id = new_id()
    stored, revision = repo.get_rules()
    defaults = ProgramRules()  # the shared stack's other tests expect the defaults: save those
    repo.save_rules(defaults, revision=revision, event=event(log_id, "program.settings_changed"))
    with pytest.raises(Conflict):
        repo.save_rules(defaults, revision=revision, event=event(log_id, "program.settings_changed"))
    assert repo.get_rules() == (defaults, revision + 1)
    assert log.waiting(log_id) == 1


def test_a_subscription_is_found_by_its_token_hash_and_moves_from_the_state_read(world):
    repo, log = world
    log_id, token = new_id(), ids.new_token()
    made = a_subscription()
    repo.add_subscription(made, ids.digest(token), event=event(log_id, "program.subscription_requested"))
    with pytest.raises(Conflict):
        repo.add_subscription(made, ids.digest(token), event=event(log_id, "program.subscription_requested"))
    assert repo.subscription_by_token(ids.digest(token)) == made
    assert repo.subscription_by_token(ids.digest(ids.new_token())) is None
    assert repo.subscription_by_token(token) is None  # the token itself is no key
    confirmed = made.model_copy(update={"state": SubscriptionState.CONFIRMED, "confirmed_at": START})
    repo.move_subscription(confirmed, SubscriptionState.PENDING, event=event(log_id, "program.subscription_confirmed"))
    with pytest.raises(Conflict):
        repo.move_subscription(confirmed, SubscriptionState.PENDING, event=event(log_id, "x"))
    assert repo.subscription_by_token(ids.digest(token)) == confirmed
    assert made.subscription_id in {s.subscription_id for s in repo.confirmed_subscriptions()}
    gone = confirmed.model_copy(update={"state": SubscriptionState.UNSUBSCRIBED, "unsubscribed_at": START})
    repo.move_subscription(gone, SubscriptionState.CONFIRMED, event=event(log_id, "program.unsubscribed"))
    assert made.subscription_id not in {s.subscription_id for s in repo.confirmed_subscriptions()}
    assert repo.subscription_by_token(ids.digest(token)) == gone
    assert log.waiting(log_id) == 3


def test_a_notice_is_claimed_once_per_recipient_with_its_unsubscribe_token(world):
    repo, _ = world
    made, token, notice = a_subscription(), ids.new_token(), f"{new_id()}:v1:announced"
    repo.add_subscription(made, ids.digest(ids.new_token()), event=event(new_id(), "program.subscription_requested"))
    assert repo.claim_notice(notice, "r1", START, token_hash=ids.digest(token), subscription_id=made.subscription_id)
    assert not repo.claim_notice(notice, "r1", START, subscription_id=made.subscription_id,
                                 token_hash=ids.digest(ids.new_token()))
    contact_token = ids.new_token()
    assert repo.claim_notice(notice, "r2", START, token_hash=ids.digest(contact_token))
    assert repo.subscription_by_token(ids.digest(token)) == made  # the notice's own link finds it
    assert repo.recipient_by_token(ids.digest(token)) is None
    assert repo.subscription_by_token(ids.digest(contact_token)) is None  # an agency contact's: no subscription
    assert repo.recipient_by_token(ids.digest(contact_token)) == "r2"
    repo.record_delivery(notice, "r1", Delivery.SENT)
    assert not repo.notice_done(notice)
    repo.mark_notice_done(notice, START)
    repo.mark_notice_done(notice, START)  # again: fine
    assert repo.notice_done(notice)


def test_an_opt_out_is_recorded_once(world):
    repo, log = world
    log_id, recipient = new_id(), ids.digest(new_id())
    assert not repo.opted_out(recipient)
    assert repo.add_opt_out(recipient, START, event=event(log_id, "program.unsubscribed"))
    assert not repo.add_opt_out(recipient, START, event=event(log_id, "program.unsubscribed"))
    assert repo.opted_out(recipient) == START and log.waiting(log_id) == 1


def test_unsubscribing_a_subscription_opts_its_address_out_in_the_same_write(world):
    repo, log = world
    log_id, token, recipient = new_id(), ids.new_token(), ids.digest(new_id())
    made = a_subscription()
    repo.add_subscription(made, ids.digest(token), event=event(log_id, "program.subscription_requested"))
    gone = made.model_copy(update={"state": SubscriptionState.UNSUBSCRIBED, "unsubscribed_at": START})
    with pytest.raises(Conflict):  # moved from a state it is not in: nothing written, no opt-out either
        repo.move_subscription(gone, SubscriptionState.CONFIRMED, opt_out=recipient, event=event(log_id, "x"))
    assert repo.opted_out(recipient) is None
    repo.move_subscription(gone, SubscriptionState.PENDING, opt_out=recipient,
                           event=event(log_id, "program.unsubscribed"))
    assert repo.opted_out(recipient) == START and log.waiting(log_id) == 2
    later = START + timedelta(days=3)  # unsubscribing again later (another subscription) moves the time on
    again = a_subscription()
    repo.add_subscription(again, ids.digest(ids.new_token()), event=event(log_id, "program.subscription_requested"))
    repo.move_subscription(again.model_copy(update={"state": SubscriptionState.UNSUBSCRIBED, "unsubscribed_at": later}),
                           SubscriptionState.PENDING, opt_out=recipient, event=event(log_id, "program.unsubscribed"))
    assert repo.opted_out(recipient) == later


def test_feedback_is_listed_newest_first_with_a_cursor(world):
    repo, _ = world
    made = []
    for n in range(3):
        one = Feedback(feedback_id=ids.new_id(START + timedelta(days=36500, seconds=n)), message=f"<b>{n}</b>",
                       received_at=START)
        repo.add_feedback(one, event=event(new_id(), "program.feedback_received"))
        made.append(one)
    with pytest.raises(Conflict):
        repo.add_feedback(made[0], event=event(new_id(), "program.feedback_received"))
    first, cursor = repo.list_feedback(limit=2, cursor=None)
    assert first == [made[2], made[1]] and cursor == made[1].feedback_id
    rest, _ = repo.list_feedback(limit=2, cursor=cursor)
    assert rest[0] == made[0]


@pytest.mark.parametrize("cursor", ["a" * 2000, "abc", "01HZZZZZZZZZZZZZZZZZZZZZZ!"])
def test_a_feedback_cursor_that_is_no_feedback_id_is_refused_before_any_read(world, cursor):
    repo, _ = world
    with pytest.raises(InvalidInput) as refused:  # a long one reached DynamoDB's key limit: a 500
        repo.list_feedback(limit=2, cursor=cursor)
    assert refused.value.code == "bad_cursor"
