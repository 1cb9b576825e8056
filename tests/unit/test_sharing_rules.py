"""The sharing rules with a fixed clock: expiry at its instant, revocation, what a share reaches,
what a new share must meet, and who may receive."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from pydantic import ValidationError

from chalicelib.domain import sharing
from chalicelib.domain.errors import Forbidden, InvalidInput
from chalicelib.domain.licensing import Entitlements, LicenseKind
from chalicelib.domain.models import AccessMode
from chalicelib.domain.sharing import CreateShare, Share, ShareState
from tests.fakes import START

OWNER, OTHER = "a" * 26, "b" * 26


def a_share(**changes) -> Share:
    return Share(**{"share_id": "s" * 26, "owner_agency_id": OWNER, "recipient_agency_id": OTHER,
                    "case_ref": "C-1", "created_by": "key:k", "created_at": START, **changes})


def test_a_share_expires_at_its_until_instant_exactly():
    share = a_share(until=START + timedelta(days=7))
    assert sharing.state(share, START + timedelta(days=7) - timedelta(microseconds=1)) is ShareState.ACTIVE
    assert sharing.state(share, START + timedelta(days=7)) is ShareState.EXPIRED
    assert not sharing.is_active(share, START + timedelta(days=8))


def test_a_share_without_an_end_lasts_until_revoked_and_revocation_wins_over_expiry():
    assert sharing.is_active(a_share(), START + timedelta(days=10_000))
    revoked = a_share(until=START + timedelta(days=1), revoked_at=START, revoked_by="key:k")
    assert sharing.state(revoked, START) is ShareState.REVOKED
    assert sharing.state(revoked, START + timedelta(days=2)) is ShareState.REVOKED


def test_a_case_share_reaches_that_case_of_the_owner_only():
    share = a_share()
    assert sharing.covers(share, OWNER, "x" * 26, "C-1")
    assert not sharing.covers(share, OWNER, "x" * 26, "C-2")
    assert not sharing.covers(share, OTHER, "x" * 26, "C-1")  # the same case name at another agency


def test_a_submission_share_reaches_that_one_submission_of_the_owner_only():
    share = a_share(case_ref=None, submission_id="x" * 26)
    assert sharing.covers(share, OWNER, "x" * 26, "C-1")
    assert not sharing.covers(share, OWNER, "y" * 26, "C-1")
    assert not sharing.covers(share, OTHER, "x" * 26, "C-1")


def test_sharing_with_oneself_or_until_a_past_instant_is_refused():
    with pytest.raises(InvalidInput) as own:
        sharing.check_new(CreateShare(recipient_agency_id=OWNER, case_ref="C-1"), OWNER, START)
    assert own.value.code == "share_with_self"
    for until in (START, START - timedelta(seconds=1)):
        with pytest.raises(InvalidInput) as past:
            sharing.check_new(CreateShare(recipient_agency_id=OTHER, case_ref="C-1", until=until), OWNER, START)
        assert past.value.code == "until_in_past"
    sharing.check_new(CreateShare(recipient_agency_id=OTHER, case_ref="C-1", until=START + timedelta(seconds=1)),
                      OWNER, START)


@pytest.mark.parametrize("body", [
    {"recipient_agency_id": OTHER},  # no scope
    {"recipient_agency_id": OTHER, "case_ref": "C-1", "submission_id": "x" * 26},  # two scopes
    {"recipient_agency_id": OTHER, "case_ref": "C-1", "until": "2030-01-01T00:00:00"},  # no time zone
    {"recipient_agency_id": OTHER, "case_ref": "C 1"},
    {"recipient_agency_id": OTHER, "case_ref": "C-1", "origin": "agency_capture"},  # extra field
])
def test_a_share_request_needs_exactly_one_scope_and_an_aware_end(body):
    with pytest.raises(ValidationError):
        CreateShare.model_validate(body)


def entitlements(kind: LicenseKind, enrolled: bool, mode: AccessMode = AccessMode.FULL) -> Entitlements:
    return Entitlements(agency_id=OTHER, on=date(2021, 1, 2), kind=kind, citizen_addon=False, enrolled=enrolled,
                        citizen_officers=False, citizen_communities=False, access_mode=mode, citizen_only=False,
                        storage_quota_bytes=None, program_end=None, free_until=None, billing={}, reasons={})


@pytest.mark.parametrize("kind, enrolled, mode, may", [
    (LicenseKind.EVIDENCE_BASIC, False, AccessMode.FULL, True),
    (LicenseKind.EVIDENCE_LITE, False, AccessMode.FULL, True),
    (LicenseKind.OSP7_PLUS, False, AccessMode.FULL, True),
    (LicenseKind.NONE, True, AccessMode.FULL, True),  # on the program licence
    (LicenseKind.NONE, True, AccessMode.LIMITED, True),  # limited mode after it
    (LicenseKind.NONE, False, AccessMode.FULL, False),  # no licence at all
])
def test_receiving_needs_any_licence_or_the_program_including_limited_mode(kind, enrolled, mode, may):
    ent = entitlements(kind, enrolled, mode)
    assert sharing.can_receive(ent) is may
    if not may:
        with pytest.raises(Forbidden) as refused:
            sharing.ensure_can_receive(ent, recipient=True)
        assert refused.value.code == "cannot_receive_shares"
