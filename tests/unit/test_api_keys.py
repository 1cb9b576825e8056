"""API keys after issue, over the fakes: an admin lists (no secrets), issues, revokes and rotates
its agency's keys, each change audited in the agency's log; a revoked key no longer
authenticates; the last admin key stays; officers, operators on agency routes and other agencies
are refused; operators manage any agency's keys; last_used_at moves at most once an hour."""
from __future__ import annotations

import pytest

from chalicelib.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from chalicelib.domain.models import OPERATOR_AGENCY, Principal, Role
from chalicelib.http import parse
from chalicelib.services import agencies, custody, keys


def holder(agency_id, deps, role=Role.OFFICER, label="someone"):
    key, secret = agencies.issue_key(agency_id, role, label, deps=deps)
    return Principal(agency_id=agency_id, role=role, key_id=key.key_id), secret


@pytest.fixture
def admin(deps, agency):
    return holder(agency.agency_id, deps, Role.AGENCY_ADMIN, "first admin")


@pytest.fixture
def operator(deps):
    return holder(OPERATOR_AGENCY, deps, Role.OPERATOR, "ops")[0]


def login(secret, deps):
    return agencies.authenticate(f"Bearer {secret}", deps=deps)


def test_an_admin_lists_its_agency_keys_without_secrets(deps, agency, admin, officer):
    me, _ = admin
    listed = [keys.key_view(k) for k in keys.list_keys(me, deps=deps)]
    assert {k["key_id"] for k in listed} == {me.key_id, officer.key_id}
    for view in listed:
        assert set(view) == {"key_id", "label", "role", "created_at", "last_used_at", "revoked_at", "revoked_by"}


def test_an_admin_issues_a_key_whose_secret_works_and_is_audited(deps, agency, admin):
    me, _ = admin
    key, secret = keys.issue(me, parse(keys.IssueKey, b'{"role": "officer", "label": " Officer Ray "}'), deps=deps)
    assert key.label == "Officer Ray" and key.agency_id == agency.agency_id
    assert login(secret, deps).key_id == key.key_id
    entry = [e for e in deps.audit.entries(agency.agency_id) if e.action == "api_key.issued"][-1]
    assert entry.actor == me.actor and entry.target == f"key:{key.key_id}"
    for bad in (b'{"role": "operator", "label": "x"}', b'{"role": "officer", "label": ""}', b'{"role": "officer"}'):
        with pytest.raises(InvalidInput):
            parse(keys.IssueKey, bad)


def test_a_revoked_key_no_longer_authenticates_and_the_revocation_is_audited(deps, clock, agency, admin):
    me, _ = admin
    target, secret = holder(agency.agency_id, deps)
    assert login(secret, deps) is not None
    clock.advance(minutes=5)
    revoked = keys.revoke(me, target.key_id, deps=deps)
    assert revoked.revoked_at == clock.now() and revoked.revoked_by == me.actor
    assert login(secret, deps) is None
    listed = {k.key_id: k for k in keys.list_keys(me, deps=deps)}
    assert listed[target.key_id].revoked_at == clock.now()
    assert deps.audit.actions(agency.agency_id)[-1] == "api_key.revoked"
    with pytest.raises(Conflict) as again:
        keys.revoke(me, target.key_id, deps=deps)
    assert again.value.code == "already_revoked"


def test_rotation_revokes_the_old_key_and_issues_one_with_the_same_label_and_role(deps, agency, admin):
    me, _ = admin
    target, old_secret = holder(agency.agency_id, deps, Role.OFFICER, "Officer Lee")
    old, new, secret = keys.rotate(me, target.key_id, deps=deps)
    assert old.key_id == target.key_id and new.key_id != old.key_id
    assert (new.label, new.role, new.agency_id) == ("Officer Lee", Role.OFFICER, agency.agency_id)
    assert login(old_secret, deps) is None and login(secret, deps).key_id == new.key_id
    entry = list(deps.audit.entries(agency.agency_id))[-1]
    assert entry.action == "api_key.rotated" and entry.details["new_key_id"] == new.key_id


