"""Sharing between agencies over the fakes, with a fixed clock: the owner's admin shares, the
recipient sees and downloads read-only, a third agency sees nothing, revocation and expiry end it
at once, a deletion leaves the recipient a tombstone, and both logs record every step."""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.domain.commands import CompleteSubmission, ReviewSubmission, SetRetentionPolicy
from chalicelib.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from chalicelib.domain.licensing import LicenseKind
from chalicelib.domain.models import OPERATOR_AGENCY, Principal, Role
from chalicelib.domain.sharing import CreateShare
from chalicelib.services import agencies, citizen_uploads, ingest, licensing, retention, review, sharing
from tests.unit.test_citizen_link_service import JPEG, send, upload


def member(agency_id, deps, role=Role.OFFICER) -> Principal:
    key, _ = agencies.issue_key(agency_id, role, "someone", deps=deps)
    return Principal(agency_id=agency_id, role=role, key_id=key.key_id)


@pytest.fixture
def admin(deps, agency):
    return member(agency.agency_id, deps, Role.AGENCY_ADMIN)


@pytest.fixture
def other(deps):
    return agencies.create_agency("Shelbyville PD", "US", license=LicenseKind.OSP7_PLUS, deps=deps)


@pytest.fixture
def reader(deps, other):
    return member(other.agency_id, deps)


@pytest.fixture
def third(deps):
    found = agencies.create_agency("Capital City PD", "US", license=LicenseKind.EVIDENCE_PRO, deps=deps)
    return member(found.agency_id, deps)


def verified(officer, deps, case_ref="CASE-1"):
    """A citizen's submission with one file that landed and was checked."""
    _, token = send(officer, deps, case_ref=case_ref)
    submission_id, [file] = upload(token, deps, JPEG)
    ingest.ingest_object(file.key, deps=deps)
    citizen_uploads.complete(token, CompleteSubmission(), deps=deps)
    return deps.submissions.get_submission(officer.agency_id, submission_id)


def share_case(admin, other, deps, case_ref="CASE-1", **extra):
    return sharing.share(admin, CreateShare(recipient_agency_id=other.agency_id, case_ref=case_ref, **extra),
                         deps=deps)


def agencies_agency(principal, deps):
    return deps.agencies.get_agency(principal.agency_id)


def actions(agency_id, deps):
    return [e.action for e in deps.audit.entries(agency_id)]


def test_a_shared_case_is_listed_and_viewed_by_the_recipient_with_urls_to_the_verified_versions(
        officer, admin, other, reader, deps):
    sub = verified(officer, deps)
    made = share_case(admin, other, deps)
    assert [s.share_id for s in sharing.incoming(reader, limit=10, cursor=None, deps=deps).items] == [made.share_id]
    _, owner, found, _ = sharing.items(reader, made.share_id, limit=10, cursor=None, deps=deps)
    assert owner.agency_id == officer.agency_id and [i.submission.submission_id for i in found] == [sub.submission_id]
    seen = sharing.view(reader, made.share_id, sub.submission_id, deps=deps)
    file = next(iter(sub.files.values()))
    assert file.sha256 == hashlib.sha256(JPEG).hexdigest()
    assert seen.download_urls == {file.file_id: f"https://downloads.example/{file.key}?expires=300"
                                                f"&versionId={file.version_id}"}
    assert seen.submission == deps.submissions.get_submission(officer.agency_id, sub.submission_id)  # untouched
    for agency_id in (officer.agency_id, other.agency_id):
        assert actions(agency_id, deps)[-2:] == ["share.created", "shared_submission.viewed"]


def test_both_logs_name_the_other_side(officer, admin, other, reader, deps):
    verified(officer, deps)
    made = share_case(admin, other, deps)
    owner_side = [e for e in deps.audit.entries(officer.agency_id) if e.action == "share.created"][0]
    recipient_side = [e for e in deps.audit.entries(other.agency_id) if e.action == "share.created"][0]
    assert owner_side.details["recipient_agency_id"] == other.agency_id
    assert recipient_side.details["owner_agency_id"] == officer.agency_id
    assert owner_side.target == recipient_side.target == f"share:{made.share_id}"


def test_a_third_agency_sees_nothing_of_a_share(officer, admin, other, third, deps):
    sub = verified(officer, deps)
    made = share_case(admin, other, deps)
    assert sharing.incoming(third, limit=10, cursor=None, deps=deps).items == []
    for call in (lambda: sharing.items(third, made.share_id, limit=10, cursor=None, deps=deps),
                 lambda: sharing.view(third, made.share_id, sub.submission_id, deps=deps)):
        with pytest.raises(NotFound) as refused:
            call()
        assert refused.value.code == "share_not_found"


