"""The citizen upload page driven by a real headless Chromium against the local stack.

The `stack` fixture (tests/e2e/conftest.py) runs the API locally on a moto server. These tests
check what only a browser can: that the page works under its CSP, that the files really go to
S3 through presigned POSTs, and that the officer then sees the very same bytes.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

pytestmark = pytest.mark.e2e

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
I18N = json.loads((Path(__file__).resolve().parents[2] / "chalicelib" / "web" / "i18n.json")
                  .read_text(encoding="utf-8"))

# A real 16x16 JPEG (made with a canvas), so the server's type sniffing sees a true photo.
JPEG = base64.b64decode(
    "/9j/4AAQSkZJRgABAQAAAQABAAD/4gHYSUNDX1BST0ZJTEUAAQEAAAHIAAAAAAQwAABtbnRyUkdC"
    "IFhZWiAH4AABAAEAAAAAAABhY3NwAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAQAA9tYAAQAA"
    "AADTLQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAlk"
    "ZXNjAAAA8AAAACRyWFlaAAABFAAAABRnWFlaAAABKAAAABRiWFlaAAABPAAAABR3dHB0AAABUAAA"
    "ABRyVFJDAAABZAAAAChnVFJDAAABZAAAAChiVFJDAAABZAAAAChjcHJ0AAABjAAAADxtbHVjAAAA"
    "AAAAAAEAAAAMZW5VUwAAAAgAAAAcAHMAUgBHAEJYWVogAAAAAAAAb6IAADj1AAADkFhZWiAAAAAA"
    "AABimQAAt4UAABjaWFlaIAAAAAAAACSgAAAPhAAAts9YWVogAAAAAAAA9tYAAQAAAADTLXBhcmEA"
    "AAAAAAQAAAACZmYAAPKnAAANWQAAE9AAAApbAAAAAAAAAABtbHVjAAAAAAAAAAEAAAAMZW5VUwAA"
    "ACAAAAAcAEcAbwBvAGcAbABlACAASQBuAGMALgAgADIAMAAxADb/2wBDAA0JCgsKCA0LCgsODg0P"
    "EyAVExISEyccHhcgLikxMC4pLSwzOko+MzZGNywtQFdBRkxOUlNSMj5aYVpQYEpRUk//2wBDAQ4O"
    "DhMREyYVFSZPNS01T09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT09P"
    "T09PT0//wAARCAAQABADASIAAhEBAxEB/8QAFQABAQAAAAAAAAAAAAAAAAAAAAL/xAAdEAABAgcA"
    "AAAAAAAAAAAAAAARABIEBRMUI0LR/8QAFAEBAAAAAAAAAAAAAAAAAAAABP/EACQRAAABCwUAAAAA"
    "AAAAAAAAAAARFBUkJTEyUVJiY4GCkZLw/9oADAMBAAIRAxEAPwCJfA3tTKxg1JJ4kwgbKnle86gA"
    "dSXx1lUxPeNgAepMI69p4mMOxJHE5oJDDtp7ReIBqxtfrPhw/9k="
)
# An ISO media file: a 'ftyp' box (brand mp42) and some payload, enough to be sniffed as MP4.
MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00\x00\x00\x00mp42isom" + bytes(range(256)) * 16

# Records CSP violations from inside the page. Init scripts are injected by the browser's
# debugging protocol, so the page's own CSP does not block this one.
CSP_SPY = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI);
});
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        pytest.fail(f"Chromium not found at {CHROMIUM} (install the 'chromium' package or set CHROMIUM_PATH)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class PageProblems:
    """Console errors, uncaught exceptions and CSP violations seen by one page."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.console: list[tuple[str, str]] = []
        self.exceptions: list[str] = []
        page.add_init_script(CSP_SPY)
        page.on("console", self._on_console)
        page.on("pageerror", lambda exc: self.exceptions.append(str(exc)))

    def _on_console(self, message: Any) -> None:
        if message.type == "error":
            self.console.append((message.text, message.location.get("url", "")))

    def csp_violations(self) -> list[str]:
        return list(self.page.evaluate("window.__cspViolations || []"))

    def errors(self, *, expected_document_status_url: str | None = None) -> list[str]:
        """Everything that went wrong. Chromium logs a document's own 4xx status as a console
        error ("Failed to load resource"); an error page is meant to have one, so a test that
        expects it names the URL to leave it out."""
        console = [text for text, url in self.console
                   if not (expected_document_status_url and url == expected_document_status_url
                           and text.startswith("Failed to load resource"))]
        return console + self.exceptions + [f"CSP: {v}" for v in self.csp_violations()]


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    # A phone-sized viewport: the page is built for phones first.
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2,
                                  is_mobile=True, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    context.close()