def test_the_last_active_admin_key_cannot_be_revoked_but_can_be_rotated(deps, agency, admin):
    me, secret = admin
    with pytest.raises(Conflict) as refused:
        keys.revoke(me, me.key_id, deps=deps)
    assert refused.value.code == "last_admin_key"
    second, _ = holder(agency.agency_id, deps, Role.AGENCY_ADMIN)
    keys.revoke(second, me.key_id, deps=deps)
    assert login(secret, deps) is None
    with pytest.raises(Conflict):
        keys.revoke(second, second.key_id, deps=deps)
    _, new, new_secret = keys.rotate(second, second.key_id, deps=deps)
    assert new.role is Role.AGENCY_ADMIN and login(new_secret, deps) is not None


def test_a_revocation_keeps_the_other_admin_key_it_relied_on(deps, agency, admin):
    """Two admins revoking each other: the repository refuses the second, whose kept key is gone."""
    me, _ = admin
    second, _ = holder(agency.agency_id, deps, Role.AGENCY_ADMIN)
    first_key, second_key = (deps.agencies.key_by_id(agency.agency_id, p.key_id) for p in (me, second))
    event = custody.event(agency.agency_id, deps=deps, actor="t", action="api_key.revoked", target="key:x")
    deps.agencies.revoke_key(first_key, at=deps.clock.now(), by="t", event=event, keep=second_key)
    with pytest.raises(Conflict):
        deps.agencies.revoke_key(second_key, at=deps.clock.now(), by="t", event=event, keep=first_key)
    assert deps.agencies.key_by_id(agency.agency_id, second.key_id).active


def test_officers_operators_and_other_agencies_are_refused(deps, agency, admin, officer, operator):
    me, _ = admin
    with pytest.raises(Forbidden):
        keys.list_keys(officer, deps=deps)
    with pytest.raises(Forbidden):
        keys.revoke(officer, me.key_id, deps=deps)
    with pytest.raises(Forbidden):
        keys.rotate(operator, officer.key_id, deps=deps)  # agency routes: no agency to act for
    other = agencies.create_agency("Shelbyville PD", "US", deps=deps)
    stranger, _ = holder(other.agency_id, deps, Role.AGENCY_ADMIN)
    for call in (keys.revoke, keys.rotate):
        with pytest.raises(NotFound):
            call(stranger, officer.key_id, deps=deps)
        with pytest.raises(NotFound):
            call(me, operator.key_id, deps=deps)  # operator keys are not an agency's
        with pytest.raises(NotFound):
            call(me, "not-an-id", deps=deps)
    with pytest.raises(Forbidden):
        keys.list_keys(me, agency.agency_id, deps=deps)  # operator routes need an operator


def test_operators_manage_any_agency_keys_in_that_agency_log(deps, agency, admin, officer, operator):
    me, secret = admin
    assert {k.key_id for k in keys.list_keys(operator, agency.agency_id, deps=deps)} == {me.key_id, officer.key_id}
    keys.revoke(operator, me.key_id, agency.agency_id, deps=deps)  # an operator may revoke a compromised last admin
    assert login(secret, deps) is None
    entry = list(deps.audit.entries(agency.agency_id))[-1]
    assert entry.action == "api_key.revoked" and entry.actor == operator.actor
    _, new, _ = keys.rotate(operator, officer.key_id, agency.agency_id, deps=deps)
    assert new.agency_id == agency.agency_id
    with pytest.raises(NotFound):
        keys.list_keys(operator, "01ARZ3NDEKTSV4RRFFQ69G5FAV", deps=deps)
    with pytest.raises(Conflict) as last:
        keys.revoke(operator, operator.key_id, OPERATOR_AGENCY, deps=deps)
    assert last.value.code == "last_admin_key"


def test_last_used_is_written_at_most_once_an_hour(deps, clock, agency):
    _, secret = holder(agency.agency_id, deps)
    writes = []
    touch = deps.agencies.touch_key
    deps.agencies.touch_key = lambda *a, **k: writes.append(a[1]) or touch(*a, **k)
    first = clock.now()
    login(secret, deps)
    clock.advance(minutes=59)
    login(secret, deps)
    assert writes == [first]
    clock.advance(minutes=2)
    login(secret, deps)
    assert writes == [first, clock.now()]
    listed = {k.label: k for k in deps.agencies.list_keys(agency.agency_id)}
    assert listed["someone"].last_used_at == clock.now()


def test_a_failing_last_used_write_never_refuses_the_caller(deps, agency):
    _, secret = holder(agency.agency_id, deps)

    def broken(*args, **kwargs):
        raise RuntimeError("throttled")
    deps.agencies.touch_key = broken
    assert login(secret, deps) is not None
