"""50 concurrent audited reads and writes for one agency over HTTP: none refused, none of their
audit events lost or doubled, and the chain verifies (bench/custody_load.py runs it bigger)."""
from __future__ import annotations

from collections import Counter

import pytest

from bench.custody_load import burst, chain_report, seeded_submission
from chalicelib import bootstrap

pytestmark = pytest.mark.e2e
CALLERS = 50


def test_fifty_concurrent_audited_calls_for_one_agency_are_all_answered_and_all_chained(stack):
    deps = bootstrap.deps()
    sid = seeded_submission(stack.local)
    before = Counter(e.action for e in deps.audit.entries(stack.agency_id))
    statuses, _ = burst(stack.api_url, stack.officer_key, sid, callers=CALLERS)
    assert statuses == Counter({200: CALLERS // 2, 201: CALLERS // 2})  # nothing refused, no contention
    report = chain_report(deps, stack.agency_id)
    assert report["intact"] and report["waiting"] == 0, report["problems"]
    added = Counter(e.action for e in deps.audit.entries(stack.agency_id)) - before
    assert added["submission.viewed"] == CALLERS // 2
    assert added["citizen_link.created"] == added["citizen_link.delivered"] == CALLERS // 2
    entries = list(deps.audit.entries(stack.agency_id))
    assert len({e.event_id for e in entries if e.event_id}) == len([e for e in entries if e.event_id])
