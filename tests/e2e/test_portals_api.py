"""Community portals over HTTP on the local stack: an admin creates, opens, edits and closes a
portal; the public page shows it (HTML escaped); a session opened on it uploads evidence filed as
community_portal under the portal's case and counted on the portal; caps give 429 with Retry-After;
bad input is a clear 4xx; another agency and officers cannot change it."""
from __future__ import annotations

import secrets

import pytest
import requests

from tests.e2e.test_citizen_links_api import JPEG, declare, post_to_s3
from tests.e2e.test_sharing_api import new_agency

pytestmark = pytest.mark.e2e
TERMS = {"version": "v1", "text": {"en": "I took these myself.", "fr": "Je les ai prises moi-même."}}


def slug() -> str:
    return f"event-{secrets.token_hex(4)}"


def make(stack, key=None, **fields):
    body = {"title": "Parade on Main St", "slug": slug(), "terms": TERMS, **fields}
    return stack.agency(key or stack.admin_key).post(f"{stack.api_url}/agency/portals", json=body)


def opened(stack, **fields):
    made = make(stack, **fields)
    assert made.status_code == 201, made.text
    portal = made.json()
    answer = stack.agency(stack.admin_key).post(f"{stack.api_url}/agency/portals/{portal['portal_id']}/open")
    assert answer.status_code == 200, answer.text
    return answer.json()


def start(stack, portal, **fields):
    body = {"terms_version": "v1", "accept_terms": True, **fields}
    return requests.post(f"{stack.api_url}/p/{portal['slug']}/sessions", json=body)


def test_a_portal_collects_community_evidence_under_its_own_case_and_counts_it(stack):
    portal = opened(stack, case_ref="PORTAL-E2E-1", contact={"email": "optional"})
    page = requests.get(f"{stack.api_url}/p/{portal['slug']}?lang=fr")
    assert page.status_code == 200 and "Content-Security-Policy" in page.headers
    assert "Parade on Main St" in page.text and "Je les ai prises moi-même." in page.text
    session = start(stack, portal, language="fr", contact={"email": "ana@example.org"})
    assert session.status_code == 201, session.text
    url = f"{stack.api_url}/c/{session.json()['token']}"
    assert requests.get(url).status_code == 200  # the existing upload page takes it from here
    upload, = declare(url, {"name": "a.jpg", "size": len(JPEG), "content_type": "image/jpeg"}).json()["uploads"]
    assert "/cases/PORTAL-E2E-1/" in upload["fields"]["key"]
    post_to_s3(upload, JPEG)
    assert requests.post(f"{url}/complete", json={}).status_code == 200
    officer = stack.agency()
    queue = f"{stack.api_url}/agency/submissions?portal={portal['portal_id']}"
    item, = stack.wait_for(lambda: officer.get(queue).json()["items"] or None, what="the portal's submission")
    assert (item["origin"], item["case_ref"]) == ("community_portal", "PORTAL-E2E-1")
    counts = stack.wait_for(lambda: (c := officer.get(f"{stack.api_url}/agency/portals/{portal['portal_id']}")
                                     .json()["counts"])["bytes"] and c, what="the verified file", timeout=30)
    assert counts | {"complete": True} == {"sessions": 1, "refused_requests": 0, "submissions": 1, "files": 1,
                                            "bytes": len(JPEG), "refused_files": 0, "complete": True}
    actions = [e["action"] for e in stack.audit(target=f"portal:{portal['portal_id']}")["items"]]
    assert actions == ["portal.created", "portal.opened"]


def test_sessions_over_the_portals_cap_get_429_with_retry_after(stack):
    portal = opened(stack, caps={"window_seconds": 3600, "sessions_per_client": 2})
    assert [start(stack, portal).status_code for _ in range(2)] == [201, 201]
    refused = start(stack, portal)
    assert refused.status_code == 429 and refused.json()["code"] == "rate_limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 3600
    counts = stack.agency().get(f"{stack.api_url}/agency/portals/{portal['portal_id']}").json()["counts"]
    assert (counts["sessions"], counts["refused_requests"]) == (2, 1)


def test_a_closed_portal_shows_a_clear_page_and_refuses_sessions(stack):
    portal = opened(stack)
    admin = stack.agency(stack.admin_key)
    assert admin.post(f"{stack.api_url}/agency/portals/{portal['portal_id']}/close").json()["state"] == "closed"
    page = requests.get(f"{stack.api_url}/p/{portal['slug']}")
    assert page.status_code == 200 and 'data-state="closed"' in page.text and "portal-form" not in page.text
    refused = start(stack, portal)
    assert refused.status_code == 410 and refused.json()["code"] == "portal_closed"
    again = admin.post(f"{stack.api_url}/agency/portals/{portal['portal_id']}/close")
    assert again.status_code == 409 and again.json()["code"] == "already_closed"


def test_html_in_a_title_is_stored_as_text_and_escaped_on_the_page(stack):
    portal = opened(stack, title="<img src=x onerror=alert(1)> Storm")
    assert portal["title"] == "<img src=x onerror=alert(1)> Storm"
    page = requests.get(f"{stack.api_url}/p/{portal['slug']}").text
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt; Storm" in page


