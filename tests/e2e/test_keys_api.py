"""API keys over HTTP on the local stack: an admin lists its agency's keys (no secret, no hash),
issues one, revokes one (that key gets 403 at once: chalice local does not cache the authorizer),
rotates one (old 403, new 200); the last admin key cannot be revoked; officers get 403, another
agency's key id 404, operator keys 403 on agency routes; bad input 400. Operators list and revoke
any agency's keys; the changes are in the agency's audit log."""
from __future__ import annotations

import pytest

from tests.e2e.test_sharing_api import new_agency

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def agency(stack):
    """A fresh agency, so revoking its keys leaves the demo agency's alone: its id, an admin session."""
    agency_id, admin_key = new_agency("Ogdenville PD")
    return agency_id, admin_key


def issue(stack, admin_key, role="officer", label="Officer Ray"):
    made = stack.agency(admin_key).post(f"{stack.api_url}/agency/keys", json={"role": role, "label": label})
    assert made.status_code == 201, made.text
    return made.json()


def works(stack, key):
    return stack.agency(key).get(f"{stack.api_url}/agency/license").status_code


def test_an_admin_lists_issues_revokes_and_rotates_keys(stack, agency):
    agency_id, admin_key = agency
    url = f"{stack.api_url}/agency/keys"
    admin = stack.agency(admin_key)
    made = issue(stack, admin_key)
    assert made["key"].startswith("cek_") and made["role"] == "officer" and works(stack, made["key"]) == 200

    listed = admin.get(url)
    assert listed.status_code == 200
    items = {k["key_id"]: k for k in listed.json()["items"]}
    assert made["key_id"] in items and len(items) == 2
    assert items[made["key_id"]]["last_used_at"]  # it was just used
    assert "cek_" not in listed.text and "hash" not in listed.text and made["key"] not in listed.text
    assert set(items[made["key_id"]]) == {"key_id", "label", "role", "created_at", "last_used_at", "revoked_at",
                                          "revoked_by"}

    revoked = admin.delete(f"{url}/{made['key_id']}")
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert works(stack, made["key"]) == 403  # at once on the local stack (no authorizer cache)
    assert admin.delete(f"{url}/{made['key_id']}").json()["code"] == "already_revoked"

    old = issue(stack, admin_key, label="Officer Lee")
    rotated = admin.post(f"{url}/{old['key_id']}/rotate")
    assert rotated.status_code == 201, rotated.text
    new = rotated.json()
    assert new["replaces"] == old["key_id"] and new["label"] == "Officer Lee" and new["role"] == "officer"
    assert works(stack, old["key"]) == 403 and works(stack, new["key"]) == 200

    actions = [e["action"] for e in stack.audit(admin_key, target=f"key:{made['key_id']}")["items"]]
    assert actions == ["api_key.issued", "api_key.revoked"]
    rotation, = stack.audit(admin_key, action="api_key.rotated")["items"]
    assert rotation["target"] == f"key:{old['key_id']}" and rotation["details"]["new_key_id"] == new["key_id"]
    assert agency_id


def test_the_last_admin_key_stays_and_strangers_are_refused(stack, agency):
    agency_id, admin_key = agency
    url = f"{stack.api_url}/agency/keys"
    admin = stack.agency(admin_key)
    me = next(k for k in admin.get(url).json()["items"] if k["role"] == "agency_admin" and not k["revoked_at"])
    last = admin.delete(f"{url}/{me['key_id']}")
    assert (last.status_code, last.json()["code"]) == (409, "last_admin_key")

    officer = issue(stack, admin_key, label="Officer Kim")
    officer_session = stack.agency(officer["key"])
    assert officer_session.get(url).status_code == 403
    assert officer_session.delete(f"{url}/{officer['key_id']}").status_code == 403
    assert officer_session.post(url, json={"role": "agency_admin", "label": "me"}).status_code == 403

    demo_admin = stack.agency(stack.admin_key)  # another agency's admin
    assert demo_admin.delete(f"{url}/{officer['key_id']}").status_code == 404
    assert demo_admin.post(f"{url}/{officer['key_id']}/rotate").status_code == 404
    assert officer["key_id"] not in demo_admin.get(url).text

    operator = stack.agency(stack.local.seed.operator_key)
    assert operator.get(url).status_code == 403
    assert operator.delete(f"{url}/{officer['key_id']}").status_code == 403

    for bad in ({"role": "operator", "label": "x"}, {"role": "officer"}, {"role": "officer", "label": ""}, []):
        answer = admin.post(url, json=bad)
        assert answer.status_code == 400, (bad, answer.text)
    assert admin.delete(f"{url}/not-a-key").status_code == 404
    assert works(stack, officer["key"]) == 200


def test_operators_list_and_revoke_any_agency_keys(stack, agency):
    agency_id, admin_key = agency
    operator = stack.agency(stack.local.seed.operator_key)
    target = issue(stack, admin_key, label="Officer Ops")
    url = f"{stack.api_url}/operator/agencies/{agency_id}/keys"
    listed = operator.get(url)
    assert listed.status_code == 200 and target["key_id"] in listed.text and target["key"] not in listed.text
    assert stack.agency(admin_key).get(url).status_code == 403
    revoked = operator.delete(f"{url}/{target['key_id']}")
    assert revoked.status_code == 200, revoked.text
    assert works(stack, target["key"]) == 403
    event, = stack.audit(admin_key, target=f"key:{target['key_id']}", action="api_key.revoked")["items"]
    assert event["actor"].startswith("key:")
    assert operator.get(f"{stack.api_url}/operator/agencies/01ARZ3NDEKTSV4RRFFQ69G5FAV/keys").status_code == 404


def test_the_operator_cli_lists_rotates_and_revokes_keys(stack, agency, capsys):
    import argparse
    import json

    from chalicelib import cli

    agency_id, admin_key = agency
    target = issue(stack, admin_key, label="Officer Cli")

    def run(**fields):
        code = cli._operator_call(argparse.Namespace(agency_id=agency_id, **fields))
        out = capsys.readouterr()
        return code, json.loads(out.out) if code == 0 else out.err

    code, listed = run(command="list-keys")
    assert code == 0 and target["key_id"] in {k["key_id"] for k in listed} and "cek_" not in json.dumps(listed)
    code, rotated = run(command="rotate-key", key_id=target["key_id"])
    assert code == 0 and rotated["replaces"] == target["key_id"] and rotated["key"].startswith("cek_")
    assert works(stack, target["key"]) == 403 and works(stack, rotated["key"]) == 200
    code, revoked = run(command="revoke-key", key_id=rotated["key_id"])
    assert code == 0 and revoked["revoked_at"] and works(stack, rotated["key"]) == 403
    code, refused = run(command="revoke-key", key_id=rotated["key_id"])
    assert code == 1 and "already revoked" in refused
