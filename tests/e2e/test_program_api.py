"""The improvement program's agency routes over HTTP on the local stack: the view; Tier 2 refused
without participation and with an unknown, retired or mis-hashed terms version, accepted once the
operator has recorded a qualifying contract; a withdrawal shows its due date and days left and a
second is 409; removal of another agency's items is 404; officers get 403 on changes, operator keys
403 on every agency route; each agency sees only its own; garbage and unknown fields are 400."""
from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone

import pytest

from chalicelib.domain.program import terms_hash
from tests.e2e.test_agency_review_api import sent
from tests.e2e.test_sharing_api import new_agency

pytestmark = pytest.mark.e2e
DOC = "<b>Tier 2</b> program terms: broader use, deletion within 20 days of a withdrawal."


def officer_key(agency_id):
    from chalicelib import bootstrap
    from chalicelib.domain.models import Role
    from chalicelib.services import agencies

    return agencies.issue_key(agency_id, Role.OFFICER, "officer", deps=bootstrap.deps())[1]


def record_contract(agency_id, executed_on=date(2021, 5, 1)):
    """What the operator records (in-process here: the operator API has its own test)."""
    from chalicelib import bootstrap
    from chalicelib.domain.program import Contract
    from chalicelib.services import custody

    deps = bootstrap.deps()
    contract = Contract(contract_id=f"c-{uuid.uuid4().hex[:8]}", agency_id=agency_id, country="US",
                        executed_on=executed_on, includes_program_terms=True, recorded_at=deps.clock.now(),
                        recorded_by="operator-e2e")
    deps.program.add_contract(contract, event=custody.event(agency_id, deps=deps, actor="operator-e2e",
                                                            action="program.contract_recorded",
                                                            target=f"contract:{contract.contract_id}"))


def publish_terms(document=DOC, *, retired=False):
    from chalicelib import bootstrap
    from chalicelib.domain.models import OPERATOR_AGENCY
    from chalicelib.domain.program import TermsVersion
    from chalicelib.services import custody

    deps, version = bootstrap.deps(), f"t2-{uuid.uuid4().hex[:8]}"
    terms = TermsVersion(version=version, document=document, sha256=terms_hash(document), deletion_days=20,
                         published_at=deps.clock.now())

    def audited(action):
        return custody.event(OPERATOR_AGENCY, deps=deps, actor="operator-e2e", action=action,
                             target=f"terms:{version}")
    deps.program.publish_terms(terms, event=audited("program.terms_published"))
    if retired:
        deps.program.retire_terms(version, deps.clock.now(), event=audited("program.terms_retired"))
    return version


@pytest.fixture(scope="module")
def parties(stack):
    """Two fresh agencies (the program state of the demo agency stays untouched): id, admin, officer."""
    made = {}
    for name in ("first", "second"):
        agency_id, admin = new_agency(f"Program PD {name}")
        made[name] = (agency_id, admin, officer_key(agency_id))
    return made


def url(stack, path=""):
    return f"{stack.api_url}/agency/program{path}"


