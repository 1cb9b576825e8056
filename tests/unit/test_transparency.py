"""The public transparency registry (services/program.transparency) over the in-memory repositories
and a fixed clock: drafts never shown (a draft-only use case, a draft edit above an announced
version), versions oldest first, announced and effective dates, applying/upcoming, retired
versions kept in the history, no operator key ids, HTML kept as text in the data."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from chalicelib.domain.models import OPERATOR_AGENCY, Principal, Role
from chalicelib.domain.program_commands import UseCaseBody
from chalicelib.services import program
from chalicelib.services import program_operator as operator

NOW = datetime(2021, 9, 1, 12, tzinfo=timezone.utc)
OP = Principal(agency_id=OPERATOR_AGENCY, role=Role.OPERATOR, key_id="op1")
BODY = {"title": "Redaction <script>alert(1)</script>", "purpose": "Train face blurring", "data_types": ["video"],
        "technique": "de-identification", "retention": "90 days", "practices": "access logged"}


def body(**changes):
    return UseCaseBody.model_validate({**BODY, **changes})


def test_only_announced_versions_are_public_oldest_first_with_their_dates(deps):
    deps.clock.at = NOW
    hidden = operator.create_use_case(OP, body(title="Secret draft"), deps=deps)
    shown = operator.create_use_case(OP, body(), deps=deps)
    assert program.transparency(deps=deps)["use_cases"] == []

    operator.announce_use_case(OP, shown.use_case_id, deps=deps)
    deps.clock.at = NOW + timedelta(days=30)
    operator.activate_use_case(OP, shown.use_case_id, deps=deps)
    deps.clock.at = NOW + timedelta(days=40)
    operator.edit_use_case(OP, shown.use_case_id, body(data_types=["video", "audio"]), deps=deps)  # material: draft v2
    operator.edit_use_case(OP, shown.use_case_id, body(data_types=["video", "audio"], practices="x"), deps=deps)
    operator.announce_use_case(OP, shown.use_case_id, deps=deps)  # v3 announced on day 40

    public = program.transparency(deps=deps)
    assert [u["use_case_id"] for u in public["use_cases"]] == [shown.use_case_id]
    assert hidden.use_case_id not in str(public)
    case = public["use_cases"][0]
    assert (case["applying"], case["upcoming"], case["state"]) == (1, 3, "announced")
    assert [v["version"] for v in case["versions"]] == [1, 3]  # the v2 draft is not public
    first, third = case["versions"]
    assert (first["state"], first["announced_at"][:10], first["effective_on"], first["activated_at"][:10]) == (
        "active", "2021-09-01", "2021-10-01", "2021-10-01")
    assert (third["state"], third["announced_at"][:10], third["effective_on"]) == ("announced", "2021-10-11",
                                                                                  "2021-11-10")
    assert third["data_types"] == ["video", "audio"] and third["practices"] == "x"
    assert first["title"] == BODY["title"]  # stored and served as text; escaping is the page's job
    assert set(first) == set(program.PUBLIC_FIELDS) and "created_by" not in first
    assert public["notice_days"] == 30


def test_retired_versions_stay_in_the_history_and_order_is_by_first_announcement(deps):
    deps.clock.at = NOW
    later = operator.create_use_case(OP, body(title="B"), deps=deps)
    earlier = operator.create_use_case(OP, body(title="A"), deps=deps)
    operator.announce_use_case(OP, earlier.use_case_id, deps=deps)
    deps.clock.at = NOW + timedelta(days=1)
    operator.announce_use_case(OP, later.use_case_id, deps=deps)
    operator.edit_use_case(OP, later.use_case_id, body(title="B", purpose="Other"), deps=deps)  # draft v2
    operator.retire_use_case(OP, later.use_case_id, deps=deps)

    cases = program.transparency(deps=deps)["use_cases"]
    assert [c["title"] for c in cases] == ["A", "B"]
    retired = cases[1]
    assert (retired["state"], retired["applying"], retired["upcoming"]) == ("retired", None, None)
    assert [(v["version"], v["state"], v["retired_at"][:10]) for v in retired["versions"]] == [
        (1, "retired", "2021-09-02")]


def test_the_page_escapes_every_field_and_speaks_three_languages(deps):
    from chalicelib import pages

    deps.clock.at = NOW
    made = operator.create_use_case(OP, body(purpose="<img src=x onerror=alert(2)>", practices="a & b"), deps=deps)
    operator.announce_use_case(OP, made.use_case_id, deps=deps)
    data = program.transparency(deps=deps)
    page = pages.transparency_page(data, "en")
    assert "<script>alert" not in page and "<img src=x" not in page and "<script" not in page
    assert "Redaction &lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(2)&gt;" in page and "a &amp; b" in page
    assert "2021-10-01" in page and "Version 1" in page and 'lang="en"' in page
    assert 'lang="es"' in pages.transparency_page(data, "es") and "Historial de versiones" in pages.transparency_page(
        data, "es")
    assert "Historique des versions" in pages.transparency_page(data, "fr")
    assert "Historial" not in pages.transparency_page(data, "xx")  # unknown: English
    assert "No use has been announced yet." in pages.transparency_page({"use_cases": [], "notice_days": 30})
