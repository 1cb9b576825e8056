"""Change notices, feedback and the notice-period settings over HTTP on the local stack: a subscriber
gets the confirmation email (captured from SES) and nothing else until its link is used; then one
notice per change, however often the run repeats (the API's on-demand run and the scheduled handler
alike); its unsubscribe link opens a page whose button (or a mail client's one-click post) stops the
next ones, to that address whichever subscription they came by. Feedback is stored as sent and listed for
operators; agency keys get 403; bad input gets a 4xx, never a 500."""
from __future__ import annotations

import argparse
import re
import uuid
from datetime import date, timedelta

import pytest
import requests

from chalicelib import cli
from infra.local_stack import scheduled_event

pytestmark = pytest.mark.e2e
USE_CASE = {"title": "Notice <b>test</b>", "purpose": "Improve search", "data_types": ["metadata"],
            "technique": "aggregation", "retention": "30 days"}
JSON = {"Accept": "application/json"}


def mails(stack, email):
    return [m for m in stack.emails() if m["to"] == [email]]


def token(text):
    found = re.search(r"token=([A-Za-z0-9_-]{43})", text)
    assert found, text
    return found.group(1)


def announce(stack, op, **changes):
    made = op.post(f"{stack.api_url}/operator/program/use-cases", json=USE_CASE | changes)
    assert made.status_code == 201, made.text
    use_case = made.json()["use_case_id"]
    assert op.post(f"{stack.api_url}/operator/program/use-cases/{use_case}/announce").status_code == 200
    return use_case


def run(op, stack):
    ran = op.post(f"{stack.api_url}/operator/program/notices/run")
    assert ran.status_code == 200, ran.text
    return ran.json()


def test_subscribe_confirm_notify_once_and_unsubscribe(stack):
    import app

    email, api = f"reader-{uuid.uuid4().hex[:8]}@example.org", stack.api_url
    op = stack.agency(stack.local.seed.operator_key)
    asked = requests.post(f"{api}/transparency/subscriptions", json={"email": email, "language": "fr"})
    assert (asked.status_code, asked.json()["state"]) == (202, "pending"), asked.text
    (confirmation,) = mails(stack, email)
    link = token(confirmation["body"])
    assert f"{api}/transparency/confirm?token={link}" in confirmation["body"]

    announce(stack, op, title="Before confirmation")
    run(op, stack)
    assert len(mails(stack, email)) == 1  # nothing but the confirmation before the link is used

    page = requests.get(f"{api}/transparency/confirm", params={"token": link})  # opening it: a button, no change
    assert page.status_code == 200 and "text/html" in page.headers["Content-Type"], page.text
    assert f'action="confirm?token={link}"' in page.text and "form-action 'self'" in page.headers[
        "Content-Security-Policy"]
    looked = requests.get(f"{api}/transparency/confirm", params={"token": link}, headers=JSON)
    assert (looked.status_code, looked.json()) == (200, {"state": "pending"})
    pressed = requests.post(f"{api}/transparency/confirm?token={link}", data={"language": "fr"})
    assert pressed.status_code == 200 and "Abonnement confirmé" in pressed.text, pressed.text
    again = requests.post(f"{api}/transparency/confirm", params={"token": link}, headers=JSON)
    assert (again.status_code, again.json()) == (200, {"state": "confirmed"})

    announce(stack, op, title="After <i>confirmation</i>")
    first = run(op, stack)
    second = app.program_notices(scheduled_event("program_notices"), None)  # the scheduled handler, same code
    notices = mails(stack, email)[1:]
    assert len(notices) == 1 and first["sent"] >= 1 and second["sent"] == 0 and second["done_before"] >= 1
    assert "After <i>confirmation</i>" in notices[0]["body"]
    again = argparse.Namespace(command="run-schedule", name="program-notices", now=None, stage="local")
    assert cli.COMMANDS["run-schedule"](again) == 0  # ./dev cli run-schedule program-notices: the same code
    assert len(mails(stack, email)) == 2

    stop = token(notices[0]["body"].split("unsubscribe?")[1])
    looked = requests.get(f"{api}/transparency/unsubscribe", params={"token": stop}, headers=JSON)
    assert (looked.status_code, looked.json()) == (200, {"state": "confirmed"})  # opening the link changes nothing
    page = requests.get(f"{api}/transparency/unsubscribe", params={"token": stop})  # a mail scanner's fetch
    assert page.status_code == 200 and f'action="unsubscribe?token={stop}"' in page.text, page.text
    assert "form-action 'self'" in page.headers["Content-Security-Policy"]
    one_click = requests.post(f"{api}/transparency/unsubscribe?token={stop}",
                              data={"List-Unsubscribe": "One-Click"})  # RFC 8058, as mail clients post it
    assert one_click.status_code == 200 and "text/html" in one_click.headers["Content-Type"], one_click.text
    left = requests.get(f"{api}/transparency/unsubscribe", params={"token": stop}, headers=JSON)
    assert (left.status_code, left.json()) == (200, {"state": "unsubscribed"})
    announce(stack, op, title="After unsubscribing")
    run(op, stack)
    assert len(mails(stack, email)) == 2
    for method in ("GET", "POST"):
        refused = requests.request(method, f"{api}/transparency/confirm", params={"token": link}, headers=JSON)
        assert (refused.status_code, refused.json()["code"]) == (409, "subscription_ended")