def test_tier_2_needs_participation_and_known_terms_then_a_withdrawal_runs_30_days(stack, parties):
    agency_id, admin_key, officer = parties["first"]
    admin, reader = stack.agency(admin_key), stack.agency(officer)
    first = reader.get(url(stack))
    assert first.status_code == 200, first.text
    assert (first.json()["tier"], first.json()["state"], first.json()["open_requests"]) == (
        "none", "not_participating", [])

    version = publish_terms()
    accept = {"terms_version": version, "sha256": terms_hash(DOC)}
    refused = admin.post(url(stack, "/tier2"), json=accept)
    assert (refused.status_code, refused.json()["code"]) == (409, "not_a_participant")

    record_contract(agency_id)
    assert reader.get(url(stack)).json()["tier"] == "tier_1"
    for body, status, code in (
            ({"terms_version": "no-such-version", "sha256": terms_hash(DOC)}, 404, "terms_unknown"),
            ({"terms_version": publish_terms(retired=True), "sha256": terms_hash(DOC)}, 409, "terms_retired"),
            ({"terms_version": version, "sha256": "0" * 64}, 400, "terms_hash_mismatch")):
        answer = admin.post(url(stack, "/tier2"), json=body)
        assert (answer.status_code, answer.json()["code"]) == (status, code), answer.text
    assert reader.post(url(stack, "/tier2"), json=accept).status_code == 403

    accepted = admin.post(url(stack, "/tier2"), json={**accept, "sha256": terms_hash(DOC).upper()})
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["accepted_by"].startswith("key:") and accepted.json()["terms_version"] == version
    now = reader.get(url(stack)).json()
    today = datetime.now(timezone.utc).date()
    assert (now["tier"], now["since"], now["tier_2_since"], now["terms_version"]) == (
        "tier_2", "2021-05-01", today.isoformat(), version)

    assert reader.post(url(stack, "/withdrawal"), json={}).status_code == 403
    left = admin.post(url(stack, "/withdrawal"))
    assert left.status_code == 201, left.text
    assert (left.json()["due_on"], left.json()["days_left"], left.json()["deletion_due_on"]) == (
        (today + timedelta(days=30)).isoformat(), 30, (today + timedelta(days=20)).isoformat())
    again = admin.post(url(stack, "/withdrawal"), json={})
    assert (again.status_code, again.json()["code"]) == (409, "withdrawal_open")
    after = reader.get(url(stack)).json()
    assert (after["state"], after["takes_new_data"]) == ("withdrawing", False)
    assert [(r["kind"], r["days_left"]) for r in after["open_requests"]] == [("WithdrawalRequest", 30)]
    actions = [e["action"] for e in stack.audit(admin_key, action="program.withdrawal_requested")["items"]]
    assert actions == ["program.withdrawal_requested"]

    other = stack.agency(parties["second"][2]).get(url(stack)).json()  # each agency sees only its own
    assert (other["tier"], other["open_requests"]) == ("none", [])


def test_removal_takes_only_the_agencys_own_items(stack, parties):
    sid = sent(stack, case_ref="PROGRAM-RM-1")  # the demo agency's
    stranger = stack.agency(parties["second"][1])
    for body, code in (({"submission_ids": [sid]}, "submission_not_found"),
                       ({"case_ref": "PROGRAM-RM-1"}, "case_not_found")):
        refused = stranger.post(url(stack, "/removals"), json=body)
        assert (refused.status_code, refused.json()["code"]) == (404, code)
    assert stack.agency().post(url(stack, "/removals"), json={"submission_ids": [sid]}).status_code == 403
    made = stack.agency(stack.admin_key).post(url(stack, "/removals"), json={"submission_ids": [sid]})
    assert made.status_code == 201, made.text
    assert made.json()["days_left"] == 30 and made.json()["submission_ids"] == [sid]
    assert stranger.get(url(stack)).json()["open_requests"] == []


@pytest.mark.parametrize("path, body", [
    ("/tier2", {"terms_version": "v1"}),
    ("/tier2", {"terms_version": "v1", "sha256": "0" * 64, "tier": "tier_2"}),
    ("/tier2", {"terms_version": "<script>", "sha256": "0" * 64}),
    ("/withdrawal", {"reason": "we leave"}),
    ("/removals", {}),
    ("/removals", {"submission_ids": ["a"], "case_ref": "C-1"}),
    ("/removals", {"submission_ids": ["x" * 41]}),
    ("/removals", {"case_ref": "C-1", "everything": True}),
])
def test_bad_bodies_are_400(stack, parties, path, body):
    refused = stack.agency(parties["second"][1]).post(url(stack, path), json=body)
    assert (refused.status_code, refused.json()["code"]) == (400, "validation_error"), refused.text


def test_garbage_operators_and_officers_are_refused(stack, parties):
    admin = stack.agency(parties["second"][1])
    for path in ("/tier2", "/withdrawal", "/removals"):
        garbage = admin.post(url(stack, path), data="{nope", headers={"Content-Type": "application/json"})
        assert (garbage.status_code, garbage.json()["code"]) == (400, "malformed_json")
        refused = stack.agency(parties["second"][2]).post(url(stack, path), json={})
        assert (refused.status_code, refused.json()["code"]) == (403, "admin_only")
    operator = stack.agency(stack.local.seed.operator_key)
    for method, path in (("GET", ""), ("POST", "/tier2"), ("POST", "/withdrawal"), ("POST", "/removals")):
        refused = operator.request(method, url(stack, path), json={})
        assert (refused.status_code, refused.json()["code"]) == (403, "agency_only")
