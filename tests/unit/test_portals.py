"""Community portals: rules of the slug, the window and the terms with a fixed clock; the agency's
side (audited changes, licence gate, isolation); the public side (sessions filed as
community_portal under the portal's case, caps per client and per portal, refusals counted)."""
from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.domain.commands import DeclaredFile, RequestUploads
from chalicelib.domain.errors import Conflict, Forbidden, Gone, InvalidInput, LimitExceeded, NotFound, RateLimited
from chalicelib.domain.licensing import LicenseKind
from chalicelib.domain.models import Origin, Principal, Role
from chalicelib.domain.portals import (
    Availability,
    CreatePortal,
    EditPortal,
    SmsLink,
    StartSession,
    availability,
    check_slug,
    check_window,
)
from chalicelib.services import access, agencies, citizen_uploads, portal_sessions, portals
from tests.fakes import START

TERMS = {"version": "v1", "text": {"en": "I took these myself.", "es": "Las tomé yo."}}
IP = "203.0.113.9"


@pytest.fixture
def admin(deps, agency) -> Principal:
    key, _ = agencies.issue_key(agency.agency_id, Role.AGENCY_ADMIN, "Admin", deps=deps)
    return Principal(agency_id=agency.agency_id, role=key.role, key_id=key.key_id)


def create(admin, deps, **fields):
    body = {"title": "Parade on Main St", "slug": "main-st-parade", "terms": TERMS, **fields}
    return portals.create(admin, CreatePortal.model_validate(body), deps=deps)


def opened(admin, deps, **fields):
    portal = create(admin, deps, **fields)
    return portals.open_portal(admin, portal.portal_id, deps=deps)


def session(deps, slug="main-st-parade", address=IP, **fields):
    cmd = StartSession.model_validate({"terms_version": "v1", "accept_terms": True, **fields})
    return portal_sessions.start(slug, cmd, address=address, page_base="https://x.example", deps=deps)


@pytest.mark.parametrize("slug", ["abc", "main-st-2024", "a" * 64, "0-9"])
def test_a_slug_is_3_to_64_lowercase_letters_digits_and_single_hyphens(slug):
    assert check_slug(slug) == slug


@pytest.mark.parametrize("slug", ["ab", "a" * 65, "Main", "-abc", "abc-", "a--b", "a_b", "ab c", "é-abc", "a/b"])
def test_odd_slugs_are_refused_with_their_own_code(slug):
    with pytest.raises(InvalidInput) as refused:
        check_slug(slug)
    assert refused.value.code == "invalid_slug"


def test_a_window_must_close_after_it_opens():
    check_window(START, START + timedelta(seconds=1))
    for closes in (START, START - timedelta(hours=1)):
        with pytest.raises(InvalidInput) as refused:
            check_window(START, closes)
        assert refused.value.code == "window_closes_before_opening"


def test_a_portal_takes_submissions_only_while_open_and_inside_its_window(admin, deps, clock):
    portal = create(admin, deps, opens_at=START + timedelta(hours=1), closes_at=START + timedelta(hours=3))
    assert availability(portal, START) is Availability.NOT_YET_OPEN  # a draft
    portal = portals.open_portal(admin, portal.portal_id, deps=deps)
    assert availability(portal, START + timedelta(minutes=59)) is Availability.NOT_YET_OPEN
    assert availability(portal, START + timedelta(hours=1)) is Availability.OPEN
    assert availability(portal, START + timedelta(hours=3)) is Availability.CLOSED  # the close instant is late
    closed = portals.close_portal(admin, portal.portal_id, deps=deps)
    assert availability(closed, START + timedelta(hours=2)) is Availability.CLOSED


def test_every_change_commits_its_audit_event(admin, deps):
    portal = opened(admin, deps)
    portals.edit(admin, portal.portal_id, EditPortal.model_validate({"title": "Parade"}), deps=deps)
    portals.close_portal(admin, portal.portal_id, deps=deps)
    actions = [e.action for e in deps.audit.entries(portal.agency_id) if e.target == f"portal:{portal.portal_id}"]
    assert actions == ["portal.created", "portal.opened", "portal.edited", "portal.closed"]
    stored = deps.portals.get_portal(portal.agency_id, portal.portal_id)
    assert (stored.title, stored.state.value, stored.version) == ("Parade", "closed", 3)


