"""Large files from the upload page in headless Chromium, in parts, over a connection that fails.

The session stack hands the browser S3 URLs that go through a TCP relay (infra/relay.py) and sends
files over 6 MiB in 5 MiB parts. Cutting the relay resets the page's connections to S3 as a lost
mobile network would (the browser's own offline switch does not cut loopback)."""
# ruff: noqa: F811 - `page` is the shared browser fixture, imported and used by name
from __future__ import annotations

import base64
import hashlib
import os
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.e2e.test_citizen_page_browser import (  # noqa: F401 - the browser fixtures
    I18N,
    MP4,
    PageProblems,
    browser,
    create_link,
    officer_headers,
    open_upload_page,
    page,
)

pytestmark = pytest.mark.e2e
SHOTS = Path(__file__).resolve().parents[2] / ".local"
SIZE = 23 * 1024 * 1024 + 12345  # five parts, the last one short
# Many more parts than the page sends at once (6): when the first is held, the rest cannot all land
# (and the file be assembled, leaving no parts to list) before the test freezes the connection.
RELOAD_SIZE = 60 * 1024 * 1024 + 12345


def big_video(path: Path, size: int = SIZE) -> bytes:
    data = MP4 + os.urandom(size - len(MP4))
    path.write_bytes(data)
    return data


def sent_fraction(page: Any) -> float:
    return float(page.evaluate("() => { const b = document.querySelector('#overall-progress');"
                               " return b.max > 1 ? b.value / b.max : 0; }"))


def wait_until_sent(stack: Any, page: Any, fraction: float) -> None:
    stack.wait_for(lambda: sent_fraction(page) >= fraction, timeout=60, what=f"{fraction:.0%} sent")


def fast_retries(page: Any) -> None:
    page.evaluate("() => { CitizenTransfer.cfg.stallMs = 3000; CitizenTransfer.cfg.backoffMs = [300, 600, 1000]; }")


def stored_files(stack: Any, link: dict[str, Any]) -> list[dict[str, Any]]:
    response = requests.get(f"{stack.api_url}/agency/submissions/{link['link_id']}",
                            headers=officer_headers(stack), timeout=30)
    assert response.status_code == 200, response.text
    files: list[dict[str, Any]] = response.json()["files"]
    return files


def stored_bytes(url: str) -> bytes:
    response = requests.get(url, timeout=60)
    assert response.status_code == 200
    return response.content


def confirmed(page: Any) -> str:
    page.locator("#confirmation").wait_for(state="visible", timeout=120_000)
    text: str = page.locator("#confirmation").inner_text()
    return text


def test_a_large_file_survives_a_cut_connection_and_arrives_byte_identical(stack: Any, page: Any,
                                                                            tmp_path: Path) -> None:
    link = create_link(stack, "CASE-RESUME-1")
    video = tmp_path / "parade.mp4"
    data = big_video(video)
    problems = PageProblems(page)
    open_upload_page(page, link["url"])
    fast_retries(page)
    page.set_input_files("#file-input", [str(video)])
    page.click("#send")
    wait_until_sent(stack, page, 0.3)
    stack.relay.cut()  # every connection to S3 reset, new ones refused
    time.sleep(2)
    assert sent_fraction(page) < 1
    page.screenshot(path=str(SHOTS / "resumable-cut.png"))
    stack.relay.restore()
    text = confirmed(page)
    assert I18N["en"]["confirm.file_verified"].replace("{name}", "parade.mp4") in text
    page.screenshot(path=str(SHOTS / "resumable-confirmed.png"), full_page=True)

    (stored,) = stored_files(stack, link)  # exactly one file record
    assert stored["status"] == "verified" and stored["size"] == SIZE
    assert stored["sha256"] == hashlib.sha256(data).hexdigest() == stored["client_sha256"]
    assert hashlib.sha256(stored_bytes(stored["download_url"])).hexdigest() == stored["sha256"]
    assert problems.csp_violations() == []