def officer_headers(stack: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {stack.officer_key}"}


def create_link(stack: Any, case_ref: str, **extra: Any) -> dict[str, Any]:
    response = requests.post(stack.api_url + "/agency/citizen-links",
                             json={"case_ref": case_ref, "phone": "+15555550123", **extra},
                             headers=officer_headers(stack), timeout=30)
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    assert body["url"] and body["link_id"], body
    return body


def sms_with(stack: Any, url: str) -> tuple[str, str]:
    """The SMS that carried this link (delivery is synchronous, but allow the capture to lag)."""
    def carrying_url() -> tuple[str, str] | None:
        return next(((phone, text) for phone, text in stack.sms_messages() if url in text), None)

    found: tuple[str, str] = stack.wait_for(carrying_url)
    return found


def open_upload_page(page: Any, url: str) -> Any:
    response = page.goto(url)
    assert response is not None and response.status == 200, response and response.status
    page.wait_for_selector("#form:not([hidden])")
    return response


def test_citizen_sends_a_photo_and_a_video_that_reach_the_officer_unchanged(
    stack: Any, page: Any, tmp_path: Path,
) -> None:
    link = create_link(stack, "CASE-BROWSER-1")
    phone, text = sms_with(stack, link["url"])
    assert phone == "+15555550123"
    assert link["url"] in text

    photo, video = tmp_path / "scene.jpg", tmp_path / "dashcam.mp4"
    photo.write_bytes(JPEG)
    video.write_bytes(MP4)
    captions = {"scene.jpg": "Damage to the rear bumper, taken at 9pm",
                "dashcam.mp4": "Dashcam: the blue van leaving — 2 minutes"}

    problems = PageProblems(page)
    open_upload_page(page, link["url"])
    page.set_input_files("#file-input", [str(photo), str(video)])
    caption_boxes = page.locator(".caption")
    assert caption_boxes.count() == 2
    caption_boxes.nth(0).fill(captions["scene.jpg"])
    caption_boxes.nth(1).fill(captions["dashcam.mp4"])
    page.click("#send")

    confirmation = page.locator("#confirmation")
    confirmation.wait_for(state="visible", timeout=60_000)
    assert "2" in confirmation.inner_text()
    assert page.locator("#form").is_hidden()
    assert problems.csp_violations() == []

    def both_files_hashed() -> list[dict[str, Any]] | None:
        response = requests.get(f"{stack.api_url}/agency/submissions/{link['link_id']}",
                                headers=officer_headers(stack), timeout=30)
        if response.status_code != 200:
            return None
        files = response.json().get("files") or []
        return files if len(files) == 2 and all(f.get("sha256") for f in files) else None

    files = {f["name"]: f for f in stack.wait_for(both_files_hashed, timeout=60)}
    assert set(files) == {"scene.jpg", "dashcam.mp4"}
    assert files["scene.jpg"]["sha256"] == hashlib.sha256(JPEG).hexdigest()
    assert files["dashcam.mp4"]["sha256"] == hashlib.sha256(MP4).hexdigest()
    assert files["scene.jpg"]["size"] == len(JPEG)
    assert files["dashcam.mp4"]["size"] == len(MP4)
    assert files["scene.jpg"]["content_type"] == "image/jpeg"
    assert files["dashcam.mp4"]["content_type"] == "video/mp4"
    for name, caption in captions.items():
        assert files[name]["caption"] == caption


def test_unknown_link_shows_a_friendly_error_page(stack: Any, page: Any) -> None:
    url = stack.api_url + "/c/" + "x" * 43
    problems = PageProblems(page)
    response = page.goto(url)
    assert response is not None and response.status == 404
    page.wait_for_load_state("networkidle")

    heading = page.locator("h1")
    assert heading.count() == 1
    assert heading.inner_text().strip() == I18N["en"]["error.link_not_found.title"]
    body = page.locator("body").inner_text()
    assert I18N["en"]["error.link_not_found.message"] in body
    for leak in ("Traceback", "File \"", "Exception", "{{", "}}"):
        assert leak not in body
    assert page.evaluate("document.documentElement.lang") == "en"
    # Styled by the shared stylesheet: it loaded, so the page is not bare HTML.
    assert page.evaluate("getComputedStyle(document.querySelector('.card')).borderRadius") != "0px"
    assert problems.errors(expected_document_status_url=url) == []


def test_upload_page_loads_in_the_links_language_without_console_errors(stack: Any, page: Any) -> None:
    link = create_link(stack, "CASE-BROWSER-2", language="fr", note="Merci d'envoyer les photos <b>du vol</b>.")
    problems = PageProblems(page)
    response = open_upload_page(page, link["url"])
    page.wait_for_load_state("networkidle")

    csp = response.headers.get("content-security-policy", "")
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert page.evaluate("document.documentElement.lang") == "fr"
    assert page.locator("h1#intro-heading").inner_text() == I18N["fr"]["intro.heading"]
    assert page.locator("#agency-name").inner_text().strip()
    # The officer's note is shown as text, never as markup.
    assert page.locator("#note-text").inner_text() == "Merci d'envoyer les photos <b>du vol</b>."
    assert page.locator("#note-text b").count() == 0
    assert page.locator("#send").is_disabled()
    assert page.get_attribute("#file-input", "accept")
    # Usable at a small phone's width: nothing forces sideways scrolling.
    page.set_viewport_size({"width": 360, "height": 740})
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert problems.errors() == []
