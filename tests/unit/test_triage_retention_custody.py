"""Triage, retention with legal holds, custody search and limited mode, over fakes with a fixed clock."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.domain.commands import (
    CompleteSubmission,
    CreateCitizenLink,
    DeclaredFile,
    PlaceHold,
    RequestUploads,
    ReviewSubmission,
    SetRetentionPolicy,
    UpdateAgencySettings,
)
from chalicelib.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from chalicelib.domain.models import AuditFilter, Principal, ReviewState, Role
from chalicelib.services import (
    agencies,
    citizen_links,
    citizen_uploads,
    custody,
    licensing,
    retention,
    review,
    submissions,
)

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 100


@pytest.fixture
def admin(deps, agency):
    key, _ = agencies.issue_key(agency.agency_id, Role.AGENCY_ADMIN, "chief", deps=deps)
    return Principal(agency_id=agency.agency_id, role=Role.AGENCY_ADMIN, key_id=key.key_id)


def sent_submission(officer, deps, *, case_ref="C-1", case_type=None, notify=None):
    principal = officer.model_copy(update={"email": notify})
    _, url = citizen_links.send_citizen_link(
        principal, CreateCitizenLink(case_ref=case_ref, case_type=case_type, phone="+15555550123"),
        page_base="https://x", deps=deps)
    token = url.rsplit("/", 1)[-1]
    citizen_uploads.request_uploads(token, RequestUploads(files=[
        DeclaredFile(name="a.jpg", size=len(JPEG), content_type="image/jpeg")]), deps=deps)
    return citizen_uploads.complete(token, CompleteSubmission(), deps=deps)


def decide(who, submission, deps, decision, **extra):
    cmd = ReviewSubmission(decision=decision, **extra)
    return review.review_submission(who, submission.submission_id, cmd, deps=deps)


# --- triage ---------------------------------------------------------------------------------

def test_submissions_arrive_pending_and_the_requesting_officer_is_told(officer, deps):
    done = sent_submission(officer, deps, notify="lee@pd.example")
    assert done.review.state is ReviewState.PENDING
    (to, subject, _), = deps.email.sent
    assert to == "lee@pd.example" and "C-1" in subject
    assert list(deps.submissions.pending_reviews()) == [(officer.agency_id, done.submission_id)]


def test_an_agency_that_auto_accepts_skips_triage(officer, admin, deps):
    agencies.update_settings(admin, UpdateAgencySettings(auto_accept=True), deps=deps)
    done = sent_submission(officer, deps)
    assert done.review.state is ReviewState.ACCEPTED and done.review.by == "system:auto_accept"
    assert list(deps.submissions.pending_reviews()) == []


def test_declining_needs_a_reason_and_is_audited(officer, deps):
    done = sent_submission(officer, deps)
    with pytest.raises(InvalidInput):
        decide(officer, done, deps, "decline")
    declined = decide(officer, done, deps, "decline", reason="not related to the case")
    assert declined.review.state is ReviewState.DECLINED and declined.review.by == officer.actor
    assert deps.audit.actions(officer.agency_id)[-1] == "submission.reviewed"


def test_a_contradicting_second_review_needs_an_explicit_change(officer, deps):
    done = sent_submission(officer, deps)
    decide(officer, done, deps, "accept")
    with pytest.raises(Conflict) as refused:
        decide(officer, done, deps, "decline", reason="oops")
    assert refused.value.code == "already_reviewed"
    assert decide(officer, done, deps, "accept").review.state is ReviewState.ACCEPTED  # repeat: no-op
    changed = decide(officer, done, deps, "decline", reason="wrong case", change=True)
    assert changed.review.state is ReviewState.DECLINED


def test_an_unfinished_or_foreign_submission_cannot_be_reviewed(officer, deps):
    _, url = citizen_links.send_citizen_link(officer, CreateCitizenLink(case_ref="C", phone="+15555550123"),
                                             page_base="https://x", deps=deps)
    sid, _ = citizen_uploads.request_uploads(url.rsplit("/", 1)[-1], RequestUploads(files=[
        DeclaredFile(name="a.jpg", size=10, content_type="image/jpeg")]), deps=deps)
    with pytest.raises(Conflict, match="not finished"):
        review.review_submission(officer, sid, ReviewSubmission(decision="accept"), deps=deps)
    stranger = Principal(agency_id=agencies.create_agency("Other", "US", deps=deps).agency_id,
                         role=Role.OFFICER, key_id="k")
    with pytest.raises(NotFound):
        review.review_submission(stranger, sid, ReviewSubmission(decision="accept"), deps=deps)


def test_the_digest_counts_what_waits_per_agency(officer, deps, agency):
    deps.agencies.save_agency(agency.model_copy(update={"contact_email": "desk@pd.example"}))
    sent_submission(officer, deps)
    sent_submission(officer, deps)
    deps.email.sent.clear()
    assert review.send_digests(deps=deps) == {officer.agency_id: 2}
    (to, subject, _), = deps.email.sent
    assert to == "desk@pd.example" and subject.startswith("2 ")


# --- retention ------------------------------------------------------------------------------

def policy(admin, deps, **days):
    return retention.set_policy(admin, SetRetentionPolicy(**({"default_days": None} | days)), deps=deps)


def test_without_a_policy_nothing_is_ever_due(officer, deps, clock):
    done = sent_submission(officer, deps)
    assert done.retain_until is None
    clock.advance(days=10_000)
    assert retention.sweep(deps=deps)["deleted"] == 0


def test_a_submission_is_deleted_on_its_due_instant_not_before(officer, admin, deps, clock):
    policy(admin, deps, default_days=30)
    done = sent_submission(officer, deps)
    assert done.retain_until == clock.now() + timedelta(days=30)
    start = clock.now()
    clock.at = start + timedelta(days=30) - timedelta(seconds=1)
    assert retention.sweep(deps=deps)["deleted"] == 0
    clock.at = start + timedelta(days=30)
    assert retention.sweep(deps=deps)["deleted"] == 1
    assert deps.submissions.get_submission(officer.agency_id, done.submission_id) is None
    grave = deps.submissions.tombstone(officer.agency_id, done.submission_id)
    assert grave.rule == "default" and grave.days == 30 and grave.files[0]["sha256"] is None
    assert not deps.blobs.objects
    assert deps.audit.actions(officer.agency_id)[-1] == "evidence.deleted"


def test_declined_items_follow_their_own_period(officer, admin, deps, clock):
    policy(admin, deps, default_days=365, declined_days=7)
    done = sent_submission(officer, deps)
    declined = decide(officer, done, deps, "decline", reason="unrelated")
    assert declined.retain_until == done.submitted_at + timedelta(days=7)


def test_a_case_type_rule_wins_over_the_default(officer, admin, deps):
    policy(admin, deps, default_days=365, by_case_type={"traffic": 90})
    done = sent_submission(officer, deps, case_type="traffic")
    assert done.retain_until == done.submitted_at + timedelta(days=90)


def test_changing_the_policy_reschedules_what_is_stored(officer, admin, deps, clock):
    done = sent_submission(officer, deps)
    policy(admin, deps, default_days=10)
    stored = deps.submissions.get_submission(officer.agency_id, done.submission_id)
    assert stored.retain_until == done.submitted_at + timedelta(days=10)
    assert deps.audit.actions(officer.agency_id)[-1] == "retention.policy_changed"
    clock.advance(days=40)
    policy(admin, deps, default_days=5)  # already overdue: filed under today, not a day the sweep passed
    assert deps.submissions.get_submission(officer.agency_id, done.submission_id).sweep_day == clock.now().date()
    assert retention.sweep(deps=deps)["deleted"] == 1


def test_only_an_admin_sets_retention(officer, deps):
    with pytest.raises(Forbidden):
        retention.set_policy(officer, SetRetentionPolicy(default_days=1), deps=deps)


def test_a_legal_hold_on_the_case_stops_deletion_and_the_refusal_is_audited(officer, admin, deps, clock):
    policy(admin, deps, default_days=1)
    done = sent_submission(officer, deps, case_ref="HELD-1")
    retention.hold_case(admin, "HELD-1", PlaceHold(reason="litigation"), deps=deps)
    clock.advance(days=2)
    report = retention.sweep(deps=deps)
    assert report["deleted"] == 0 and report["held"] == 1
    assert deps.submissions.get_submission(officer.agency_id, done.submission_id) is not None
    refused = [e for e in deps.audit.entries(officer.agency_id) if e.action == "evidence.deletion_refused"]
    assert refused and refused[0].outcome == "refused"
    clock.advance(days=3)  # the sweep has long moved past the day it fell due
    retention.sweep(deps=deps)
    retention.release_case(admin, "HELD-1", deps=deps)
    assert retention.sweep(deps=deps)["deleted"] == 1


def test_a_legal_hold_on_the_submission_takes_it_out_of_the_due_index(officer, admin, deps, clock):
    policy(admin, deps, default_days=1)
    done = sent_submission(officer, deps)
    retention.hold_submission(admin, done.submission_id, True, "subpoena", deps=deps)
    clock.advance(days=5)
    assert retention.sweep(deps=deps)["checked"] == 0
    retention.hold_submission(admin, done.submission_id, False, None, deps=deps)
    assert retention.sweep(deps=deps)["deleted"] == 1


def test_a_sweep_killed_midway_and_rerun_deletes_exactly_what_is_due(officer, admin, deps, clock):
    policy(admin, deps, default_days=1)
    due = [sent_submission(officer, deps) for _ in range(4)]
    policy(admin, deps, default_days=1, by_case_type={"keep": None})
    kept = sent_submission(officer, deps, case_type="keep")
    clock.advance(days=3)
    original = deps.blobs.delete_all_versions
    calls = {"n": 0}

    def dies_on_the_third(key):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("killed")
        return original(key)

    deps.blobs.delete_all_versions = dies_on_the_third
    with pytest.raises(RuntimeError):
        retention.sweep(deps=deps)
    deps.blobs.delete_all_versions = original
    report = retention.sweep(deps=deps)
    remaining = {s.submission_id for s in deps.submissions.items.values()}
    assert remaining == {kept.submission_id}
    assert len(deps.submissions.tombstones) == len(due)
    assert retention.sweep(deps=deps)["deleted"] == 0 and report["deleted"] == 2


def test_the_sweep_reads_only_the_days_since_its_last_run(officer, admin, deps, clock):
    policy(admin, deps, default_days=1)
    sent_submission(officer, deps)
    clock.advance(days=2)
    retention.sweep(deps=deps)
    before = deps.submissions.due_queries
    clock.advance(days=1)
    retention.sweep(deps=deps)
    assert deps.submissions.due_queries - before == 2  # yesterday (unfinished then) and today


# --- custody and limited mode ------------------------------------------------------------------

def test_the_audit_log_is_searchable_by_target_actor_and_time(officer, deps, clock):
    done = sent_submission(officer, deps)
    submissions.view_submission(officer, done.submission_id, deps=deps)
    by_target, _, _ = custody.search(officer, AuditFilter(target=f"submission:{done.submission_id}"), after_seq=0,
                                  limit=50, deps=deps)
    assert [e.action for e in by_target] == ["submission.completed", "submission.viewed"]
    later, _, _ = custody.search(officer, AuditFilter(since=clock.now() + timedelta(seconds=1)), after_seq=0,
                              limit=50, deps=deps)
    assert later == []
    first, after, _ = custody.search(officer, AuditFilter(), after_seq=0, limit=2, deps=deps)
    rest, end, _ = custody.search(officer, AuditFilter(), after_seq=after, limit=500, deps=deps)
    assert [e.seq for e in first + rest] == list(range(1, len(first + rest) + 1)) and end is None
    assert custody.verify(officer.agency_id, deps=deps)["problems"] == []


def test_a_limited_agency_still_reads_and_downloads_but_sends_no_links_and_reviews_nothing(officer, deps, agency,
                                                                                            clock):
    # A first-time agency in the emergency program, whose free access ends with 2020. (Exports and
    # holds in limited mode run for real in test_access_gate.py.)
    licensing.set_license(agency.agency_id, "none", deps=deps)
    licensing.enroll(agency.agency_id, clock.now(), deps=deps)
    done = sent_submission(officer, deps)
    clock.at = datetime(2021, 1, 2, tzinfo=timezone.utc)
    assert submissions.list_submissions(officer, case_ref=None, limit=5, cursor=None, deps=deps).items
    submissions.view_submission(officer, done.submission_id, deps=deps)
    with pytest.raises(Forbidden) as refused:
        citizen_links.send_citizen_link(officer, CreateCitizenLink(case_ref="X", phone="+15555550123"),
                                        page_base="https://x", deps=deps)
    assert refused.value.code == "limited_mode"
    with pytest.raises(Forbidden):
        decide(officer, done, deps, "accept")


def test_a_time_travelling_sweep_does_not_move_the_checkpoint_past_the_real_day(officer, admin, deps, clock):
    policy(admin, deps, default_days=2)
    retention.sweep(deps=deps, now=clock.now() + timedelta(days=5))
    assert deps.submissions.last_swept_day() == clock.now().date() - timedelta(days=1)
    done = sent_submission(officer, deps)  # due in 2 days: a day the time-travelling sweep passed
    clock.advance(days=3)
    assert retention.sweep(deps=deps)["deleted"] == 1
    assert deps.submissions.get_submission(officer.agency_id, done.submission_id) is None


@pytest.mark.parametrize("made_up", ["x" * 2000, "../../etc", "", "01E4TFFZM0RX26X195A1XKR7SH"])
def test_made_up_ids_are_not_found_without_reaching_the_store(officer, admin, deps, made_up):
    for call in (lambda: submissions.view_submission(officer, made_up, deps=deps),
                 lambda: decide(officer, type("S", (), {"submission_id": made_up})(), deps, "accept"),
                 lambda: retention.hold_submission(admin, made_up, True, "x", deps=deps),
                 lambda: citizen_links.get_link(officer, made_up, deps=deps)):
        with pytest.raises(NotFound):
            call()


@pytest.mark.parametrize("case_ref", ["a" * 65, "../x", " spaced out", ""])
def test_bad_case_references_are_refused_in_listings_and_holds(officer, admin, deps, case_ref):
    with pytest.raises(InvalidInput):
        submissions.list_submissions(officer, case_ref=case_ref, limit=5, cursor=None, deps=deps)
    with pytest.raises(InvalidInput):
        retention.hold_case(admin, case_ref, PlaceHold(reason="court"), deps=deps)
