"""The HTTP edge: an unexpected failure is a bare 500 whose request id finds its traceback in the
structured log, and the citizen's error pages take their statuses from the one status table."""
from __future__ import annotations

import io
import json
from collections.abc import Iterator

import pytest

from chalicelib import observability, pages
from chalicelib.domain.errors import Gone, NotFound
from chalicelib.http import handled, status_for


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """What Powertools' logger writes, as JSON lines (its handler holds the stdout it started with)."""
    buffer = io.StringIO()
    handler = observability.logger.registered_handler
    previous = handler.setStream(buffer)  # type: ignore[attr-defined]
    try:
        yield buffer
    finally:
        handler.setStream(previous)  # type: ignore[attr-defined]
        observability.bind_request("")


@handled
def broken_view() -> None:
    raise RuntimeError("db password is hunter2")


def unhandled_records(buffer: io.StringIO) -> list[dict]:
    records = [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]
    return [r for r in records if r.get("message") == "unhandled error"]


def test_a_500_logs_its_traceback_under_the_request_id_the_client_got(log_lines):
    observability.bind_request("req-7f3a", method="GET", path="/x")
    response = broken_view()
    assert response.status_code == 500
    assert response.body["request_id"] == "req-7f3a" and "hunter2" not in json.dumps(response.body)
    [record] = unhandled_records(log_lines)
    assert record["level"] == "ERROR"
    assert record["request_id"] == "req-7f3a" and record["correlation_id"] == "req-7f3a"
    assert record["exception_name"] == "RuntimeError"
    assert "Traceback" in record["exception"] and "broken_view" in record["exception"]


def test_without_a_bound_request_the_500_and_its_log_share_a_fresh_id(log_lines):
    observability.bind_request("")
    response = broken_view()
    [record] = unhandled_records(log_lines)
    assert response.body["request_id"] and record["request_id"] == response.body["request_id"]
    assert "Traceback" in record["exception"]


@pytest.mark.parametrize(("code", "error"), [
    ("link_not_found", NotFound), ("link_expired", Gone), ("link_used", Gone), ("anything_else", NotFound)])
def test_error_pages_take_their_status_from_the_status_table(code, error):
    status, html = pages.error_page(code, "fr")
    assert status == status_for(error) and status in (404, 410)
    assert 'lang="fr"' in html


def test_an_unknown_static_asset_is_the_not_found_error_body():
    from chalice.test import Client

    import app

    with Client(app.app) as client:
        response = client.http.get("/static/nope.js")
    assert response.status_code == status_for(NotFound)
    assert json.loads(response.body) == {"code": "not_found", "message": "No such file."}


@pytest.mark.parametrize("raw", ["²", "٣", "１２", "3²", "-1", "1.5", " 7", "1234567"])
def test_numeric_query_parameters_take_ascii_digits_only(raw):
    from chalicelib.domain.errors import InvalidInput
    from chalicelib.http import int_param

    with pytest.raises(InvalidInput) as refused:
        int_param({"limit": raw}, "limit", 25)
    assert refused.value.code == "validation_error"
    assert int_param({"limit": "42"}, "limit", 25) == 42 and int_param({}, "limit", 25) == 25


@pytest.mark.parametrize("raw", [b"[" * 30000, b'{"a":' * 30000, b"[" * 30000 + b"]" * 30000])
def test_deeply_nested_json_is_a_clear_400_not_a_500(raw):
    from pydantic import BaseModel

    from chalicelib.domain.errors import InvalidInput, LimitExceeded
    from chalicelib.http import parse

    with pytest.raises((InvalidInput, LimitExceeded)) as refused:
        parse(BaseModel, raw)
    assert refused.value.code in ("malformed_json", "body_too_large")


def test_json_answers_and_errors_are_never_cached_sniffed_or_sent_over_plain_http():
    from chalicelib.domain.errors import NotFound
    from chalicelib.http import error_response, json_response

    for response in (json_response({"ok": True}), error_response(NotFound("No.", code="x"))):
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_a_dead_links_page_names_the_agency_and_how_to_reach_it_escaped():
    from datetime import datetime, timezone

    from chalicelib.domain.models import Agency

    agency = Agency(agency_id="a", name="Springfield <PD>", created_at=datetime(2020, 1, 1, tzinfo=timezone.utc),
                    contact_email="desk@springfield.example")
    status, html = pages.error_page("link_expired", "es", agency=agency)
    assert status == 410 and "Springfield &lt;PD&gt;" in html and "desk@springfield.example" in html
    assert "Este enlace lo envió" in html and "<PD>" not in html
    _, anonymous = pages.error_page("link_not_found", "en")
    assert "{{" not in anonymous


def _aws_error(code: str, reasons: list | None = None) -> Exception:
    from botocore.exceptions import ClientError

    answer: dict = {"Error": {"Code": code, "Message": "m"}}
    if reasons is not None:
        answer["CancellationReasons"] = reasons
    return ClientError(answer, "TransactWriteItems")


@pytest.mark.parametrize("error", [
    _aws_error("TransactionCanceledException", [{"Code": "None"}, {"Code": "TransactionConflict"}]),
    _aws_error("ThrottlingException"), _aws_error("ProvisionedThroughputExceededException")])
def test_aws_saying_not_now_is_a_503_to_retry_not_a_500(error, log_lines):
    """Two callers writing one item at the same instant: the loser is told to send it again."""
    @handled
    def view():
        raise error
    response = view()
    assert (response.status_code, response.body["code"], response.headers["Retry-After"]) == (503, "busy", "1")


@pytest.mark.parametrize("error", [
    _aws_error("TransactionCanceledException", [{"Code": "ConditionalCheckFailed"}]), _aws_error("AccessDenied")])
def test_aws_saying_no_is_still_a_500_naming_the_request(error, log_lines):
    @handled
    def view():
        raise error
    assert view().status_code == 500