def test_html_in_a_title_is_stored_as_the_text_given(admin, deps):
    portal = create(admin, deps, title="<script>alert(1)</script> Parade")
    assert deps.portals.get_portal(portal.agency_id, portal.portal_id).title == "<script>alert(1)</script> Parade"


def test_a_slug_is_unique_across_agencies_and_can_move_when_free(admin, deps):
    first = create(admin, deps)
    other = agencies.create_agency("Shelbyville PD", "US", deps=deps)
    key, _ = agencies.issue_key(other.agency_id, Role.AGENCY_ADMIN, "Admin", deps=deps)
    theirs = Principal(agency_id=other.agency_id, role=Role.AGENCY_ADMIN, key_id=key.key_id)
    with pytest.raises(Conflict) as taken:
        create(theirs, deps)
    assert taken.value.code == "slug_taken"
    second = create(admin, deps, slug="storm-2024")
    with pytest.raises(Conflict) as taken:
        portals.edit(admin, second.portal_id, EditPortal.model_validate({"slug": "main-st-parade"}), deps=deps)
    assert taken.value.code == "slug_taken"
    portals.edit(admin, first.portal_id, EditPortal.model_validate({"slug": "main-street"}), deps=deps)
    assert deps.portals.portal_by_slug("main-st-parade") is None
    assert deps.portals.portal_by_slug("main-street").portal_id == first.portal_id


def test_an_edit_keeps_the_window_valid(admin, deps):
    portal = create(admin, deps, closes_at=START + timedelta(days=1))
    with pytest.raises(InvalidInput) as refused:
        portals.edit(admin, portal.portal_id, EditPortal.model_validate({"opens_at": START + timedelta(days=2)}),
                     deps=deps)
    assert refused.value.code == "window_closes_before_opening"


def test_an_edit_of_one_cap_or_contact_field_keeps_the_others(admin, deps):
    portal = create(admin, deps, caps={"sessions_per_client": 3, "bytes_per_client": 1000},
                    contact={"name": "required", "phone": "optional"})
    edit = EditPortal.model_validate({"caps": {"files_per_session": 5}, "contact": {"email": "optional"}})
    changed = portals.edit(admin, portal.portal_id, edit, deps=deps)
    assert (changed.caps.files_per_session, changed.caps.sessions_per_client, changed.caps.bytes_per_client) == (
        5, 3, 1000)  # a PATCH of one cap must not quietly loosen the others to their defaults
    assert changed.contact.model_dump() == {**portal.contact.model_dump(), "email": "optional"}
    assert deps.portals.get_portal(portal.agency_id, portal.portal_id).caps == changed.caps


def test_officers_read_but_only_admins_change_and_another_agency_finds_nothing(admin, officer, deps):
    portal = create(admin, deps)
    assert [p.portal_id for p in portals.list_portals(officer, deps=deps)] == [portal.portal_id]
    with pytest.raises(Forbidden):
        portals.open_portal(officer, portal.portal_id, deps=deps)
    other = agencies.create_agency("Shelbyville PD", "US", deps=deps)
    key, _ = agencies.issue_key(other.agency_id, Role.AGENCY_ADMIN, "Admin", deps=deps)
    theirs = Principal(agency_id=other.agency_id, role=Role.AGENCY_ADMIN, key_id=key.key_id)
    for attempt in (lambda: portals.read(theirs, portal.portal_id, deps=deps),
                    lambda: portals.close_portal(theirs, portal.portal_id, deps=deps)):
        with pytest.raises(NotFound):
            attempt()


def test_the_licence_gate_is_citizen_for_communities(deps):
    first_time = agencies.create_agency("Ogdenville", "US", license=LicenseKind.NONE, deps=deps)
    key, _ = agencies.issue_key(first_time.agency_id, Role.AGENCY_ADMIN, "Admin", deps=deps)
    with pytest.raises(Forbidden) as refused:
        create(Principal(agency_id=first_time.agency_id, role=Role.AGENCY_ADMIN, key_id=key.key_id), deps)
    assert refused.value.details == {"missing": "citizen_communities"}


