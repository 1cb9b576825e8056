"""The program's access requests: the public form, duplicates, and the operator's decisions."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from chalicelib.domain.access_requests import (
    ApproveAccessRequest,
    DenyAccessRequest,
    LicenseDecision,
    RequestStatus,
    SubmitAccessRequest,
    fingerprint,
)
from chalicelib.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
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


def test_approval_creates_an_enrolled_agency_with_the_licence_the_operator_confirmed_and_an_emailed_key(deps):
    received = submit(deps)
    decided, key = access_requests.approve(OPERATOR, received.request_id, ApproveAccessRequest(
        license="evidence_lite"), deps=deps)
    assert decided.status is RequestStatus.APPROVED and decided.agency_id
    assert (decided.granted_license, decided.license_decision) == ("evidence_lite", LicenseDecision.CONFIRMED)
    ent = licensing.current(decided.agency_id, deps=deps)
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


def approved(deps, cmd=None, **form):
    return access_requests.approve(OPERATOR, submit(deps, **form).request_id, cmd, deps=deps)


def test_a_claimed_paid_licence_is_not_granted_unless_the_operator_confirms_it(deps):
    decided, _ = approved(deps, current_license="osp7_plus")
    assert (decided.granted_license, decided.license_decision) == ("none", LicenseDecision.PROGRAM_DEFAULT)
    ent = licensing.current(decided.agency_id, deps=deps)
    assert ent.kind.value == "none" and ent.free_until is not None  # the program's, not a contract's


def test_the_operator_may_correct_the_claimed_licence_and_the_approval_records_it(deps):
    decided, _ = approved(deps, ApproveAccessRequest(license="evidence_lite"), current_license="evidence_pro")
    assert (decided.granted_license, decided.license_decision) == ("evidence_lite", LicenseDecision.CORRECTED)
    stored = deps.access_requests.get(decided.request_id)
    assert (stored.granted_license, stored.license_decision) == ("evidence_lite", LicenseDecision.CORRECTED)
    entry = list(deps.audit.entries(OPERATOR_AGENCY))[-1]
    assert entry.details["license_decision"] == "corrected" and entry.details["current_license"] == "evidence_pro"


def existing_lite(deps):
    from chalicelib.services import agencies

    agency = agencies.create_agency("Lakeside Public Health", "US", deps=deps)
    licensing.set_license(agency.agency_id, "evidence_lite", deps=deps)
    return agency


def test_an_existing_agency_named_on_the_form_is_enrolled_instead_of_creating_another(deps):
    agency = existing_lite(deps)
    before = set(deps.agencies.agencies)
    decided, key = approved(deps, existing_agency_id=agency.agency_id)
    assert key is None and decided.agency_id == agency.agency_id and set(deps.agencies.agencies) == before
    assert (decided.granted_license, decided.license_decision) == ("evidence_lite", LicenseDecision.ON_RECORD)
    ent = licensing.current(agency.agency_id, deps=deps)
    assert ent.kind.value == "evidence_lite" and ent.enrolled and ent.citizen_officers
    assert "existing account" in deps.email.sent[-1][2]


def test_the_operator_matches_an_existing_agency_the_form_did_not_name(deps):
    agency = existing_lite(deps)
    decided, key = approved(deps, ApproveAccessRequest(agency_id=agency.agency_id))
    assert key is None and decided.agency_id == agency.agency_id
    assert licensing.current(agency.agency_id, deps=deps).enrolled


def test_the_operator_may_create_a_new_agency_whatever_agency_the_form_named(deps):
    agency = existing_lite(deps)
    decided, key = approved(deps, ApproveAccessRequest.model_validate({"agency_id": None}),
                            existing_agency_id=agency.agency_id)
    assert key and decided.agency_id != agency.agency_id


def test_an_agency_already_enrolled_is_not_enrolled_twice_and_nothing_is_decided(deps):
    agency = existing_lite(deps)
    approved(deps, existing_agency_id=agency.agency_id)
    second = submit(deps, organisation="Lakeside Health Dept", existing_agency_id=agency.agency_id)
    with pytest.raises(Conflict) as refused:
        access_requests.approve(OPERATOR, second.request_id, deps=deps)
    assert refused.value.code == "already_enrolled"
    assert deps.access_requests.get(second.request_id).status is RequestStatus.PENDING


def test_an_existing_agency_id_that_is_not_ours_is_refused_before_anything_is_decided(deps):
    received = submit(deps, existing_agency_id="01e4tffzm0rx26x195a1xkr7sh")
    with pytest.raises(NotFound) as refused:
        access_requests.approve(OPERATOR, received.request_id, deps=deps)
    assert refused.value.code == "agency_not_found"
    assert deps.access_requests.get(received.request_id).status is RequestStatus.PENDING


@pytest.mark.parametrize("bad", [{"license": "platinum"}, {"agency_id": "../x"}, {"extra": 1},
                                 {"license": "evidence_pro", "agency_id": "01e4tffzm0rx26x195a1xkr7sh"}])
def test_a_malformed_approval_is_refused(bad):
    with pytest.raises(ValueError):
        ApproveAccessRequest.model_validate(bad)


def test_the_form_s_existing_agency_id_must_look_like_one_of_ours():
    with pytest.raises(ValueError):
        SubmitAccessRequest(**(FORM | {"existing_agency_id": "DROP TABLE"}))