def test_an_address_subscribed_twice_hears_nothing_more_once_it_unsubscribes(stack):
    """Two subscriptions of one address, both confirmed: one notice per change (one mailbox), and the
    page's button on one notice's link stops the notices of both."""
    email, api = f"twice-{uuid.uuid4().hex[:8]}@example.org", stack.api_url
    op = stack.agency(stack.local.seed.operator_key)
    for _ in range(2):
        assert requests.post(f"{api}/transparency/subscriptions", json={"email": email}).status_code == 202
    links = [token(m["body"]) for m in mails(stack, email)]
    for link in links:
        assert requests.post(f"{api}/transparency/confirm", params={"token": link}, headers=JSON).json() == {
            "state": "confirmed"}
    announce(stack, op, title="Told once")
    run(op, stack)
    notices = mails(stack, email)[2:]
    assert [("Told once" in n["body"]) for n in notices] == [True]
    stop = token(notices[0]["body"].split("unsubscribe?")[1])
    pressed = requests.post(f"{api}/transparency/unsubscribe?token={stop}", data={"language": "en"})  # the button
    assert pressed.status_code == 200 and "Unsubscribed" in pressed.text, pressed.text
    announce(stack, op, title="Not told")
    ran = run(op, stack)
    assert len(mails(stack, email)) == 3 and ran["opted_out"] >= 1


@pytest.mark.parametrize("path", ["confirm", "unsubscribe"])
@pytest.mark.parametrize("value", [None, "", "short", "A" * 43, "%3Cscript%3E" * 4])
def test_unknown_or_malformed_tokens_are_404(stack, path, value):
    params = {} if value is None else {"token": value}
    for method in ("GET", "POST"):
        answer = requests.request(method, f"{stack.api_url}/transparency/{path}", params=params, headers=JSON)
        assert (answer.status_code, answer.json()["code"]) == (404, "subscription_not_found")
        page = requests.request(method, f"{stack.api_url}/transparency/{path}", params=params)
        assert page.status_code == 404 and "text/html" in page.headers["Content-Type"]


@pytest.mark.parametrize("body,status", [
    ({"email": "not-an-address"}, 400), ({"email": "a@example.org", "extra": 1}, 400), ({}, 400),
    ({"email": "a@example.org", "language": "de"}, 400), ({"email": ["a@example.org"]}, 400),
    ({"email": "a@example.org" + "x" * 20_000}, 413)])
def test_bad_subscriptions_are_refused(stack, body, status):
    answer = requests.post(f"{stack.api_url}/transparency/subscriptions", json=body)
    assert answer.status_code == status and answer.json()["code"], answer.text


def test_feedback_by_json_and_by_form_is_stored_as_text_and_listed_for_operators(stack):
    api, op = stack.api_url, stack.agency(stack.local.seed.operator_key)
    use_case = announce(stack, op, title="Feedback target")
    marker = uuid.uuid4().hex
    sent = requests.post(f"{api}/transparency/feedback",
                         json={"message": f"<script>alert('{marker}')</script>", "use_case_id": use_case})
    assert sent.status_code == 201, sent.text
    form = requests.post(f"{api}/transparency/feedback",
                         data={"message": f"form {marker} <b>bold</b>", "email": "", "use_case_id": "",
                               "language": "es"})
    assert form.status_code == 201 and "text/html" in form.headers["Content-Type"] and "Gracias" in form.text
    listed = op.get(f"{api}/operator/program/feedback", params={"limit": 100}).json()["items"]
    mine = [f["message"] for f in listed if marker in f["message"]]
    assert mine == [f"form {marker} <b>bold</b>", f"<script>alert('{marker}')</script>"]  # newest first, as sent
    assert op.get(f"{api}/operator/program/feedback", params={"limit": "x"}).status_code == 400
    assert op.get(f"{api}/operator/program/feedback", params={"cursor": "../x"}).status_code == 400


