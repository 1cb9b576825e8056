"""The public transparency registry over HTTP on the local stack: a use case created and announced
through the operator routes appears in `GET /transparency.json` (no key, short cache) with its
effective date; a draft does not; `Accept: application/json` on `/transparency` gives the same JSON;
the page escapes HTML in the title."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
import requests

pytestmark = pytest.mark.e2e


def use_case(stack, title: str, *, announce: bool) -> str:
    op = stack.agency(stack.local.seed.operator_key)
    api = f"{stack.api_url}/operator/program/use-cases"
    made = op.post(api, json={"title": title, "purpose": "Improve automatic face blurring",
                              "data_types": ["video"], "technique": "de-identification", "retention": "90 days",
                              "practices": "Access is logged"})
    assert made.status_code == 201, made.text
    use_case_id: str = made.json()["use_case_id"]
    if announce:
        assert op.post(f"{api}/{use_case_id}/announce").status_code == 200
    return use_case_id


def test_announced_use_cases_are_public_and_drafts_are_not(stack):
    tag = uuid.uuid4().hex[:8]
    shown = use_case(stack, f"Blurring <script>alert('{tag}')</script>", announce=True)
    hidden = use_case(stack, f"Draft {tag}", announce=False)

    got = requests.get(f"{stack.api_url}/transparency.json", timeout=10)
    assert got.status_code == 200, got.text
    assert got.headers["Cache-Control"] == "public, max-age=60"
    cases = {c["use_case_id"]: c for c in got.json()["use_cases"]}
    assert hidden not in cases and f"Draft {tag}" not in got.text
    effective = (datetime.now(timezone.utc).date() + timedelta(days=30)).isoformat()
    mine = cases[shown]
    assert (mine["state"], mine["applying"], mine["upcoming"]) == ("announced", None, 1)
    assert [(v["version"], v["title"], v["effective_on"], v["data_types"]) for v in mine["versions"]] == [
        (1, f"Blurring <script>alert('{tag}')</script>", effective, ["video"])]
    assert "created_by" not in mine["versions"][0]

    by_accept = requests.get(f"{stack.api_url}/transparency", headers={"Accept": "application/json"}, timeout=10)
    assert shown in {c["use_case_id"] for c in by_accept.json()["use_cases"]}

    page = requests.get(f"{stack.api_url}/transparency", timeout=10)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert f"Blurring &lt;script&gt;alert(&#x27;{tag}&#x27;)&lt;/script&gt;" in page.text
    assert f"<script>alert('{tag}')" not in page.text and f"Draft {tag}" not in page.text
