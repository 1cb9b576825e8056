"""API keys after issue, one contract on memory and on DynamoDB (moto over HTTP): listed by agency
through gsi1, found by id only in their agency, revoked once and on condition that the other
admin key kept stays active, rotated in one transaction with its event, last_used_at written at
most once per window. On DynamoDB: a key issued before the index is filed when next used, or by
the re-filing command's scan."""
from __future__ import annotations

import os
from datetime import timedelta

import boto3
import pytest

from chalicelib.adapters.dynamo_agencies import DynamoAgencies
from chalicelib.adapters.dynamo_codec import to_item
from chalicelib.domain import audit, ids
from chalicelib.domain.errors import Conflict
from chalicelib.domain.models import ApiKey, Role
from tests.fakes import START
from tests.integration.test_repository_contract import agencies_repo, new_id  # noqa: F401 (fixture)

pytestmark = pytest.mark.integration


def a_key(agency_id, role=Role.OFFICER, label="x"):
    return ApiKey(key_id=new_id(), key_hash=ids.digest(ids.new_api_key()), agency_id=agency_id, role=role,
                  label=label, created_at=START)


def an_event(agency_id, action):
    return audit.new_event(agency_id, at=START, actor="key:k", action=action, target="key:x")


def test_keys_are_listed_by_agency_revoked_once_and_rotated_together(agencies_repo):  # noqa: F811
    agency_id, other_id = new_id(), new_id()
    first, second, elsewhere = a_key(agency_id, Role.AGENCY_ADMIN), a_key(agency_id), a_key(other_id)
    for key in (first, second, elsewhere):
        agencies_repo.create_key(key)
    assert [k.key_id for k in agencies_repo.list_keys(agency_id)] == sorted([first.key_id, second.key_id])
    assert agencies_repo.key_by_id(agency_id, second.key_id) == second
    assert agencies_repo.key_by_id(other_id, second.key_id) is None
    assert agencies_repo.list_keys(new_id()) == []

    at = START + timedelta(hours=2)
    agencies_repo.revoke_key(second, at=at, by="key:k", event=an_event(agency_id, "api_key.revoked"))
    revoked = agencies_repo.key_by_hash(second.key_hash)
    assert (revoked.revoked_at, revoked.revoked_by, revoked.active) == (at, "key:k", False)
    assert agencies_repo.key_by_id(agency_id, second.key_id).revoked_at == at
    with pytest.raises(Conflict):
        agencies_repo.revoke_key(second, at=at, by="key:k", event=an_event(agency_id, "api_key.revoked"))

    successor = a_key(agency_id, Role.AGENCY_ADMIN)
    agencies_repo.rotate_key(first, successor, at=at, by="key:k", event=an_event(agency_id, "api_key.rotated"))
    assert not agencies_repo.key_by_hash(first.key_hash).active
    assert agencies_repo.key_by_id(agency_id, successor.key_id) == successor
    with pytest.raises(Conflict):  # the old key is revoked: nothing of a second rotation is written
        agencies_repo.rotate_key(first, a_key(agency_id), at=at, by="key:k",
                                 event=an_event(agency_id, "api_key.rotated"))
    assert len(agencies_repo.list_keys(agency_id)) == 3


def test_a_revocation_fails_when_the_admin_key_it_keeps_was_revoked(agencies_repo):  # noqa: F811
    agency_id = new_id()
    one, two = a_key(agency_id, Role.AGENCY_ADMIN), a_key(agency_id, Role.AGENCY_ADMIN)
    for key in (one, two):
        agencies_repo.create_key(key)
    agencies_repo.revoke_key(one, at=START, by="key:k", keep=two, event=an_event(agency_id, "api_key.revoked"))
    with pytest.raises(Conflict):
        agencies_repo.revoke_key(two, at=START, by="key:k", keep=one, event=an_event(agency_id, "api_key.revoked"))
    assert agencies_repo.key_by_hash(two.key_hash).active


def test_last_used_is_written_once_per_window(agencies_repo):  # noqa: F811
    key = a_key(new_id())
    agencies_repo.create_key(key)
    assert agencies_repo.touch_key(key, START, unless_since=START - timedelta(hours=1)) is True
    later = START + timedelta(minutes=30)
    assert agencies_repo.touch_key(key, later, unless_since=later - timedelta(hours=1)) is False
    assert agencies_repo.key_by_hash(key.key_hash).last_used_at == START
    later = START + timedelta(minutes=61)
    assert agencies_repo.touch_key(key, later, unless_since=later - timedelta(hours=1)) is True
    assert agencies_repo.key_by_hash(key.key_hash).last_used_at == later


def test_keys_issued_before_the_index_are_filed_when_used_or_by_the_refiling_scan(stack):
    repo = DynamoAgencies(boto3.client("dynamodb"), os.environ["TABLE_NAME"], os.environ["AUDIT_INBOX_TABLE_NAME"])
    agency_id = new_id()
    used, idle = a_key(agency_id), a_key(agency_id)
    for key in (used, idle):  # as create_key wrote them before the index: no gsi1 attributes
        boto3.client("dynamodb").put_item(TableName=os.environ["TABLE_NAME"], Item=to_item(
            {"pk": f"APIKEY#{key.key_hash}", "sk": "APIKEY", **key.model_dump(mode="json")}))
    assert repo.list_keys(agency_id) == []
    assert repo.touch_key(used, START, unless_since=START - timedelta(hours=1))
    assert [k.key_id for k in repo.list_keys(agency_id)] == [used.key_id]
    assert idle.key_id in {k.key_id for k in repo.unfiled_keys()}
    repo.file_key(idle)
    assert {k.key_id for k in repo.list_keys(agency_id)} == {used.key_id, idle.key_id}
    assert idle.key_id not in {k.key_id for k in repo.unfiled_keys()}
