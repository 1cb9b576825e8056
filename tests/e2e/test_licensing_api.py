"""Licences, the emergency program and access requests over HTTP on the local stack."""
from __future__ import annotations

import pytest
import requests

from tests.e2e.test_citizen_links_api import _other_agency_key

pytestmark = pytest.mark.e2e

REQUEST = {"organisation": "Lakeside Public Health", "organisation_type": "public_health", "country": "US",
           "contact_name": "Dana Reyes", "contact_email": "dana@lakeside.example", "current_license": "none"}


def operator(stack):
    return stack.agency(stack.local.seed.operator_key)


def test_an_agency_sees_its_licence_state(stack):
    state = stack.agency().get(f"{stack.api_url}/agency/license").json()
    assert state["kind"] == "evidence_basic" and state["citizen_officers"] is True
    assert state["access_mode"] == "full"


def test_an_access_request_is_approved_into_an_enrolled_agency_with_an_emailed_admin_key(stack):
    body = REQUEST | {"organisation": "Harbor County EMS", "contact_email": "ems@harbor.example"}
    sent = requests.post(f"{stack.api_url}/access-requests", json=body)
    closed = operator(stack).post(f"{stack.api_url}/operator/access-requests/{sent.json()['request_id']}/approve")
    assert closed.status_code == 400 and closed.json()["code"] == "program_ended"  # it ended with 2020
    still = operator(stack).get(f"{stack.api_url}/operator/access-requests").json()["items"]
    assert sent.json()["request_id"] in [r["request_id"] for r in still]  # nothing was decided or created
    extended = operator(stack).post(f"{stack.api_url}/operator/program/extend", json={"end": "2099-12-31"})
    assert extended.status_code == 200, extended.text
    assert sent.status_code == 201, sent.text
    again = requests.post(f"{stack.api_url}/access-requests", json=body | {"organisation": "HARBOR county  EMS!"})
    assert again.status_code == 409 and again.json()["code"] == "duplicate_request"
    pending = operator(stack).get(f"{stack.api_url}/operator/access-requests").json()["items"]
    assert sent.json()["request_id"] in [r["request_id"] for r in pending]
    approved = operator(stack).post(f"{stack.api_url}/operator/access-requests/{sent.json()['request_id']}/approve")
    assert approved.status_code == 200, approved.text
    key = approved.json()["admin_key"]
    assert any(key in m["body"] for m in stack.emails() if m["to"] == ["ems@harbor.example"])
    twice = operator(stack).post(f"{stack.api_url}/operator/access-requests/{sent.json()['request_id']}/approve")
    assert twice.status_code == 409 and twice.json()["code"] == "already_decided"
    state = stack.agency(key).get(f"{stack.api_url}/agency/license").json()
    assert state["enrolled"] is True and state["kind"] == "none"


@pytest.mark.parametrize("change, code", [
    ({"organisation_type": "military"}, "validation_error"),
    ({"country": "usa"}, "validation_error"),
    ({"contact_email": "not-an-email"}, "validation_error"),
    ({"current_license": "platinum"}, "validation_error"),
])
def test_bad_access_requests_get_a_json_400(stack, change, code):
    response = requests.post(f"{stack.api_url}/access-requests", json=REQUEST | change)
    assert response.status_code == 400 and response.json()["code"] == code


def test_operator_routes_refuse_agency_keys_and_agency_routes_refuse_operator_keys(stack):
    assert stack.agency(stack.admin_key).get(f"{stack.api_url}/operator/access-requests").status_code == 403
    assert operator(stack).get(f"{stack.api_url}/agency/submissions").status_code == 403
    assert operator(stack).post(f"{stack.api_url}/agency/citizen-links",
                                json={"case_ref": "X", "phone": "+15555550123"}).status_code == 403


def test_operator_changes_are_validated(stack):
    op = operator(stack)
    unknown = op.put(f"{stack.api_url}/operator/agencies/{stack.agency_id}/license", json={"kind": "platinum"})
    assert unknown.status_code == 400
    past = op.post(f"{stack.api_url}/operator/program/extend", json={"end": "2019-01-01"})
    assert past.status_code == 400 and past.json()["code"] in ("end_date_in_past", "end_date_not_later")


def other_agency(stack):
    """A fresh Evidence Basic agency: (its officer key, its id)."""
    from chalicelib import bootstrap
    from chalicelib.services import agencies

    key = _other_agency_key(stack)
    return key, agencies.authenticate(f"Bearer {key}", deps=bootstrap.deps()).agency_id


def test_a_licence_without_citizen_for_officers_cannot_send_links_but_still_reads(stack):
    key, agency_id = other_agency(stack)
    changed = operator(stack).put(f"{stack.api_url}/operator/agencies/{agency_id}/license",
                                  json={"kind": "evidence_lite"})
    assert changed.status_code == 200, changed.text
    other = stack.agency(key)
    refused = other.post(f"{stack.api_url}/agency/citizen-links", json={"case_ref": "L1", "phone": "+15555550123"})
    assert refused.status_code == 403 and refused.json()["code"] == "entitlement_missing"
    assert refused.json()["details"] == {"missing": "citizen_officers"}
    assert other.get(f"{stack.api_url}/agency/submissions").status_code == 200


def test_a_citizen_link_stops_working_when_its_agency_loses_the_feature(stack):
    key, agency_id = other_agency(stack)
    link = stack.agency(key).post(f"{stack.api_url}/agency/citizen-links",
                                  json={"case_ref": "LOSE-1", "phone": "+15555550123"}).json()
    assert requests.get(f"{link['url']}/session").status_code == 200
    operator(stack).put(f"{stack.api_url}/operator/agencies/{agency_id}/license", json={"kind": "none"})
    assert requests.get(f"{link['url']}/session").status_code == 403
    assert requests.get(link["url"]).status_code == 410  # the citizen sees a friendly "expired" page


def test_the_operator_cli_sets_a_licence_and_refuses_bad_input(stack, capsys):
    import argparse

    from chalicelib import cli

    _, agency_id = other_agency(stack)
    ok = argparse.Namespace(command="set-license", agency_id=agency_id, kind="evidence_pro", citizen_addon=False)
    assert cli._operator_call(ok) == 0 and '"kind": "evidence_pro"' in capsys.readouterr().out
    bad = argparse.Namespace(command="set-quota", quota_bytes=-5, agency_id=None)
    assert cli._operator_call(bad) == 1 and capsys.readouterr().err
