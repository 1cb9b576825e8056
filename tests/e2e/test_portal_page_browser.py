"""A community portal's page in headless Chromium at a phone viewport (390x844) on the local stack:
HTML in the title shows as text, a missing acceptance or required contact is shown beside its field
with focus moved there, a complete form continues to the upload page of a fresh link, the private
link can be texted, Spanish comes from ?lang=es, and a closed portal shows a clear page. No console
error, no CSP violation. Screenshots go to .local/portal-*.png."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.test_citizen_page_browser import PageProblems, browser, page  # noqa: F401 (fixtures)
from tests.e2e.test_portals_api import opened

pytestmark = pytest.mark.e2e
SHOTS = Path(__file__).resolve().parents[2] / ".local"


def test_the_portal_page_guides_the_submitter_to_the_upload_page(stack: Any, page: Any) -> None:  # noqa: F811
    portal = opened(stack, title="<b>Storm</b> on the river", location="Riverside park",
                    agency_contact="+1 555 0100 or desk@demo-pd.example",
                    description="Send photos and videos of the flooding.",
                    contact={"name": "required", "email": "optional"})
    problems = PageProblems(page)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    response = page.goto(f"{stack.api_url}/p/{portal['slug']}?lang=en")
    assert response is not None and response.status == 200
    assert page.locator("#portal-title").inner_text() == "<b>Storm</b> on the river"
    assert page.locator("#portal-title b").count() == 0 and dialogs == []
    assert "Riverside park" in page.content() and "desk@demo-pd.example" in page.content()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "portal-phone.png"), full_page=True)

    page.click("#start")
    assert page.locator("#accept-error").is_visible() and page.locator("#contact-name-error").is_visible()
    assert page.evaluate("document.activeElement.id") == "accept"
    page.check("#accept")
    page.fill("#contact-email", "not an email")
    page.click("#start")
    assert page.evaluate("document.activeElement.id") == "contact-name"
    assert page.locator("#accept-error").is_hidden()
    assert "email address" in page.locator("#contact-email-error").inner_text()
    page.screenshot(path=str(SHOTS / "portal-phone-errors.png"), full_page=True)

    page.fill("#contact-name", "Ana")
    page.fill("#contact-email", "ana@example.org")
    with page.expect_navigation():
        page.click("#start")
    assert "/c/" in page.url
    page.wait_for_load_state("networkidle")
    assert page.locator("body").inner_text().strip() != ""
    assert problems.errors() == []


def test_the_private_link_is_texted_from_the_page(stack: Any, page: Any) -> None:  # noqa: F811
    portal = opened(stack)
    problems = PageProblems(page)
    page.goto(f"{stack.api_url}/p/{portal['slug']}")
    page.check("#accept")
    page.fill("#sms-phone", "12345")
    page.click("#sms-send")
    assert page.locator("#sms-phone-error").is_visible()
    assert page.evaluate("document.activeElement.id") == "sms-phone"
    page.fill("#sms-phone", "+15555550142")
    page.click("#sms-send")
    expect(page.locator("#sms-result")).to_contain_text("Sent")
    assert page.evaluate("document.activeElement.id") == "sms-result"
    assert any(phone == "+15555550142" for phone, _ in stack.sms_messages())
    assert problems.errors() == []


def test_the_page_speaks_spanish_and_a_closed_portal_says_so(stack: Any, page: Any) -> None:  # noqa: F811
    portal = opened(stack)
    problems = PageProblems(page)
    page.goto(f"{stack.api_url}/p/{portal['slug']}?lang=es")
    assert page.locator("html").get_attribute("lang") == "es"
    assert "He leído y acepto estas condiciones" in page.locator("#portal-form").inner_text()
    page.click("#start")
    assert page.locator("#accept-error").inner_text() == "Acepte las condiciones para continuar."
    stack.agency(stack.admin_key).post(f"{stack.api_url}/agency/portals/{portal['portal_id']}/close")
    page.goto(f"{stack.api_url}/p/{portal['slug']}?lang=fr")
    assert "Ce portail est fermé" in page.locator("#portal-state").inner_text()
    assert page.locator("#portal-form").count() == 0
    page.screenshot(path=str(SHOTS / "portal-phone-closed.png"), full_page=True)
    assert problems.errors() == []