def test_a_case_share_never_reaches_another_case_of_the_owner(officer, admin, other, reader, deps):
    verified(officer, deps)
    elsewhere = verified(officer, deps, case_ref="CASE-2")
    made = share_case(admin, other, deps)
    with pytest.raises(NotFound):
        sharing.view(reader, made.share_id, elsewhere.submission_id, deps=deps)
    _, _, found, _ = sharing.items(reader, made.share_id, limit=10, cursor=None, deps=deps)
    assert elsewhere.submission_id not in [i.submission.submission_id for i in found]


def test_the_recipient_cannot_review_or_hold_the_shared_item(officer, admin, other, reader, deps):
    sub = verified(officer, deps)
    share_case(admin, other, deps)
    with pytest.raises(NotFound):
        review.review_submission(reader, sub.submission_id, ReviewSubmission(decision="decline", reason="x"),
                                 deps=deps)
    with pytest.raises(NotFound):
        retention.hold_submission(member(other.agency_id, deps, Role.AGENCY_ADMIN), sub.submission_id, True,
                                  "mine now", deps=deps)


def test_revocation_ends_access_at_once_and_is_recorded_on_both_sides(officer, admin, other, reader, deps):
    sub = verified(officer, deps)
    made = share_case(admin, other, deps)
    revoked = sharing.revoke(admin, made.share_id, deps=deps)
    assert revoked.revoked_by == admin.actor
    with pytest.raises(NotFound) as gone:
        sharing.view(reader, made.share_id, sub.submission_id, deps=deps)
    assert gone.value.code == "share_revoked"
    assert sharing.incoming(reader, limit=10, cursor=None, deps=deps).items == []
    with pytest.raises(Conflict):
        sharing.revoke(admin, made.share_id, deps=deps)
    assert actions(officer.agency_id, deps)[-1] == actions(other.agency_id, deps)[-1] == "share.revoked"


def test_a_view_racing_a_revocation_records_nothing_and_gives_no_urls(officer, admin, other, reader, deps):
    sub = verified(officer, deps)
    made = share_case(admin, other, deps)
    before = actions(other.agency_id, deps)
    deps.shares.shares[(made.owner_agency_id, made.share_id)] = made.model_copy(
        update={"revoked_at": deps.clock.now(), "revoked_by": "x"})
    deps.shares.shared_with = lambda *_: made  # the read saw it active; the record finds it revoked
    with pytest.raises(NotFound):
        sharing.view(reader, made.share_id, sub.submission_id, deps=deps)
    assert actions(other.agency_id, deps) == before


def test_a_share_ends_at_its_until_instant(officer, admin, other, reader, deps, clock):
    sub = verified(officer, deps)
    made = share_case(admin, other, deps, until=clock.now() + timedelta(days=7))
    clock.advance(days=7, microseconds=-1)
    sharing.view(reader, made.share_id, sub.submission_id, deps=deps)
    clock.advance(microseconds=1)
    with pytest.raises(NotFound) as gone:
        sharing.view(reader, made.share_id, sub.submission_id, deps=deps)
    assert gone.value.code == "share_expired"
    assert [s.share_id for s in sharing.outgoing(admin, limit=10, cursor=None, deps=deps).items] == [made.share_id]


def test_after_the_owners_retention_deletes_it_the_recipient_sees_a_tombstone(officer, admin, other, reader, deps,
                                                                             clock):
    retention.set_policy(admin, SetRetentionPolicy(default_days=30), deps=deps)
    sub = verified(officer, deps)
    made = sharing.share(admin, CreateShare(recipient_agency_id=other.agency_id, submission_id=sub.submission_id),
                         deps=deps)
    clock.advance(days=31)
    assert retention.sweep(deps=deps)["deleted"] == 1
    seen = sharing.view(reader, made.share_id, sub.submission_id, deps=deps)
    assert seen.submission is None and seen.tombstone.submission_id == sub.submission_id
    assert seen.download_urls == {}
    _, _, listed, _ = sharing.items(reader, made.share_id, limit=10, cursor=None, deps=deps)
    assert [i.tombstone.submission_id for i in listed] == [sub.submission_id]


