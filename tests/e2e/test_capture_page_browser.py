"""The officer's capture page in headless Chromium at a phone's size: the key is typed once and kept
in the tab's sessionStorage only, two files go to S3 through their presigned POSTs, the capture is
completed, and the agency then holds both, verified with the SHA-256 of the bytes sent."""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.e2e.test_citizen_page_browser import JPEG, MP4, PageProblems, browser, page  # noqa: F401 (fixtures)

pytestmark = pytest.mark.e2e

SCREENSHOTS = Path(__file__).resolve().parents[2] / ".local"


def test_an_officer_captures_two_files_from_a_phone_and_both_arrive_verified(
        stack: Any, page: Any, tmp_path: Path) -> None:  # noqa: F811
    photo, video = tmp_path / "scene.jpg", tmp_path / "bodycam.mp4"
    photo.write_bytes(JPEG)
    video.write_bytes(MP4)
    problems = PageProblems(page)
    url = f"{stack.api_url}/agency/capture"
    response = page.goto(url)
    assert response is not None and response.status == 200
    assert stack.officer_key not in page.url

    page.wait_for_selector("#key-form:not([hidden])")
    page.fill("#api-key", stack.officer_key)
    page.click("#use-key")
    page.wait_for_selector("#form:not([hidden])")
    assert page.locator("#agency-name").inner_text().strip() == "Demo Police Department"
    assert page.evaluate("Object.values(sessionStorage)") == [stack.officer_key]
    assert page.evaluate("localStorage.length") == 0 and stack.officer_key not in page.evaluate("document.cookie")
    assert page.get_attribute("#camera-input", "capture") == "environment"
    assert page.get_attribute("#file-input", "accept") == "image/*,video/*,audio/*,application/pdf"

    page.fill("#case-ref", "CAP-BROWSER-1")
    page.set_input_files("#file-input", [str(photo), str(video)])
    assert page.locator(".file").count() == 2
    page.locator(".file .caption").nth(0).fill("Rear bumper, 9pm")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "capture-page-390x844.png"), full_page=True)
    page.click("#send")

    page.locator("#confirmation").wait_for(state="visible", timeout=60_000)
    assert "2 files added to case CAP-BROWSER-1" in page.locator("#confirm-count").inner_text()
    capture_id = page.locator("#confirm-reference").inner_text().split()[-1]
    page.screenshot(path=str(SCREENSHOTS / "capture-page-done-390x844.png"), full_page=True)
    assert problems.errors() == []

    officer = {"Authorization": f"Bearer {stack.officer_key}"}

    def both_verified() -> dict[str, Any] | None:
        found = requests.get(f"{stack.api_url}/agency/submissions/{capture_id}", headers=officer, timeout=30)
        body: dict[str, Any] = found.json()
        return body if found.ok and len(body["files"]) == 2 and all(f["sha256"] for f in body["files"]) else None

    capture = stack.wait_for(both_verified, timeout=60, what="both captured files to be verified")
    assert capture["origin"] == "agency_capture" and capture["status"] == "submitted"
    assert capture["case_ref"] == "CAP-BROWSER-1" and capture["review"]["state"] == "accepted"
    files = {f["name"]: f for f in capture["files"]}
    assert files["scene.jpg"]["sha256"] == hashlib.sha256(JPEG).hexdigest()
    assert files["bodycam.mp4"]["sha256"] == hashlib.sha256(MP4).hexdigest()
    assert files["scene.jpg"]["caption"] == "Rear bumper, 9pm"
    assert {f["status"] for f in capture["files"]} == {"verified"}


def test_a_refused_key_is_asked_for_again_and_not_kept(stack: Any, page: Any) -> None:  # noqa: F811
    problems = PageProblems(page)
    page.goto(f"{stack.api_url}/agency/capture")
    page.wait_for_selector("#key-form:not([hidden])")
    page.fill("#api-key", "cek_not-a-real-key")
    page.click("#use-key")
    page.wait_for_selector("#key-problem:not([hidden])")
    assert page.evaluate("sessionStorage.length") == 0
    assert page.locator("#form").is_hidden()
    # The refused key's 403 is the only console noise: Chromium logs failed fetches.
    assert [e for e in problems.errors() if "403" not in e] == []