@pytest.mark.parametrize("fields, status, code", [
    ({"slug": "Bad_Slug"}, 400, "invalid_slug"),
    ({"slug": "ab"}, 400, "validation_error"),
    ({"opens_at": "2030-01-02T00:00:00Z", "closes_at": "2030-01-01T00:00:00Z"}, 400, "window_closes_before_opening"),
    ({"title": ""}, 400, "validation_error"),
    ({"description": "x" * 2001}, 400, "validation_error"),
    ({"terms": {"version": "v1", "text": {"es": "solo español"}}}, 400, "validation_error"),
    ({"contact": {"email": "sometimes"}}, 400, "validation_error"),
])
def test_bad_portals_are_refused_with_a_clear_code(stack, fields, status, code):
    answer = make(stack, **fields)
    assert (answer.status_code, answer.json()["code"]) == (status, code), answer.text


def test_a_taken_slug_is_refused_even_for_another_agency(stack):
    portal = opened(stack)
    _, other_key = new_agency("Ogdenville PD")
    taken = make(stack, key=other_key, slug=portal["slug"])
    assert (taken.status_code, taken.json()["code"]) == (409, "slug_taken")


@pytest.mark.parametrize("fields, status, code", [
    ({"accept_terms": False}, 400, "terms_not_accepted"),
    ({"terms_version": "v0"}, 409, "terms_changed"),
    ({"contact": {}}, 400, "contact_required"),
    ({"contact": {"email": "not-an-email"}}, 400, "validation_error"),
    ({"language": "de"}, 400, "validation_error"),
])
def test_a_session_without_accepted_terms_or_required_contact_is_refused(stack, fields, status, code):
    portal = opened(stack, contact={"email": "required"})
    answer = start(stack, portal, **fields)
    assert (answer.status_code, answer.json()["code"]) == (status, code), answer.text


def test_another_agency_cannot_read_or_change_a_portal_and_officers_cannot_change_it(stack):
    portal = opened(stack)
    _, other_key = new_agency("North Haverbrook PD")
    other, officer = stack.agency(other_key), stack.agency()
    base = f"{stack.api_url}/agency/portals/{portal['portal_id']}"
    for answer in (other.get(base), other.patch(base, json={"title": "mine"}), other.post(f"{base}/close"),
                   other.get(f"{stack.api_url}/agency/submissions?portal={portal['portal_id']}")):
        assert answer.status_code == 404 and answer.json()["code"] == "portal_not_found"
    assert portal["portal_id"] not in [p["portal_id"] for p in other.get(f"{stack.api_url}/agency/portals")
                                       .json()["items"]]
    assert officer.get(base).status_code == 200
    refused = officer.post(f"{base}/close")
    assert (refused.status_code, refused.json()["code"]) == (403, "admin_only")
    operator = stack.agency(stack.local.seed.operator_key).get(base)
    assert operator.status_code == 403


def test_an_unknown_portal_is_a_friendly_404(stack):
    assert requests.get(f"{stack.api_url}/p/no-such-portal-here").status_code == 404
    answer = requests.post(f"{stack.api_url}/p/no-such-portal-here/sessions",
                           json={"terms_version": "v1", "accept_terms": True})
    assert (answer.status_code, answer.json()["code"]) == (404, "portal_not_found")


def test_a_private_link_is_texted_and_not_shown(stack):
    portal = opened(stack)
    answer = requests.post(f"{stack.api_url}/p/{portal['slug']}/sms-link",
                           json={"terms_version": "v1", "accept_terms": True, "send_to": "+15555550199"})
    assert answer.status_code == 202 and answer.json() == {"status": "sent"}
    texts = stack.wait_for(lambda: [t for p, t in stack.sms_messages() if p == "+15555550199"] or None,
                           what="the text message")
    assert f"{stack.api_url}/c/" in texts[-1]


def test_an_edit_changes_the_slug_and_keeps_the_window_valid(stack):
    portal = opened(stack)
    admin = stack.agency(stack.admin_key)
    base = f"{stack.api_url}/agency/portals/{portal['portal_id']}"
    moved = admin.patch(base, json={"slug": portal["slug"] + "-2", "description": "Send what you saw."})
    assert moved.status_code == 200 and moved.json()["version"] == portal["version"] + 1
    assert requests.get(f"{stack.api_url}/p/{portal['slug']}").status_code == 404
    assert requests.get(f"{stack.api_url}/p/{portal['slug']}-2").status_code == 200
    bad = admin.patch(base, json={"opens_at": "2031-01-01T00:00:00Z", "closes_at": "2030-01-01T00:00:00Z"})
    assert (bad.status_code, bad.json()["code"]) == (400, "window_closes_before_opening")


def test_uploads_past_the_portals_byte_cap_or_after_it_closed_are_refused_before_signing(stack):
    portal = opened(stack, caps={"bytes_per_client": 2 * len(JPEG)})
    url = f"{stack.api_url}/c/{start(stack, portal).json()['token']}"
    jpeg = {"name": "a.jpg", "size": len(JPEG), "content_type": "image/jpeg"}
    assert declare(url, jpeg).status_code == 200
    over = declare(url, jpeg | {"size": len(JPEG) + 1})
    assert over.status_code == 429 and over.json()["code"] == "rate_limited" and "Retry-After" in over.headers
    assert requests.get(f"{url}/session").json()["files_declared"] == 1  # nothing declared, nothing signed
    stack.agency(stack.admin_key).post(f"{stack.api_url}/agency/portals/{portal['portal_id']}/close")
    closed = declare(url, jpeg)
    assert (closed.status_code, closed.json()["code"]) == (410, "portal_closed")
