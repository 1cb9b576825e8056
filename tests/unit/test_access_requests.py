"""The program's access requests: the public form, duplicates, and the operator's decisions."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from chalicelib.domain.access_requests import DenyAccessRequest, RequestStatus, SubmitAccessRequest, fingerprint
from chalicelib.domain.errors import Conflict, Forbidden, InvalidInput
from chalicelib.domain.models import OPERATOR_AGENCY, Principal, Role
from chalicelib.services import access_requests, licensing

OPERATOR = Principal(agency_id=OPERATOR_AGENCY, role=Role.OPERATOR, key_id="op")
FORM = {"organisation": "Lakeside Public Health", "organisation_type": "public_health", "country": "US",
        "contact_name": "Dana Reyes", "contact_email": "dana@lakeside.example", "current_license": "evidence_lite"}


def submit(deps, **changes):
    return access_requests.submit(SubmitAccessRequest(**(FORM | changes)), deps=deps)


def test_a_request_is_received_and_listed_for_operators(deps):
    received = submit(deps)
    assert received.status is RequestStatus.PENDING
    page = access_requests.list_requests(OPERATOR, RequestStatus.PENDING, limit=10, cursor=None, deps=deps)
    assert [r.request_id for r in page.items] == [received.request_id]
    assert deps.audit.actions(OPERATOR_AGENCY) == ["access_request.received"]


@pytest.mark.parametrize("typed", ["Lakeside Public Health", "LAKESIDE public-health", "Lakeside  Public Health.",
                                   "Lakesidé Public Health"])
def test_the_same_organisation_however_typed_is_a_duplicate(deps, typed):
    submit(deps)
    with pytest.raises(Conflict) as refused:
        submit(deps, organisation=typed)
    assert refused.value.code == "duplicate_request"


def test_the_same_name_in_another_country_is_another_organisation(deps):
    assert fingerprint("Lakeside", "US") != fingerprint("Lakeside", "CA")


def test_a_country_before_its_opening_date_is_refused(deps, clock):
    clock.at = datetime(2020, 3, 30, tzinfo=timezone.utc)
    with pytest.raises(InvalidInput) as refused:
        submit(deps, country="DE")
    assert refused.value.code == "country_not_yet_available" and "2020-04-02" in refused.value.message
    submit(deps, country="CA")


def test_approval_creates_the_agency_with_its_licence_enrolment_and_an_emailed_admin_key(deps, clock):
    received = submit(deps)
    decided, key = access_requests.approve(OPERATOR, received.request_id, deps=deps)
    assert decided.status is RequestStatus.APPROVED and decided.agency_id
    ent = licensing.current(decided.agency_id, clock.now().date(), licenses=deps.licenses)
    assert ent.kind.value == "evidence_lite" and ent.enrolled and ent.citizen_officers
    (to, _, text), = deps.email.sent
    assert to == "dana@lakeside.example" and key in text
    assert deps.agencies.get_agency(decided.agency_id).contact_email == "dana@lakeside.example"
    with pytest.raises(Conflict):
        access_requests.approve(OPERATOR, received.request_id, deps=deps)


def test_approval_after_the_program_ended_is_refused_before_anything_is_written(deps, clock):
    received = submit(deps)
    clock.at = datetime(2021, 1, 5, tzinfo=timezone.utc)
    with pytest.raises(InvalidInput) as refused:
        access_requests.approve(OPERATOR, received.request_id, deps=deps)
    assert refused.value.code == "program_ended"
    assert deps.access_requests.get(received.request_id).status is RequestStatus.PENDING
    assert deps.agencies.agencies == {}


def test_a_denial_is_told_to_the_contact_and_the_organisation_may_ask_again(deps):
    received = submit(deps)
    denied = access_requests.deny(OPERATOR, received.request_id, DenyAccessRequest(reason="not eligible"), deps=deps)
    assert denied.status is RequestStatus.DENIED and "not eligible" in deps.email.sent[0][2]
    submit(deps)


def test_only_operators_decide(deps, officer):
    received = submit(deps)
    with pytest.raises(Forbidden):
        access_requests.approve(officer, received.request_id, deps=deps)
    with pytest.raises(Forbidden):
        access_requests.list_requests(officer, RequestStatus.PENDING, limit=5, cursor=None, deps=deps)