@pytest.mark.parametrize("worker", [True, False], ids=["in-a-worker", "no-worker"])
def test_each_part_carries_its_own_sha256_hashed_off_the_page_thread_when_it_can(
    stack: Any, page: Any, tmp_path: Path, worker: bool,
) -> None:
    """One pass of hashing gives both the part checksums S3 checks and the whole file's hash; in a
    Web Worker when the browser starts one, else on the page's own thread, never skipped."""
    if not worker:
        page.add_init_script("delete window.Worker;")
    workers: list[str] = []
    page.on("worker", lambda started: workers.append(started.url))
    puts: dict[int, str | None] = {}

    def seen(request: Any) -> None:
        if request.method == "PUT" and "partNumber=" in request.url:
            number = int(request.url.split("partNumber=")[1].split("&")[0])
            puts[number] = request.all_headers().get("x-amz-checksum-sha256")
    page.on("request", seen)
    link = create_link(stack, f"CASE-HASH-{int(worker)}")
    video = tmp_path / "march.mp4"
    data = big_video(video)
    problems = PageProblems(page)
    open_upload_page(page, link["url"])
    page.set_input_files("#file-input", [str(video)])
    page.click("#send")
    confirmed(page)

    part = 5 * 1024 * 1024  # the session stack's part size
    expected = {n + 1: base64.b64encode(hashlib.sha256(data[n * part:(n + 1) * part]).digest()).decode()
                for n in range(-(-SIZE // part))}
    assert puts == expected
    assert [url.rsplit("/", 1)[-1] for url in workers] == (["citizen-hashing.js"] if worker else [])
    (stored,) = stored_files(stack, link)
    assert stored["status"] == "verified", stored.get("reject_code")
    assert stored["client_sha256"] == hashlib.sha256(data).hexdigest()
    assert problems.csp_violations() == []


def test_after_a_reload_the_same_file_picked_again_resumes_from_the_parts_s3_holds(
    stack: Any, page: Any, tmp_path: Path,
) -> None:
    link = create_link(stack, "CASE-RESUME-2")
    video = tmp_path / "storm.mp4"
    data = big_video(video, RELOAD_SIZE)
    page.on("dialog", lambda dialog: dialog.accept())  # "leave the page while sending?"
    open_upload_page(page, link["url"])
    fast_retries(page)
    page.set_input_files("#file-input", [str(video)])
    page.click("#send")
    token = link["url"].rsplit("/", 1)[-1]

    def some_parts_held() -> dict[str, Any] | None:
        files = requests.get(f"{stack.api_url}/c/{token}/files", timeout=30).json()["files"]
        parts = files and requests.get(f"{stack.api_url}/c/{token}/uploads/{files[0]['file_id']}/parts",
                                       timeout=30).json()
        return parts if parts and parts["parts"] else None
    stack.wait_for(some_parts_held, timeout=60, what="a first part in S3")
    stack.relay.freeze()  # so the rest cannot finish before the reload
    page.reload()
    page.wait_for_selector("#form:not([hidden])")
    stack.relay.cut(refuse=False)  # what the reload left half-sent is gone
    stack.relay.restore()
    note = page.locator("#resume-note")
    stack.wait_for(note.is_visible, timeout=10, what="the resume note")
    assert "storm.mp4" in note.inner_text()
    (declared,) = requests.get(f"{stack.api_url}/c/{token}/files", timeout=30).json()["files"]
    held = requests.get(f"{stack.api_url}/c/{token}/uploads/{declared['file_id']}/parts", timeout=30).json()
    assert held["parts"] and declared["status"] == "awaiting_upload"
    page.screenshot(path=str(SHOTS / "resumable-reloaded.png"), full_page=True)

    before = stack.relay.bytes_up
    fast_retries(page)
    page.set_input_files("#file-input", [str(video)])
    page.click("#send")
    confirmed(page)
    resent = stack.relay.bytes_up - before
    assert resent < RELOAD_SIZE - sum(p["size"] for p in held["parts"]) + 6 * 1024 * 1024  # never from zero

    (stored,) = stored_files(stack, link)  # the same file, not a second one
    assert stored["file_id"] == declared["file_id"] and stored["status"] == "verified"
    assert stored["sha256"] == hashlib.sha256(data).hexdigest()


def test_a_file_of_a_refused_type_is_listed_as_refused_and_never_sent(stack: Any, page: Any,
                                                                      tmp_path: Path) -> None:
    link = create_link(stack, "CASE-RESUME-3")
    notes, blob = tmp_path / "notes.txt", tmp_path / "IMG_0001"
    notes.write_text("not evidence")
    blob.write_bytes(MP4)  # no extension, no type: sniffed by its first bytes, and accepted
    open_upload_page(page, link["url"])
    assert "MP4" in page.locator("#accepted").inner_text()
    page.set_input_files("#file-input", [str(notes), str(blob)])
    messages = page.locator("#pick-messages li")
    page.locator(".file").first.wait_for()  # picking is asynchronous: the extensionless file is sniffed
    assert messages.count() == 1 and "notes.txt" in messages.inner_text()
    assert page.locator(".file").count() == 1
    page.screenshot(path=str(SHOTS / "resumable-refused.png"), full_page=True)
    token = link["url"].rsplit("/", 1)[-1]
    assert requests.get(f"{stack.api_url}/c/{token}/files", timeout=30).json()["files"] == []


def test_the_citizen_can_switch_the_language(stack: Any, page: Any) -> None:
    link = create_link(stack, "CASE-RESUME-4")
    open_upload_page(page, link["url"])
    page.select_option("#lang", "es")
    assert page.evaluate("document.documentElement.lang") == "es"
    assert page.locator("h1#intro-heading").inner_text() == I18N["es"]["intro.heading"]
    page.screenshot(path=str(SHOTS / "resumable-spanish.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_a_stalled_connection_is_noticed_and_an_offline_spell_waits_for_the_network(
    stack: Any, page: Any, tmp_path: Path,
) -> None:
    link = create_link(stack, "CASE-RESUME-5")
    video = tmp_path / "flood.mp4"
    data = big_video(video)
    open_upload_page(page, link["url"])
    fast_retries(page)  # a part with no byte moving for 3 s is aborted and sent again
    page.set_input_files("#file-input", [str(video)])
    page.click("#send")
    wait_until_sent(stack, page, 0.2)
    stack.relay.freeze()  # connections stay open, nothing moves: a stalled mobile link
    stack.wait_for(lambda: "is-retrying" in page.locator(".file").get_attribute("class"), timeout=30,
                   what="the page to notice the stall")
    page.context.set_offline(True)
    stack.wait_for(lambda: "is-offline" in page.locator(".file").get_attribute("class"), timeout=30,
                   what="the page to wait for the network")
    page.screenshot(path=str(SHOTS / "resumable-offline.png"), full_page=True)
    stack.relay.restore()
    page.context.set_offline(False)
    confirmed(page)
    (stored,) = stored_files(stack, link)
    assert stored["status"] == "verified" and stored["sha256"] == hashlib.sha256(data).hexdigest()