def test_a_session_files_community_portal_evidence_under_the_portals_case(admin, deps):
    portal = opened(admin, deps, case_ref="PARADE-7", contact={"email": "optional"})
    link, url = session(deps, language="es", contact={"email": "ana@example.org", "phone": "+15555550123"})
    token = url.rsplit("/", 1)[1]
    assert (link.origin, link.portal_id, link.case_ref, link.language) == (
        Origin.COMMUNITY_PORTAL, portal.portal_id, "PARADE-7", "es")
    assert link.contact == {"email": "ana@example.org"}  # the phone was not asked for
    files = RequestUploads.model_validate({"files": [{"name": "a.jpg", "size": 10, "content_type": "image/jpeg"}]})
    citizen_uploads.request_uploads(token, files, deps=deps)
    submission = deps.submissions.get_submission(portal.agency_id, link.link_id)
    assert (submission.origin, submission.case_ref) == (Origin.COMMUNITY_PORTAL, "PARADE-7")
    assert next(iter(submission.files.values())).key.startswith(f"agencies/{portal.agency_id}/cases/PARADE-7/")
    assert any(e.action == "portal.session_opened" and e.details["terms_version"] == "v1"
               for e in deps.audit.entries(portal.agency_id))
    assert portals.read(admin, portal.portal_id, deps=deps)[1]["sessions"] == 1


def test_a_session_needs_the_current_terms_accepted_and_the_required_contact(admin, deps):
    opened(admin, deps, contact={"name": "required"})
    for fields, code in (({"accept_terms": False, "contact": {"name": "Ana"}}, "terms_not_accepted"),
                         ({"terms_version": "v0", "contact": {"name": "Ana"}}, "terms_changed"),
                         ({}, "contact_required")):
        with pytest.raises((InvalidInput, Conflict)) as refused:
            session(deps, **fields)
        assert refused.value.code == code
    assert "portal.session_opened" not in deps.audit.actions(admin.agency_id)


def test_a_closed_or_not_yet_open_portal_refuses_sessions_and_counts_the_refusal(admin, deps, clock):
    portal = create(admin, deps)
    with pytest.raises(Conflict) as refused:
        session(deps)
    assert refused.value.code == "portal_not_open"
    portals.open_portal(admin, portal.portal_id, deps=deps)
    link, url = session(deps)
    portals.close_portal(admin, portal.portal_id, deps=deps)
    with pytest.raises(Gone) as refused:
        session(deps)
    assert refused.value.code == "portal_closed"
    files = RequestUploads.model_validate({"files": [{"name": "a.jpg", "size": 10, "content_type": "image/jpeg"}]})
    with pytest.raises(Gone):  # a session opened before the close cannot add files after it
        citizen_uploads.request_uploads(url.rsplit("/", 1)[1], files, address=IP, deps=deps)
    assert portals.read(admin, portal.portal_id, deps=deps)[1]["refused_requests"] == 3


def test_a_session_link_ends_when_the_portal_closes(admin, deps):
    opened(admin, deps, closes_at=START + timedelta(hours=2))
    link, _ = session(deps)
    assert link.expires_at == START + timedelta(hours=2)


def test_sessions_are_capped_per_client_and_per_portal_within_the_window(admin, deps, clock):
    opened(admin, deps, caps={"window_seconds": 600, "sessions_per_client": 2, "sessions_per_portal": 3})
    session(deps)
    session(deps)
    with pytest.raises(RateLimited) as refused:
        session(deps)
    assert refused.value.retry_after == 600
    session(deps, address="198.51.100.7")
    with pytest.raises(RateLimited):  # the portal's own cap, whoever asks
        session(deps, address="198.51.100.8")
    clock.advance(minutes=10)
    session(deps)


def test_files_and_bytes_are_capped_per_client_before_anything_is_signed(admin, deps):
    opened(admin, deps, caps={"files_per_client": 3, "bytes_per_client": 1000})
    _, url = session(deps)
    token = url.rsplit("/", 1)[1]

    def ask(*sizes):
        cmd = RequestUploads(files=[DeclaredFile(name=f"{i}.jpg", size=s, content_type="image/jpeg")
                                    for i, s in enumerate(sizes)])
        return len(citizen_uploads.request_uploads(token, cmd, address=IP, deps=deps)[1])

    assert ask(400, 400) == 2
    with pytest.raises(RateLimited):
        ask(300)  # 1,100 bytes: refused, and counts nothing
    assert ask(100) == 1
    signed = len(deps.blobs.signed)
    with pytest.raises(RateLimited):
        ask(1)  # a fourth file
    assert len(deps.blobs.signed) == signed  # refused before anything was signed


