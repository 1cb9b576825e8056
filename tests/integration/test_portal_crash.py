"""Portals under the crash harness of test_custody_crash.py: creating, closing a portal and opening a
session on it, each killed before and after every AWS call it makes and run again, end as the
untouched run does: the portal and its slug claim with their events once, and every session link
stored has its opening recorded (a retried session is a second session, as a retried link is)."""
from __future__ import annotations

import contextlib
import secrets
from typing import Any

import boto3
import pytest

from chalicelib import bootstrap
from chalicelib.domain.errors import Conflict
from chalicelib.domain.portals import CreatePortal, StartSession
from chalicelib.services import portal_sessions, portals
from tests.integration.test_custody_crash import Case, chained, killer, new_case, survives_every_kill  # noqa: F401

pytestmark = pytest.mark.integration
TERMS = {"version": "v1", "text": {"en": "Mine."}}


def create_setup() -> Case:
    return new_case(slug=f"crash-{secrets.token_hex(4)}")


def create_run(case: Case) -> None:
    cmd = CreatePortal.model_validate({"title": "Crash parade", "slug": case.data["slug"], "terms": TERMS})
    with contextlib.suppress(Conflict):  # a rerun after the create went through: the slug is its own
        portals.create(case.admin, cmd, deps=bootstrap.deps())


def portal_state(case: Case) -> Any:
    portal = bootstrap.deps().portals.portal_by_slug(case.data["slug"])
    return (portal and (portal.agency_id == case.agency_id, portal.title, portal.state.value, portal.version),
            chained(case.agency_id))


def opened_setup() -> Case:
    case = create_setup()
    create_run(case)
    portal = bootstrap.deps().portals.portal_by_slug(case.data["slug"])
    assert portal is not None
    case.data["portal_id"] = portals.open_portal(case.admin, portal.portal_id, deps=bootstrap.deps()).portal_id
    return case


def close_run(case: Case) -> None:
    with contextlib.suppress(Conflict):  # already_closed on the rerun
        portals.close_portal(case.admin, case.data["portal_id"], deps=bootstrap.deps())


def session_run(case: Case) -> None:
    portal_sessions.start(case.data["slug"], StartSession(terms_version="v1", accept_terms=True),
                          address="203.0.113.77", page_base="http://x", deps=bootstrap.deps())


def session_state(case: Case) -> Any:
    deps = bootstrap.deps()
    entries = list(deps.audit.entries(case.agency_id)) if chained(case.agency_id) else []
    opened = [e.target.removeprefix("link:") for e in entries if e.action == "portal.session_opened"]
    stored = {item["sk"]["S"].removeprefix("LINK#") for item in boto3.client("dynamodb").query(
        TableName=bootstrap.settings().table_name, KeyConditionExpression="pk = :p AND begins_with(sk, :s)",
        ExpressionAttributeValues={":p": {"S": f"AGENCY#{case.agency_id}"}, ":s": {"S": "LINK#"}})["Items"]}
    assert set(opened) == stored and len(opened) == len(stored) >= 1
    return "every session recorded once"


OPERATIONS = {
    "portal_create": (create_setup, create_run, portal_state),
    "portal_close": (opened_setup, close_run, portal_state),
    "portal_session": (opened_setup, session_run, session_state),
}


@pytest.mark.parametrize("name", list(OPERATIONS))
def test_a_portal_change_killed_at_any_aws_call_and_run_again_ends_as_the_untouched_run(killer, name):  # noqa: F811
    survives_every_kill(killer, name, *OPERATIONS[name])
