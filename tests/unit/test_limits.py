"""The one rate limiter: fixed windows aligned on the clock, counted before any work, a clear 429."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from chalicelib.adapters.memory_limits import MemoryRateCounter
from chalicelib.config import load_settings
from chalicelib.domain.access_requests import RequestStatus
from chalicelib.domain.errors import RateLimited
from chalicelib.domain.limits import Cap, Check, RateCaps, Rule, retry_after, window_start
from chalicelib.http import error_response
from chalicelib.services import limits
from tests.fakes import FixedClock, make_deps

AT = datetime(2024, 7, 4, 12, 0, 30, tzinfo=timezone.utc)


def check(limit=3, seconds=60, cost=1, scope="client:203.0.113.9", rule=Rule.CITIZEN_WRITE):
    return Check(rule=rule, scope=scope, cap=Cap(limit=limit, seconds=seconds), cost=cost)


def test_windows_are_aligned_on_the_clock_so_every_caller_agrees():
    assert window_start(AT, 60) == int(datetime(2024, 7, 4, 12, 0, tzinfo=timezone.utc).timestamp())
    assert retry_after(AT, 60) == 30
    assert retry_after(datetime(2024, 7, 4, 12, 0, 59, 500000, tzinfo=timezone.utc), 60) == 1


def test_requests_within_the_cap_pass_and_the_next_is_refused_with_the_seconds_to_wait():
    deps = make_deps(FixedClock(AT))
    for _ in range(3):
        limits.enforce(check(), deps=deps)
    with pytest.raises(RateLimited) as refused:
        limits.enforce(check(), deps=deps)
    assert refused.value.retry_after == 30
    assert refused.value.details == {"rule": "citizen_write", "limit": 3, "window_seconds": 60}


def test_a_new_window_starts_afresh():
    clock = FixedClock(AT)
    deps = make_deps(clock)
    for _ in range(3):
        limits.enforce(check(), deps=deps)
    clock.advance(seconds=30)
    limits.enforce(check(), deps=deps)


def test_each_client_and_each_rule_has_its_own_count():
    deps = make_deps(FixedClock(AT))
    for _ in range(3):
        limits.enforce(check(), deps=deps)
    limits.enforce(check(scope="client:198.51.100.1"), deps=deps)
    limits.enforce(check(rule=Rule.CITIZEN_READ), deps=deps)


def test_a_refused_request_adds_nothing_so_a_smaller_one_may_still_fit():
    deps = make_deps(FixedClock(AT))
    limits.enforce(check(limit=10, cost=6, rule=Rule.PORTAL_BYTES), deps=deps)
    with pytest.raises(RateLimited):
        limits.enforce(check(limit=10, cost=5, rule=Rule.PORTAL_BYTES), deps=deps)
    limits.enforce(check(limit=10, cost=4, rule=Rule.PORTAL_BYTES), deps=deps)


def test_a_cost_over_the_whole_cap_is_refused_without_counting():
    counter = MemoryRateCounter()
    assert counter.take("k", 11, 10, 0) is False
    assert counter.counts == {}


def test_the_first_check_over_its_cap_stops_the_rest():
    deps = make_deps(FixedClock(AT))
    limits.enforce(check(limit=1, scope="portal:p"), deps=deps)
    calls = deps.counters.calls
    with pytest.raises(RateLimited):
        limits.enforce(check(limit=1, scope="portal:p"), check(limit=5, scope="portal:p:client:x"), deps=deps)
    assert deps.counters.calls == calls + 1


def test_a_refusal_is_a_429_with_retry_after_and_the_error_shape():
    response = error_response(RateLimited("Too many requests.", retry_after=42))
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "42"
    assert response.body["code"] == "rate_limited"


BASE_ENV = {"APP_STAGE": "prod", "TABLE_NAME": "t", "AUDIT_TABLE_NAME": "a", "AUDIT_INBOX_TABLE_NAME": "i",
            "EVIDENCE_BUCKET": "b", "EXPORT_QUEUE_NAME": "q", "EMAIL_SENDER": "s@example.org"}


def test_caps_have_sensible_defaults_and_are_configurable_and_scalable():
    assert load_settings(BASE_ENV).rate_caps() == RateCaps()
    tuned = load_settings({**BASE_ENV, "RATE_ACCESS_REQUESTS_PER_HOUR": "3", "RATE_LIMIT_SCALE": "10"}).rate_caps()
    assert tuned.access_requests == Cap(limit=30, seconds=3600)
    assert tuned.citizen_writes == Cap(limit=600, seconds=60)


def _client_with(deps):
    from chalice.test import Client

    import app
    from chalicelib import bootstrap

    bootstrap.use(deps)
    return Client(app.app)


SMALL = RateCaps(access_requests=Cap(limit=2, seconds=3600), citizen_reads=Cap(limit=2, seconds=60),
                 citizen_writes=Cap(limit=1, seconds=60), portal_pages=Cap(limit=2, seconds=60))


def test_the_public_routes_answer_429_over_their_caps_before_doing_any_work():
    from chalicelib import bootstrap

    deps = make_deps(FixedClock(AT), rate_caps=SMALL)
    body = {"organisation": "Springfield Health", "organisation_type": "public_health", "country": "US",
            "contact_name": "Dr Hibbert", "contact_email": "hibbert@springfield.example"}
    try:
        with _client_with(deps) as client:
            sent = [client.http.post("/access-requests", headers={"Content-Type": "application/json"},
                                     body=json.dumps({**body, "organisation": f"Clinic {n}"})) for n in range(3)]
            reads = [client.http.get("/c/" + "x" * 43 + "/session").status_code for _ in range(3)]
            writes = [client.http.post("/c/" + "x" * 43 + "/complete", headers={"Content-Type": "application/json"},
                                       body="{}").status_code for _ in range(2)]
            pages = [client.http.get("/p/no-such-portal").status_code for _ in range(3)]
    finally:
        bootstrap.use(None)
    assert [r.status_code for r in sent] == [201, 201, 429]
    assert sent[2].headers["Retry-After"] == "3570"  # to the top of the hour: AT is 12:00:30
    assert json.loads(sent[2].body)["code"] == "rate_limited"
    assert len(deps.access_requests.list(RequestStatus.PENDING, limit=10, cursor=None).items) == 2  # nothing done
    assert reads == [404, 404, 429] and writes == [404, 429] and pages == [404, 404, 429]


def test_every_per_client_rule_has_its_cap():
    per_portal = {Rule.PORTAL_SESSIONS, Rule.PORTAL_FILES, Rule.PORTAL_BYTES}
    caps = RateCaps()
    assert all(isinstance(caps.of(rule), Cap) for rule in set(Rule) - per_portal)


def test_part_signing_is_capped_by_the_parts_asked_for_not_by_requests():
    """A request may ask for up to 100 part URLs: the cap counts each part, and a garbage body still
    counts as one. One counter write a request, whatever it asks for (the page signs parts while it
    sends others: each write is a DynamoDB call on the path of the upload)."""
    from chalicelib import bootstrap

    deps = make_deps(FixedClock(AT), rate_caps=RateCaps(citizen_parts=Cap(limit=10, seconds=60)))
    url = "/c/" + "x" * 43 + "/uploads/" + "0" * 26 + "/parts"

    def ask(parts: int | None) -> int:
        payload = "not json" if parts is None else json.dumps(
            {"parts": [{"part_number": n} for n in range(1, parts + 1)]})
        return client.http.post(url, headers={"Content-Type": "application/json"}, body=payload).status_code
    try:
        with _client_with(deps) as client:
            answers = [ask(None), ask(7), ask(3), ask(1)]
    finally:
        bootstrap.use(None)
    assert answers == [400, 404, 429, 404]  # 1 + 7 spent; 3 more would pass 10, 1 more fits (404: no such link)
    assert deps.counters.calls == 4
