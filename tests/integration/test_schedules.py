"""Each scheduled handler runs against moto with the event EventBridge sends, as the local runner
and `./dev cli run-schedule` run it."""
from __future__ import annotations

import pytest

from infra.local_stack import LocalStack, scheduled_event
from tests.e2e.test_agency_review_api import sent

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("name", sorted(LocalStack.SCHEDULES))
def test_each_schedule_runs_on_the_local_stack(stack, name):
    import app

    result = getattr(app, name)(scheduled_event(name), None)
    assert isinstance(result, dict)


def test_the_digest_reaches_an_agency_with_waiting_submissions(stack):
    import app

    sent(stack, case_ref="DIGEST-1")
    counts = app.daily_digest(scheduled_event("daily_digest"), None)
    assert counts[stack.agency_id] >= 1
    assert any(m["to"] == ["desk@demo-pd.example"] and "waiting for review" in m["subject"] for m in stack.emails())
