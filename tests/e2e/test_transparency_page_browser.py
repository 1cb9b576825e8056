"""The transparency page in headless Chromium at a phone viewport (390x844) against the local stack:
an announced use case is listed with its effective date, a `<script>` in its title shows as text
(nothing runs: no dialog, no console error, no CSP violation), a draft is not shown, and the
Spanish version comes from ?lang=es. Screenshots go to .local/transparency-phone*.png."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_citizen_page_browser import PageProblems, browser, page  # noqa: F401 (fixtures)
from tests.e2e.test_transparency_api import use_case

pytestmark = pytest.mark.e2e
SHOTS = Path(__file__).resolve().parents[2] / ".local"


def test_the_page_lists_announced_use_cases_and_shows_html_as_text(stack: Any, page: Any) -> None:  # noqa: F811
    tag = uuid.uuid4().hex[:8]
    title = f"Redaction <script>window.__pwned='{tag}'</script> model"
    shown = use_case(stack, title, announce=True)
    use_case(stack, f"Draft {tag}", announce=False)
    problems = PageProblems(page)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

    response = page.goto(f"{stack.api_url}/transparency")
    assert response is not None and response.status == 200
    heading = page.locator(f"#uc-{shown}")
    assert heading.inner_text() == title  # the tag is text on screen, not an element
    assert page.locator(f"section[aria-labelledby='uc-{shown}'] script").count() == 0
    assert page.evaluate("window.__pwned") is None and dialogs == []
    card = page.locator(f"section[aria-labelledby='uc-{shown}']")
    effective = (datetime.now(timezone.utc).date() + timedelta(days=30)).isoformat()
    assert "Announced" in card.inner_text() and effective in card.inner_text()
    assert "de-identification" in card.inner_text() and "Tier 1 agencies" in card.inner_text()
    assert f"Draft {tag}" not in page.content()
    assert page.evaluate("getComputedStyle(document.querySelector('.topbar')).backgroundColor") == "rgb(21, 50, 91)"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the phone
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "transparency-phone-top.png"), full_page=False)
    card.scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "transparency-phone.png"), full_page=False)
    assert problems.errors() == []

    page.goto(f"{stack.api_url}/transparency?lang=es")
    assert page.locator("html").get_attribute("lang") == "es"
    assert "Historial de versiones" in page.locator(f"section[aria-labelledby='uc-{shown}']").inner_text()
    assert problems.errors() == []
