"""The access-request page in headless Chromium at a phone viewport (390x844): each problem is shown
beside its field and focus moves to the first; a server refusal is shown in place; a sent request
shows its reference with focus on it; the selects look enabled; French and Spanish from ?lang=.
Screenshots go to .local/access-*.png."""
from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.test_citizen_page_browser import PageProblems, browser, page  # noqa: F401 (fixtures)

pytestmark = pytest.mark.e2e
SHOTS = Path(__file__).resolve().parents[2] / ".local"


def test_errors_sit_beside_their_fields_and_focus_follows(stack: Any, page: Any) -> None:  # noqa: F811
    problems = PageProblems(page)
    page.goto(f"{stack.api_url}/access?lang=en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.click("#access-send")
    for field in ("organisation", "country", "contact_name", "contact_email"):
        assert page.locator(f"#{field}-error").is_visible(), field
        assert page.locator(f"#{field}").get_attribute("aria-invalid") == "true"
    assert page.locator("#contact_phone-error").is_hidden()
    assert page.evaluate("document.activeElement.id") == "organisation"
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "access-phone-errors.png"), full_page=True)

    page.fill("#organisation", f"Springfield Health {uuid.uuid4().hex[:6]}")
    page.fill("#country", "us")
    page.fill("#contact_name", "Dr Hibbert")
    page.fill("#contact_email", "hibbert@")
    page.click("#access-send")
    assert page.evaluate("document.activeElement.id") == "contact_email"
    assert page.locator("#organisation-error").is_hidden()
    assert "email address" in page.locator("#contact_email-error").inner_text()

    page.fill("#contact_email", "hibbert@springfield.example")
    page.select_option("#organisation_type", "public_health")
    page.click("#access-send")
    page.wait_for_selector("#access-done", state="visible")
    assert page.evaluate("document.activeElement.id") == "access-done"
    assert len(page.locator("#access-ref").inner_text()) == 26
    page.screenshot(path=str(SHOTS / "access-phone-done.png"), full_page=True)
    assert problems.errors() == []


def test_the_selects_look_enabled_and_the_page_fits_a_phone(stack: Any, page: Any) -> None:  # noqa: F811
    page.goto(f"{stack.api_url}/access")
    for select in ("#organisation_type", "#current_license"):
        style = page.eval_on_selector(select, "el => { const s = getComputedStyle(el); "
                                              "return [s.opacity, s.backgroundColor, s.color, s.cursor]; }")
        assert style[0] == "1" and style[1] == "rgb(255, 255, 255)" and style[3] == "pointer", style
        assert page.locator(select).is_enabled()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(SHOTS / "access-phone.png"), full_page=True)


@pytest.mark.parametrize("language, label, required", [
    ("fr", "Organisme", "Ce champ est obligatoire."),
    ("es", "Organización", "Este dato es obligatorio."),
])
def test_the_page_speaks_french_and_spanish(stack: Any, page: Any, language: str, label: str,  # noqa: F811
                                            required: str) -> None:
    problems = PageProblems(page)
    page.goto(f"{stack.api_url}/access?lang={language}")
    expect(page.locator("html")).to_have_attribute("lang", language)
    assert page.locator("label[for=organisation]").inner_text() == label
    page.click("#access-send")
    assert page.locator("#organisation-error").inner_text() == required
    page.screenshot(path=str(SHOTS / f"access-phone-{language}.png"), full_page=True)
    assert problems.errors() == []