@pytest.mark.parametrize("kwargs,status,code", [
    ({"json": {"message": ""}}, 400, "validation_error"),
    ({"json": {"message": "x" * 2001}}, 400, "validation_error"),
    ({"json": {"message": "hi", "email": "nope"}}, 400, "validation_error"),
    ({"json": {"message": "hi", "use_case_id": "0" * 26}}, 404, "use_case_not_found"),
    ({"json": {"message": "hi", "sneaky": True}}, 400, "validation_error"),
    ({"data": "message=a&message=b", "headers": {"Content-Type": "application/x-www-form-urlencoded",
                                                 **JSON}}, 400, "malformed_form"),
    ({"data": b"message=\xff\xfe", "headers": {"Content-Type": "application/x-www-form-urlencoded", **JSON}},
     400, "malformed_form"),
    ({"data": "{not json", "headers": {"Content-Type": "application/json"}}, 400, "malformed_json"),
    ({"json": {"message": "x" * 20_000}}, 413, "body_too_large"),
    ({"files": {"message": (None, "multipart")}}, 415, "unsupported_media_type"),
    ({"data": "message=hi", "headers": {"Content-Type": "text/plain"}}, 415, "unsupported_media_type"),
])
def test_bad_feedback_is_refused(stack, kwargs, status, code):
    answer = requests.post(f"{stack.api_url}/transparency/feedback", **kwargs)
    assert (answer.status_code, answer.json()["code"]) == (status, code), answer.text
    assert answer.json()["message"]


def test_a_bad_form_post_gets_a_page_with_the_problem(stack):
    answer = requests.post(f"{stack.api_url}/transparency/feedback", data={"message": "x" * 2001})
    assert answer.status_code == 400 and "text/html" in answer.headers["Content-Type"]


def test_the_notice_period_is_settable_by_operators_never_under_30(stack):
    api, op = f"{stack.api_url}/operator/program/settings", stack.agency(stack.local.seed.operator_key)
    short = op.put(api, json={"notice_days": 29, "terms_from": "2021-04-01"})
    assert (short.status_code, short.json()["code"]) == (400, "notice_too_short")
    for bad in ({"notice_days": "45", "terms_from": "2021-04-01"}, {"notice_days": 45},
                {"notice_days": 45, "terms_from": "someday"}, {"notice_days": 45, "terms_from": "2021-04-01", "x": 1}):
        assert op.put(api, json=bad).status_code == 400
    try:
        changed = op.put(api, json={"notice_days": 45, "terms_from": "2021-04-01"})
        assert (changed.status_code, changed.json()["notice_days"]) == (200, 45), changed.text
        assert op.get(api).json()["notice_days"] == 45
        made = announce(stack, op, title="Forty-five days")
        versions = [u for u in op.get(f"{stack.api_url}/operator/program/use-cases").json()["items"]
                    if u["use_case_id"] == made][0]["versions"]
        announced_on = date.fromisoformat(versions[0]["announced_at"][:10])
        assert versions[0]["effective_on"] == (announced_on + timedelta(days=45)).isoformat()
        assert requests.get(f"{stack.api_url}/transparency.json").json()["notice_days"] == 45
    finally:
        assert op.put(api, json={"notice_days": 30, "terms_from": "2021-04-01"}).status_code == 200


@pytest.mark.parametrize("method,path", [("GET", "/operator/program/feedback"), ("GET", "/operator/program/settings"),
                                         ("PUT", "/operator/program/settings"),
                                         ("POST", "/operator/program/notices/run")])
def test_agency_keys_cannot_reach_the_operator_routes(stack, method, path):
    for key in (stack.officer_key, stack.admin_key):
        answer = stack.agency(key).request(method, f"{stack.api_url}{path}",
                                           json={"notice_days": 30, "terms_from": "2021-04-01"})
        assert answer.status_code == 403, answer.text
