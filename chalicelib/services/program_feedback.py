"""Feedback on the improvement program from the public transparency page: stored once, as sent (HTML
is text, escaped wherever it is shown), with its audit event; read by operators, newest first."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from ..domain import ids
from ..domain.errors import NotFound
from ..domain.models import OPERATOR_AGENCY, Principal
from ..domain.program_notices import Feedback, SubmitFeedback
from . import custody
from .access_requests import require_operator
from .deps import Deps


def submit(cmd: SubmitFeedback, *, deps: Deps) -> Feedback:
    """A use case it names must be one the public can see (announced at least once)."""
    if cmd.use_case_id is not None and not any(
            v.announced_at for v in deps.program.use_case_versions(cmd.use_case_id)):
        raise NotFound("No such use case.", code="use_case_not_found")
    now = deps.clock.now()
    made = Feedback(feedback_id=ids.new_id(now), message=cmd.message, email=cmd.email, use_case_id=cmd.use_case_id,
                    language=cmd.language, received_at=now)
    deps.program_notices.add_feedback(made, event=custody.event(
        OPERATOR_AGENCY, deps=deps, actor="public", action="program.feedback_received",
        target=f"feedback:{made.feedback_id}",
        details={"chars": len(made.message), "with_email": made.email is not None, "use_case_id": made.use_case_id}))
    return made


class FeedbackReceived(BaseModel):
    model_config = ConfigDict(defer_build=True)
    feedback_id: str
    received_at: datetime


class FeedbackPage(BaseModel):
    """`GET /operator/program/feedback`: newest first; `next_cursor` is the `cursor` of the next page."""

    model_config = ConfigDict(defer_build=True)
    items: list[Feedback]
    next_cursor: str | None


def list_feedback(me: Principal, *, limit: int, cursor: str | None, deps: Deps) -> dict[str, Any]:
    require_operator(me)
    items, next_cursor = deps.program_notices.list_feedback(limit=max(1, min(limit, 100)), cursor=cursor)
    return FeedbackPage(items=items, next_cursor=next_cursor).model_dump(mode="json")