@pytest.mark.parametrize("fields, error, code", [
    ({"recipient_agency_id": "0" * 26, "case_ref": "CASE-1"}, NotFound, "agency_not_found"),
    ({"recipient_agency_id": "not-an-id", "case_ref": "CASE-1"}, NotFound, "agency_not_found"),
    ({"case_ref": "NO-SUCH-CASE"}, NotFound, "case_not_found"),
    ({"submission_id": "0" * 26}, NotFound, "submission_not_found"),
    ({"case_ref": "CASE-1", "until": datetime(2020, 3, 1, tzinfo=timezone.utc)}, InvalidInput, "until_in_past"),
])
def test_bad_shares_are_refused_and_store_nothing(officer, admin, other, deps, fields, error, code):
    verified(officer, deps)
    with pytest.raises(error) as refused:
        sharing.share(admin, CreateShare(**({"recipient_agency_id": other.agency_id} | fields)), deps=deps)
    assert refused.value.code == code and deps.shares.shares == {}


def test_sharing_with_oneself_or_another_agencys_item_is_refused(officer, admin, other, reader, deps):
    theirs = verified(reader, deps)
    with pytest.raises(InvalidInput):
        share_case(admin, Principal(agency_id=officer.agency_id, role=Role.OFFICER, key_id="k"), deps)
    with pytest.raises(NotFound):
        sharing.share(admin, CreateShare(recipient_agency_id=other.agency_id, submission_id=theirs.submission_id),
                      deps=deps)
    assert deps.shares.shares == {}


def test_only_the_owners_admins_share_and_revoke_and_operators_act_for_no_agency(officer, admin, other, deps):
    verified(officer, deps)
    with pytest.raises(Forbidden) as officer_refused:
        share_case(officer, other, deps)
    assert officer_refused.value.code == "admin_only"
    made = share_case(admin, other, deps)
    operator = Principal(agency_id=OPERATOR_AGENCY, role=Role.OPERATOR, key_id="op")
    for call in (lambda: share_case(operator, other, deps), lambda: sharing.revoke(operator, made.share_id, deps=deps),
                 lambda: sharing.incoming(operator, limit=5, cursor=None, deps=deps)):
        with pytest.raises(Forbidden):
            call()
    other_admin = member(other.agency_id, deps, Role.AGENCY_ADMIN)
    with pytest.raises(NotFound):  # the recipient cannot revoke (or see) the owner's share record
        sharing.revoke(other_admin, made.share_id, deps=deps)


def test_a_limited_agency_still_shares_and_receives(officer, admin, other, reader, deps, clock):
    licensing.set_license(officer.agency_id, "none", deps=deps)
    licensing.enroll(officer.agency_id, clock.now(), deps=deps)
    sub = verified(officer, deps)
    clock.at = datetime(2021, 1, 2, 12, tzinfo=timezone.utc)
    assert licensing.current(officer.agency_id, deps=deps).access_mode.value == "limited"
    made = share_case(admin, other, deps)  # sharing is never refused by the licence
    verified(reader, deps, case_ref="CASE-9")
    back = share_case(member(other.agency_id, deps, Role.AGENCY_ADMIN), agencies_agency(officer, deps), deps,
                      case_ref="CASE-9")
    assert sharing.incoming(officer, limit=5, cursor=None, deps=deps).items == [back]  # and neither is receiving
    assert sharing.view(reader, made.share_id, sub.submission_id, deps=deps).download_urls


def test_an_agency_with_no_licence_at_all_cannot_receive(officer, admin, deps):
    bare = agencies.create_agency("No Licence PD", "US", deps=deps)
    licensing.set_license(bare.agency_id, "none", deps=deps)
    verified(officer, deps)
    with pytest.raises(Forbidden) as refused:
        share_case(admin, bare, deps)
    assert refused.value.code == "cannot_receive_shares"
    with pytest.raises(Forbidden):
        sharing.incoming(member(bare.agency_id, deps), limit=5, cursor=None, deps=deps)


def test_the_operator_directory_lists_agencies_by_id_a_page_at_a_time(agency, other, deps):
    operator = Principal(agency_id=OPERATOR_AGENCY, role=Role.OPERATOR, key_id="op")
    first = sharing.directory(operator, limit=1, cursor=None, deps=deps)
    rest = sharing.directory(operator, limit=10, cursor=first.next_cursor, deps=deps)
    assert sorted([a.agency_id for a in first.items + rest.items]) == sorted([agency.agency_id, other.agency_id])
    with pytest.raises(Forbidden):
        sharing.directory(Principal(agency_id=agency.agency_id, role=Role.AGENCY_ADMIN, key_id="k"), limit=5,
                          cursor=None, deps=deps)
