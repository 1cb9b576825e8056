"""The shares repository and the agency directory: one contract, in memory and on DynamoDB (moto
server, tables from infra/template.yaml). Each write commits the owner's and the recipient's
audit events with it, or neither."""
from __future__ import annotations

import os
from datetime import timedelta

import boto3
import pytest

from chalicelib.adapters.dynamo_agencies import DynamoAgencies
from chalicelib.adapters.dynamo_audit import DynamoAuditLog
from chalicelib.adapters.dynamo_codec import encode_cursor
from chalicelib.adapters.dynamo_shares import DynamoShares
from chalicelib.domain import audit
from chalicelib.domain.errors import Conflict, InvalidInput
from chalicelib.domain.models import Agency
from chalicelib.domain.sharing import Share
from tests.fakes import START, MemoryAgencies, MemoryAuditLog, MemoryShares
from tests.integration.test_repository_contract import new_id

pytestmark = pytest.mark.integration


@pytest.fixture(params=["memory", "dynamodb"])
def world(request):
    """(shares repository, agencies repository, audit log) of one implementation."""
    if request.param == "memory":
        log = MemoryAuditLog(chain_on_record=False)
        yield MemoryShares(log), MemoryAgencies(log), log
        return
    db, table, inbox = boto3.client("dynamodb"), os.environ["TABLE_NAME"], os.environ["AUDIT_INBOX_TABLE_NAME"]
    log = DynamoAuditLog(db, os.environ["AUDIT_TABLE_NAME"], inbox, table)
    with request.getfixturevalue("stack").local.paused():  # its pump would chain the events first
        yield DynamoShares(db, table, inbox), DynamoAgencies(db, table, inbox), log


def a_share(owner: str, recipient: str, minutes: int = 0, **extra) -> Share:
    return Share(share_id=new_id(minutes), owner_agency_id=owner, recipient_agency_id=recipient, created_by="key:k",
                 created_at=START, **({"case_ref": "C-1"} | extra))


def events(share: Share, action: str):
    return [audit.new_event(a, at=START, actor="key:k", action=action, target=f"share:{share.share_id}")
            for a in (share.owner_agency_id, share.recipient_agency_id)]


def test_a_share_is_stored_once_with_an_event_in_each_agencys_log(world):
    shares, _, log = world
    made = a_share(new_id(), new_id())
    shares.create_share(made, events=events(made, "share.created"))
    with pytest.raises(Conflict):
        shares.create_share(made, events=events(made, "share.created"))
    assert shares.get_share(made.owner_agency_id, made.share_id) == made
    assert log.waiting(made.owner_agency_id) == 1 and log.waiting(made.recipient_agency_id) == 1


def test_the_recipient_finds_a_share_by_id_and_no_one_else_does(world):
    shares, _, _ = world
    made = a_share(new_id(), new_id())
    shares.create_share(made, events=events(made, "share.created"))
    assert shares.shared_with(made.recipient_agency_id, made.share_id) == made
    assert shares.shared_with(new_id(), made.share_id) is None
    assert shares.shared_with(made.owner_agency_id, made.share_id) is None
    assert shares.get_share(made.recipient_agency_id, made.share_id) is None


def test_revocation_is_stored_once_and_blocks_recording_a_view(world):
    shares, _, log = world
    made = a_share(new_id(), new_id())
    shares.create_share(made, events=events(made, "share.created"))
    shares.record_view(made, events=events(made, "shared_submission.viewed"))
    revoked = made.model_copy(update={"revoked_at": START + timedelta(hours=1), "revoked_by": "key:k"})
    shares.revoke_share(revoked, events=events(made, "share.revoked"))
    with pytest.raises(Conflict):
        shares.revoke_share(revoked, events=events(made, "share.revoked"))
    with pytest.raises(Conflict):
        shares.record_view(made, events=events(made, "shared_submission.viewed"))
    assert shares.shared_with(made.recipient_agency_id, made.share_id) == revoked
    assert log.waiting(made.owner_agency_id) == 3 and log.waiting(made.recipient_agency_id) == 3


def test_each_side_lists_its_shares_newest_first_a_page_at_a_time(world):
    shares, _, _ = world
    owner, recipient = new_id(), new_id()
    made = [a_share(owner, recipient, minutes=i) for i in range(3)]
    for share in made:
        shares.create_share(share, events=[])
    shares.create_share(a_share(new_id(), new_id(), minutes=5), events=[])  # someone else's
    for listing, agency_id in ((shares.list_outgoing, owner), (shares.list_incoming, recipient)):
        seen, cursor = [], None
        while True:
            page = listing(agency_id, limit=2, cursor=cursor)
            seen += [s.share_id for s in page.items]
            if not (cursor := page.next_cursor):
                break
        assert seen == [s.share_id for s in reversed(made)]
        with pytest.raises(InvalidInput):
            listing(agency_id, limit=2, cursor="garbage!")


def test_the_directory_lists_every_agency_by_id(world):
    _, agencies, _ = world
    made = sorted(new_id() for _ in range(3))
    for agency_id in made:
        agencies.create_agency(Agency(agency_id=agency_id, name=f"PD {agency_id}", created_at=START))
    listed, cursor = [], None
    while True:
        page = agencies.list_agencies(limit=2, cursor=cursor)
        listed += [a.agency_id for a in page.items]
        if not (cursor := page.next_cursor):
            break
    assert [a for a in listed if a in made] == made and listed == sorted(listed)


def test_an_agency_filed_before_the_directory_is_listed_once_refiled(stack):
    from chalicelib.adapters.dynamo_codec import to_item

    db, table = boto3.client("dynamodb"), os.environ["TABLE_NAME"]
    repo = DynamoAgencies(db, table, os.environ["AUDIT_INBOX_TABLE_NAME"])
    old = Agency(agency_id=new_id(), name="Old PD", created_at=START)
    db.put_item(TableName=table, Item=to_item({"pk": f"AGENCY#{old.agency_id}", "sk": "PROFILE",
                                               **old.model_dump(mode="json")}))
    assert old.agency_id in [a.agency_id for a in repo.unfiled_agencies()]
    for agency in list(repo.unfiled_agencies()):
        repo.save_agency(agency)  # what `./dev cli refile-agencies` does
    assert list(repo.unfiled_agencies()) == []
    before = encode_cursor({"gsi1sk": {"S": old.agency_id[:-1]}}, ("gsi1sk",))  # ids made just before it sort here
    listed = repo.list_agencies(limit=100, cursor=before)
    assert old.agency_id in [a.agency_id for a in listed.items]
