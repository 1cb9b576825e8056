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
    assert state["kind"] == "osp7_plus" and state["citizen_officers"] is True  # the demo keeps Citizen
    assert state["access_mode"] == "full" and state["time_zone"] == "America/New_York"


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


def other_agency(stack, kind="evidence_pro"):
    """A fresh agency on this licence (Pro: it sends links today): (its officer key, its id)."""
    from chalicelib import bootstrap
    from chalicelib.services import agencies

    key = _other_agency_key(stack)
    agency_id = agencies.authenticate(f"Bearer {key}", deps=bootstrap.deps()).agency_id
    changed = operator(stack).put(f"{stack.api_url}/operator/agencies/{agency_id}/license", json={"kind": kind})
    assert changed.status_code == 200, changed.text
    return key, agency_id


def test_evidence_basic_has_citizen_for_officers_only_as_free_program_access(stack):
    key, _ = other_agency(stack, "evidence_basic")
    state = stack.agency(key).get(f"{stack.api_url}/agency/license").json()
    assert state["access_mode"] == "full"
    if state["citizen_officers"]:  # another test may have extended the shared stack's program
        assert state["billing"]["citizen_officers"].startswith("program (free until")
    else:
        assert "ended" in state["reasons"]["citizen_officers"]


def test_an_operator_sets_an_agency_s_time_zone_and_the_licence_shows_it(stack):
    _, agency_id = other_agency(stack)
    url = f"{stack.api_url}/operator/agencies/{agency_id}/time-zone"
    done = operator(stack).put(url, json={"time_zone": "America/Chicago"})
    assert done.status_code == 200 and done.json()["effective"] == "America/Chicago"
    assert operator(stack).put(url, json={"time_zone": None}).json()["effective"] == "America/Toronto"


@pytest.mark.parametrize("payload, code", [({"time_zone": "Mars/Olympus"}, "invalid_time_zone"),
                                           ({"time_zone": 5}, "validation_error"),
                                           ({"zone": "UTC"}, "validation_error")])
def test_a_bad_time_zone_gets_a_json_400(stack, payload, code):
    response = operator(stack).put(f"{stack.api_url}/operator/agencies/{stack.agency_id}/time-zone", json=payload)
    assert response.status_code == 400 and response.json()["code"] == code


def test_only_operators_set_time_zones_and_only_for_agencies_that_exist(stack):
    url = f"{stack.api_url}/operator/agencies/{stack.agency_id}/time-zone"
    assert stack.agency(stack.admin_key).put(url, json={"time_zone": "UTC"}).status_code == 403
    missing = operator(stack).put(f"{stack.api_url}/operator/agencies/01e4tffzm0rx26x195a1xkr7sh/time-zone",
                                  json={"time_zone": "UTC"})
    assert missing.status_code == 404 and missing.json()["code"] == "agency_not_found"
    garbage = operator(stack).put(f"{stack.api_url}/operator/agencies/..%2Fx/time-zone", json={"time_zone": "UTC"})
    assert garbage.status_code == 404


def test_an_existing_agency_joins_the_program_through_the_form_without_a_second_agency(stack):
    key, agency_id = other_agency(stack, "evidence_lite")
    body = REQUEST | {"organisation": f"Lite County {agency_id[-6:]}", "current_license": "osp7_plus",
                      "existing_agency_id": agency_id}
    sent = requests.post(f"{stack.api_url}/access-requests", json=body)
    assert sent.status_code == 201, sent.text
    operator(stack).post(f"{stack.api_url}/operator/program/extend", json={"end": "2099-12-31"})  # may be done
    approved = operator(stack).post(f"{stack.api_url}/operator/access-requests/{sent.json()['request_id']}/approve")
    assert approved.status_code == 200, approved.text
    assert approved.json() | {"request_id": None} == {
        "request_id": None, "agency_id": agency_id, "admin_key": None, "granted_license": "evidence_lite",
        "license_decision": "on_record"}
    state = stack.agency(key).get(f"{stack.api_url}/agency/license").json()
    assert state["kind"] == "evidence_lite" and state["enrolled"] is True
    assert state["storage_quota_bytes"] == 10 * 1024**3


@pytest.mark.parametrize("payload", [{"license": "platinum"}, {"agency_id": "../../x"}, {"surprise": True},
                                     {"license": "none", "agency_id": "01e4tffzm0rx26x195a1xkr7sh"}])
def test_a_bad_approval_gets_a_json_400_and_decides_nothing(stack, payload):
    body = REQUEST | {"organisation": f"Bad Approval {abs(hash(str(payload))) % 10**8}"}
    sent = requests.post(f"{stack.api_url}/access-requests", json=body).json()
    response = operator(stack).post(f"{stack.api_url}/operator/access-requests/{sent['request_id']}/approve",
                                    json=payload)
    assert response.status_code == 400 and response.json()["code"] == "validation_error"
    pending = operator(stack).get(f"{stack.api_url}/operator/access-requests").json()["items"]
    assert sent["request_id"] in [r["request_id"] for r in pending]


def test_a_quota_for_a_kind_without_one_is_refused(stack):
    response = operator(stack).put(f"{stack.api_url}/operator/quota", json={"quota_bytes": 5, "kind": "osp7_plus"})
    assert response.status_code == 400 and response.json()["code"] == "validation_error"
    both = operator(stack).put(f"{stack.api_url}/operator/quota",
                               json={"quota_bytes": 5, "kind": "none", "agency_id": stack.agency_id})
    assert both.status_code == 400


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
    ok = argparse.Namespace(command="set-license", agency_id=agency_id, kind="osp7_plus", citizen_addon=False)
    assert cli._operator_call(ok) == 0 and '"kind": "osp7_plus"' in capsys.readouterr().out
    zone = argparse.Namespace(command="set-time-zone", agency_id=agency_id, time_zone="Europe/Paris")
    assert cli._operator_call(zone) == 0 and '"effective": "Europe/Paris"' in capsys.readouterr().out
    bad = argparse.Namespace(command="set-quota", quota_bytes=-5, agency_id=None, kind="none")
    assert cli._operator_call(bad) == 1 and capsys.readouterr().err