def test_a_request_refused_for_its_content_spends_nothing_of_the_portals_caps(admin, deps):
    opened(admin, deps, caps={"files_per_client": 3, "files_per_session": 2})
    token = session(deps)[1].rsplit("/", 1)[1]
    too_many = RequestUploads(files=[DeclaredFile(name=f"{i}.jpg", size=10, content_type="image/jpeg")
                                     for i in range(3)])
    for _ in range(3):  # over the session's 2 files: refused by the link, never counted on the portal
        with pytest.raises(LimitExceeded):
            citizen_uploads.request_uploads(token, too_many, address=IP, deps=deps)
    two = RequestUploads(files=too_many.files[:2])
    assert len(citizen_uploads.request_uploads(token, two, address=IP, deps=deps)[1]) == 2


def test_an_officers_link_is_not_touched_by_portal_caps(officer, deps):
    from chalicelib.domain.commands import CreateCitizenLink
    from chalicelib.services import citizen_links

    _, url = citizen_links.send_citizen_link(officer, CreateCitizenLink(case_ref="CASE-1", phone="+15555550123"),
                                             page_base="https://x.example", deps=deps)
    citizen_uploads.request_uploads(url.rsplit("/", 1)[1], RequestUploads(files=[DeclaredFile(
        name="a.jpg", size=1, content_type="image/jpeg")]), address=IP, deps=deps)
    assert deps.counters.calls == 0


def test_a_private_link_is_texted_to_the_number_given_and_never_shown(admin, deps):
    portal = opened(admin, deps)
    cmd = SmsLink.model_validate({"terms_version": "v1", "accept_terms": True, "send_to": "+15555550123"})
    delivery = portal_sessions.text_link("main-st-parade", cmd, address=IP, page_base="https://x.example", deps=deps)
    assert delivery.status == "sent"
    (phone, text), = deps.sms.sent
    assert phone == "+15555550123" and "https://x.example/c/" in text
    assert portals.read(admin, portal.portal_id, deps=deps)[1]["sessions"] == 1


def test_texting_is_capped_per_number(admin, deps):
    opened(admin, deps)
    cmd = SmsLink.model_validate({"terms_version": "v1", "accept_terms": True, "send_to": "+15555550123"})
    for n in range(5):
        portal_sessions.text_link("main-st-parade", cmd, address=f"203.0.113.{n}", page_base="https://x", deps=deps)
    with pytest.raises(RateLimited):
        portal_sessions.text_link("main-st-parade", cmd, address="203.0.113.99", page_base="https://x", deps=deps)


def test_texts_to_an_unknown_or_closed_portal_spend_nothing_of_the_numbers_cap(admin, deps):
    portal = create(admin, deps)  # not open yet
    cmd = SmsLink.model_validate({"terms_version": "v1", "accept_terms": True, "send_to": "+15555550123"})
    for slug in ["no-such-portal"] * 3 + ["main-st-parade"] * 3:
        with pytest.raises((NotFound, Conflict)):
            portal_sessions.text_link(slug, cmd, address=IP, page_base="https://x", deps=deps)
    portals.open_portal(admin, portal.portal_id, deps=deps)
    for _ in range(5):  # the number's whole cap is still there
        portal_sessions.text_link("main-st-parade", cmd, address=IP, page_base="https://x", deps=deps)
    assert len(deps.sms.sent) == 5


def test_the_triage_queue_by_portal_holds_only_what_came_through_it(admin, officer, deps):
    portal = opened(admin, deps, case_ref="PARADE-7")
    _, url = session(deps)
    files = RequestUploads.model_validate({"files": [{"name": "a.jpg", "size": 10, "content_type": "image/jpeg"}]})
    citizen_uploads.request_uploads(url.rsplit("/", 1)[1], files, deps=deps)
    page = portals.triage(officer, portal.portal_id, limit=25, cursor=None, deps=deps)
    assert [s.origin for s in page.items] == [Origin.COMMUNITY_PORTAL]
    counts = portals.read(officer, portal.portal_id, deps=deps)[1]
    assert (counts["submissions"], counts["files"], counts["bytes"]) == (1, 1, 0)  # bytes count once verified


