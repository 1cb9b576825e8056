"""The transparency page's forms in headless Chromium at a phone viewport (390x844) against the local
stack: the page runs no script, yet its plain HTML forms post (the CSP allows forms to this site
only): feedback with HTML in it is stored as text and the answer page says thank you; a subscription
answers with the check-your-email page and a confirmation email, whose link opens a page whose
button confirms. Nothing is wider than the phone,
no console error, no CSP violation. Screenshots go to .local/transparency-feedback*.png."""
from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_citizen_page_browser import PageProblems, browser, page  # noqa: F401 (fixtures)
from tests.e2e.test_transparency_api import use_case

pytestmark = pytest.mark.e2e
SHOTS = Path(__file__).resolve().parents[2] / ".local"


def test_feedback_and_subscription_forms_post_without_script(stack: Any, page: Any) -> None:  # noqa: F811
    tag = uuid.uuid4().hex[:8]
    shown = use_case(stack, f"Feedback form case {tag}", announce=True)
    problems = PageProblems(page)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

    assert page.goto(f"{stack.api_url}/transparency").status == 200
    form = page.locator("form[action='transparency/feedback']")
    message = f"<img src=x onerror=alert('{tag}')> please explain {tag}"
    form.locator("textarea[name=message]").fill(message)
    form.locator("select[name=use_case_id]").select_option(shown)
    assert form.locator("textarea[name=message]").get_attribute("maxlength") == "2000"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    SHOTS.mkdir(exist_ok=True)
    form.scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "transparency-feedback-form.png"), full_page=False)
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    assert page.locator("h1").inner_text() == "Thank you" and dialogs == []
    page.screenshot(path=str(SHOTS / "transparency-feedback-sent.png"), full_page=False)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert problems.errors() == []

    listed = stack.agency(stack.local.seed.operator_key).get(
        f"{stack.api_url}/operator/program/feedback").json()["items"]
    assert [(f["message"], f["use_case_id"]) for f in listed if tag in f["message"]] == [(message, shown)]

    email = f"phone-{tag}@example.org"
    page.goto(f"{stack.api_url}/transparency?lang=es")
    subscribe = page.locator("form[action='transparency/subscriptions']")
    subscribe.locator("input[name=email]").fill(email)
    with page.expect_navigation():
        subscribe.locator("button[type=submit]").click()
    assert page.locator("h1").inner_text() == "Revise su correo"
    assert [m["subject"] for m in stack.emails() if m["to"] == [email]] == [
        "Confirme sus avisos del programa de mejora"]  # in the page's language
    page.screenshot(path=str(SHOTS / "transparency-subscribe-sent.png"), full_page=False)
    assert problems.errors() == [] and dialogs == []

    (confirmation,) = [m["body"] for m in stack.emails() if m["to"] == [email]]
    link = re.search(r"https?://\S+/transparency/confirm\?token=[A-Za-z0-9_-]{43}", confirmation)
    assert link
    page.goto(link.group(0))  # opening the link shows a button and confirms nothing yet
    assert page.locator("h1").inner_text() == "Confirm your subscription"
    page.screenshot(path=str(SHOTS / "transparency-confirm-ask.png"), full_page=False)
    with page.expect_navigation():
        page.locator("button[type=submit]").click()
    assert page.locator("h1").inner_text() == "Subscription confirmed"
    assert problems.errors() == [] and dialogs == []
