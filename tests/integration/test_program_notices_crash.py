"""The program's public changes killed at every AWS call (before it is sent, and after its answer:
the work done, the process dead), then run again, on the local stack's moto (the harness of
tests/integration/test_custody_crash.py):

- confirming, unsubscribing and setting the rules end as the untouched run does, each with exactly
  one audit event: a retry finds the work done and records nothing more;
- a notice is never sent twice to anyone (the run's send of one notice to one address: claim, send,
  outcome): after any kill and a retry the subscriber has it once, or (killed between the claim and
  the send) not at all, and then its claim has no outcome. That is the stated guarantee: at most
  once, and a cut-short send is visible."""
from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from chalicelib import bootstrap
from chalicelib.adapters.dynamo_codec import event_of, from_item
from chalicelib.domain import ids
from chalicelib.domain import program_notices as rules
from chalicelib.domain.models import OPERATOR_AGENCY, Principal, Role
from chalicelib.domain.program_notices import SetProgramRules, Subscribe
from chalicelib.services import program_notices as service
from chalicelib.services import program_operator as operator
from tests.integration.test_custody_crash import Killed, killer, survives_every_kill  # noqa: F401 (fixture)

pytestmark = pytest.mark.integration
OP = Principal(agency_id=OPERATOR_AGENCY, role=Role.OPERATOR, key_id="crash-op")
BASE = "http://crash.example/api"


def emails_to(address: str) -> list[str]:
    from moto.ses.models import ses_backends

    from infra.local_stack import ACCOUNT, REGION

    return [m.body for m in ses_backends[ACCOUNT][REGION].sent_messages if m.destinations["ToAddresses"] == [address]]


def operator_events(target: str) -> list[str]:
    """Every event recorded for the target in the operator's log, waiting or chained."""
    deps, settings = bootstrap.deps(), bootstrap.settings()
    pages = boto3.client("dynamodb").get_paginator("query").paginate(
        TableName=settings.audit_inbox_table_name, KeyConditionExpression="agency_id = :a",
        ExpressionAttributeValues={":a": {"S": OPERATOR_AGENCY}}, ConsistentRead=True)
    waiting = [event_of(item) for page in pages for item in page["Items"]]
    return sorted(e.action for e in [*waiting, *deps.audit.entries(OPERATOR_AGENCY)] if e.target == target)


def subscribed(confirm: bool) -> dict[str, Any]:
    deps, email = bootstrap.deps(), f"crash-{uuid.uuid4().hex[:10]}@example.org"
    made = service.subscribe(Subscribe(email=email), BASE, deps=deps)
    token = re.search(r"token=([A-Za-z0-9_-]{43})", emails_to(email)[-1])
    assert token
    if confirm:
        service.confirm(token.group(1), deps=deps)
    return {"email": email, "token": token.group(1), "target": f"subscription:{made.subscription_id}"}


def subscription_state(case: dict[str, Any]) -> Any:
    repo = bootstrap.deps().program_notices
    found = repo.subscription_by_token(ids.digest(case["token"]))
    assert found is not None
    opted_out = repo.opted_out(rules.recipient_key(case["email"])) is not None  # written with the move, or not
    return found.state, opted_out, operator_events(case["target"])


def rules_setup() -> dict[str, Any]:
    deps = bootstrap.deps()
    operator.set_rules(OP, SetProgramRules.model_validate({"notice_days": 31, "terms_from": "2021-04-01"}), deps=deps)
    return {"before": len(operator_events("program:settings"))}


def rules_run(case: dict[str, Any]) -> None:  # back to the defaults the other tests expect
    operator.set_rules(OP, SetProgramRules.model_validate({"notice_days": 30, "terms_from": "2021-04-01"}),
                       deps=bootstrap.deps())


def rules_state(case: dict[str, Any]) -> Any:
    stored, _ = bootstrap.deps().program_notices.get_rules()
    return stored, len(operator_events("program:settings")) - case["before"]


OPERATIONS: dict[str, tuple[Callable[[], dict[str, Any]], Callable[[dict[str, Any]], Any], Callable[..., Any]]] = {
    "confirm": (lambda: subscribed(confirm=False), lambda c: service.confirm(c["token"], deps=bootstrap.deps()),
                subscription_state),
    "unsubscribe": (lambda: subscribed(confirm=True), lambda c: service.unsubscribe(c["token"], deps=bootstrap.deps()),
                    subscription_state),
    "set_rules": (rules_setup, rules_run, rules_state),
}


@pytest.mark.parametrize("name", list(OPERATIONS))
def test_killed_at_any_aws_call_and_run_again_the_outcome_equals_the_untouched_run(killer, name):  # noqa: F811
    survives_every_kill(killer, name, *OPERATIONS[name])


def claim_outcome(notice_id: str, email: str) -> str | None:
    """None: no claim; "": claimed, never sent; else the outcome recorded."""
    found = boto3.client("dynamodb").get_item(
        TableName=bootstrap.settings().table_name, ConsistentRead=True,
        Key={"pk": {"S": f"PROGRAM_NOTICE#{notice_id}"}, "sk": {"S": f"TO#{rules.recipient_key(email)}"}})
    return from_item(found["Item"]).get("outcome", "") if "Item" in found else None


def test_a_notice_send_killed_anywhere_and_rerun_is_never_sent_twice(killer):  # noqa: F811
    """One (notice, recipient), as the run sends it: claim, send, outcome; killed before and after
    each call, then the run's retry. (Run twice untouched, it is sent once: tests/e2e.)"""
    deps = bootstrap.deps()
    notice = rules.Notice(notice_id=f"{ids.new_id(deps.clock.now())}:v1:announced", kind=rules.NoticeKind.ANNOUNCED,
                          use_case_id="u", version=1, title="Crash notice", at=deps.clock.now())

    def send(reader: dict[str, Any]) -> None:
        service.deliver(notice.model_copy(update={"notice_id": reader["notice"]}), reader["email"], BASE,
                        reader["target"].split(":")[1], deps.clock.now(), deps)

    def setup() -> dict[str, Any]:
        return subscribed(confirm=True) | {"notice": f"{ids.new_id(deps.clock.now())}:v1:announced"}

    reader = setup()
    with killer.counting():
        send(reader)
    calls, outcomes = killer.calls, []
    assert killer.operations == ["TransactWriteItems", "SendEmail", "UpdateItem"]
    assert len(emails_to(reader["email"])) == 2 and claim_outcome(reader["notice"], reader["email"]) == "sent"
    for at in range(1, calls + 1):
        for after in (False, True):
            reader = setup()
            with killer.counting(at=at, after=after), contextlib.suppress(Killed):
                send(reader)
            send(reader)
            got = len(emails_to(reader["email"])) - 1  # less the confirmation
            outcome = claim_outcome(reader["notice"], reader["email"])
            outcomes.append((at, after, got, outcome))
            assert got <= 1, f"killed {'after' if after else 'before'} call {at}: sent twice"
            assert got == 1 or outcome == "", "an unsent notice is visible as a claim without outcome"
    # Exactly the kills after the claim and before (or failing) the send leave it unsent: at most once.
    assert [(at, after) for at, after, got, _ in outcomes if got == 0] == [(1, True), (2, False)]