def test_two_portals_on_one_case_each_count_and_triage_only_their_own(admin, officer, deps):
    first = opened(admin, deps, case_ref="STORM-1")
    second = opened(admin, deps, case_ref="STORM-1", slug="storm-north")
    files = RequestUploads.model_validate({"files": [{"name": "a.jpg", "size": 10, "content_type": "image/jpeg"}]})
    for slug in ("main-st-parade", "storm-north", "storm-north"):
        citizen_uploads.request_uploads(session(deps, slug=slug)[1].rsplit("/", 1)[1], files, deps=deps)
    assert len(portals.triage(officer, first.portal_id, limit=25, cursor=None, deps=deps).items) == 1
    assert len(portals.triage(officer, second.portal_id, limit=25, cursor=None, deps=deps).items) == 2
    assert portals.read(officer, first.portal_id, deps=deps)[1]["submissions"] == 1
    assert portals.read(officer, second.portal_id, deps=deps)[1]["submissions"] == 2


def test_an_unknown_or_odd_slug_is_not_found(deps):
    for slug in ("no-such-portal", "../etc", "A" * 200):
        with pytest.raises(NotFound):
            portal_sessions.public(slug, deps=deps)


def test_the_page_escapes_every_text_of_the_portal_and_fills_no_placeholder_it_holds(admin, deps):
    from chalicelib import portal_pages

    opened(admin, deps, title="<script>alert(1)</script>", description="{{body}} <b>bold</b>",
           agency_contact="call 555 & ask")
    page = portal_pages.render(portal_sessions.page_data(*portal_sessions.public("main-st-parade", deps=deps)), "fr")
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "{{body}} &lt;b&gt;bold&lt;/b&gt;" in page and "call 555 &amp; ask" in page
    assert 'lang="fr"' in page and "J&#x27;ai lu et j&#x27;accepte ces conditions" in page
    assert 'id="portal-form"' in page


def test_a_closed_portal_page_says_so_and_has_no_form(admin, deps):
    from chalicelib import portal_pages

    portal = opened(admin, deps)
    portals.close_portal(admin, portal.portal_id, deps=deps)
    page = portal_pages.render(portal_sessions.page_data(*portal_sessions.public("main-st-parade", deps=deps)), "en")
    assert 'data-state="closed"' in page and "This portal is closed" in page and "portal-form" not in page


def test_a_client_without_an_address_has_its_own_count_not_the_portals(admin, deps):
    opened(admin, deps, caps={"sessions_per_client": 1, "sessions_per_portal": 5})
    session(deps, address=None)
    with pytest.raises(RateLimited):
        session(deps, address=None)
    session(deps, address=IP)


@pytest.mark.parametrize("fields", [{"title": "\x00\x07 \u2028"}, {"caps": {"bytes_per_client": 10**40}},
                                    {"contact": {"email": "sometimes"}}, {"slug": "x" * 65}])
def test_bad_portal_fields_are_refused_by_the_command(fields):
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        CreatePortal.model_validate({"title": "Parade", "slug": "main-st", "terms": TERMS, **fields})


def test_a_portal_session_needs_citizen_for_communities_not_officers(admin, deps, monkeypatch):
    """A portal's session is a citizen link, but the right to collect through it is the portal's
    licence feature: losing Communities (while keeping Officers) ends it; Officers' links go on."""
    opened(admin, deps)
    _, url = session(deps)
    token = url.rsplit("/", 1)[1]
    assert citizen_uploads.open_link(token, deps=deps)["agency_name"]
    real = access.entitlements_of
    monkeypatch.setattr(access, "entitlements_of", lambda agency, *, deps: real(agency, deps=deps).model_copy(
        update={"citizen_communities": False, "citizen_officers": True}))
    with pytest.raises(Forbidden) as refused:
        citizen_uploads.open_link(token, deps=deps)
    assert refused.value.details == {"missing": "citizen_communities"}
