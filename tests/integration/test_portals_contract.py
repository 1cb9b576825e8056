"""The portals repository and the rate counter: one contract, in memory and on DynamoDB (moto server,
tables from infra/template.yaml). A slug is claimed by one portal across agencies, in the same
transaction as the portal and its audit event; a save needs the version read and keeps the counters;
a counter never passes its cap, whoever calls at once."""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest

from chalicelib.adapters.dynamo_audit import DynamoAuditLog
from chalicelib.adapters.dynamo_limits import DynamoRateCounter
from chalicelib.adapters.dynamo_portals import DynamoPortals
from chalicelib.adapters.memory_limits import MemoryRateCounter
from chalicelib.adapters.memory_portals import MemoryPortals
from chalicelib.domain import audit
from chalicelib.domain.errors import Conflict
from chalicelib.domain.portals import Portal, PortalState
from tests.fakes import START, MemoryAuditLog
from tests.integration.test_repository_contract import new_id

pytestmark = pytest.mark.integration


@pytest.fixture(params=["memory", "dynamodb"])
def world(request):
    """(portals repository, rate counter, audit log) of one implementation."""
    if request.param == "memory":
        log = MemoryAuditLog(chain_on_record=False)
        yield MemoryPortals(log), MemoryRateCounter(), log
        return
    stack = request.getfixturevalue("stack")  # starts the stack first: it sets the region and endpoint
    db, table, inbox = boto3.client("dynamodb"), os.environ["TABLE_NAME"], os.environ["AUDIT_INBOX_TABLE_NAME"]
    log = DynamoAuditLog(db, os.environ["AUDIT_TABLE_NAME"], inbox, table)
    with stack.local.paused():  # its pump would chain the events first
        yield DynamoPortals(db, table, inbox), DynamoRateCounter(db, table), log


def a_portal(agency: str, slug: str, minutes: int = 0) -> Portal:
    return Portal(portal_id=new_id(minutes), agency_id=agency, slug=slug, case_ref=slug, title="<i>Parade</i>",
                  terms={"version": "v1", "text": {"en": "Mine."}}, created_by="key:k", created_at=START,
                  updated_at=START)


def event(portal: Portal, action: str):
    return audit.new_event(portal.agency_id, at=START, actor="key:k", action=action,
                           target=f"portal:{portal.portal_id}")


def slug(tag: str) -> str:
    return f"{tag}-{new_id()[-8:]}"


def test_a_portal_is_stored_with_its_slug_claim_and_its_event(world):
    portals, _, log = world
    agency = new_id()
    portal = a_portal(agency, slug("parade"))
    portals.create_portal(portal, event=event(portal, "portal.created"))
    assert portals.get_portal(agency, portal.portal_id) == portal
    assert portals.portal_by_slug(portal.slug) == portal
    assert [p.portal_id for p in portals.list_portals(agency)] == [portal.portal_id]
    assert log.waiting(agency) == 1


def test_a_slug_taken_by_another_agency_writes_nothing(world):
    portals, _, log = world
    first = a_portal(new_id(), slug("storm"))
    portals.create_portal(first, event=event(first, "portal.created"))
    second = a_portal(new_id(), first.slug, minutes=1)
    with pytest.raises(Conflict) as taken:
        portals.create_portal(second, event=event(second, "portal.created"))
    assert taken.value.code == "slug_taken"
    assert portals.get_portal(second.agency_id, second.portal_id) is None and log.waiting(second.agency_id) == 0


def test_a_save_needs_the_version_read_moves_the_slug_and_keeps_the_counters(world):
    portals, _, log = world
    portal = a_portal(new_id(), slug("fair"))
    portals.create_portal(portal, event=event(portal, "portal.created"))
    portals.count(portal, "sessions", 3)
    moved = portal.model_copy(update={"slug": portal.slug + "-x", "state": PortalState.OPEN})
    saved = portals.save_portal(moved, read_version=0, old_slug=portal.slug, event=event(portal, "portal.edited"))
    assert saved.version == 1
    stored = portals.get_portal(portal.agency_id, portal.portal_id)
    assert (stored.slug, stored.state, stored.sessions, stored.version) == (moved.slug, PortalState.OPEN, 3, 1)
    assert portals.portal_by_slug(portal.slug) is None
    assert portals.portal_by_slug(moved.slug).portal_id == portal.portal_id
    with pytest.raises(Conflict):  # a stale read
        portals.save_portal(moved, read_version=0, old_slug=moved.slug, event=event(portal, "portal.edited"))
    assert log.waiting(portal.agency_id) == 2


def test_a_counter_never_passes_its_cap_under_concurrent_callers(world):
    _, counter, _ = world
    key = f"test#client:{new_id()}#0"
    with ThreadPoolExecutor(max_workers=8) as pool:
        taken = list(pool.map(lambda _: counter.take(key, 1, 10, 2_000_000_000), range(25)))
    assert taken.count(True) == 10
    assert counter.take(key, 0, 10, 2_000_000_000) is True  # at the cap, nothing more fits
    assert counter.take(f"{key}x", 11, 10, 0) is False
