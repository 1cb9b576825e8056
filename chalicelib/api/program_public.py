"""The improvement program's public routes beyond the registry: the transparency page's feedback form
and change-notice subscriptions (subscribe, confirm, unsubscribe). No key. Each takes JSON or a plain
HTML form post (the page runs no script) and answers in kind: JSON when JSON was sent or asked
for, else a small page. Bodies are bounded and strict; bad input is a 4xx either way. The two posts
are counted per client before anything else (services/limits.py: 429 over the cap)."""
from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode

from chalice.app import Blueprint, Response
from pydantic import BaseModel

from .. import bootstrap, pages
from ..domain.errors import DomainError, InvalidInput, LimitExceeded
from ..domain.limits import Rule
from ..domain.program_notices import SubmitFeedback, Subscribe, SubscriptionState
from ..http import error_response, handled, json_response, parse, status_of
from ..services import limits, program_feedback, program_notices
from ..services.program_feedback import FeedbackReceived
from ..services.program_notices import SubscriptionAnswer
from .common import body, client_address, documented, page_base, params, request

program_public_api = Blueprint(__name__)
FORM = "application/x-www-form-urlencoded"
MAX_PUBLIC_BYTES = 16 * 1024  # a 2,000-character message, form-encoded at worst, fits with room to spare
C = TypeVar("C", bound=BaseModel)


def _wants_json() -> bool:
    headers = request().headers
    return "application/json" in (headers.get("content-type") or "") or \
        "application/json" in (headers.get("accept") or "")


def _language(data: dict[str, Any] | None = None) -> str:
    asked = str((data or {}).get("language") or params().get("lang") or "")
    if asked in pages.LANGUAGE_NAMES:
        return asked
    accepted = (request().headers.get("accept-language") or "en")[:2].lower()
    return accepted if accepted in pages.LANGUAGE_NAMES else "en"


def _form_data() -> dict[str, str]:
    """A form post as a dict: each field once; blank fields are absent (optional ones may be left empty)."""
    raw = body()
    if len(raw) > MAX_PUBLIC_BYTES:
        raise LimitExceeded(f"The request body is over {MAX_PUBLIC_BYTES} bytes.", code="body_too_large")
    try:
        pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, max_num_fields=10)
    except (UnicodeDecodeError, ValueError):
        raise InvalidInput("The form could not be read.", code="malformed_form") from None
    if len({name for name, _ in pairs}) != len(pairs):
        raise InvalidInput("A form field is sent twice.", code="malformed_form")
    return {name: value for name, value in pairs if value.strip()}


def _input(model: type[C]) -> C:
    if "application/json" in (request().headers.get("content-type") or ""):
        if len(body()) > MAX_PUBLIC_BYTES:
            raise LimitExceeded(f"The request body is over {MAX_PUBLIC_BYTES} bytes.", code="body_too_large")
        return parse(model, body())
    return parse(model, json.dumps(_form_data()).encode())


def _answer(view: Callable[..., tuple[int, BaseModel, str]]) -> Callable[..., Response]:
    """JSON for JSON callers; for a browser's form, a page with the outcome (or the problem)."""
    @functools.wraps(view)  # keeps the view's own code readable to the OpenAPI document
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        wants_json = _wants_json()
        try:
            status, data, outcome = view(*args, **kwargs)
        except DomainError as error:
            if wants_json:
                return error_response(error)
            return _page(status_of(error), "problem", error.message)
        if wants_json:
            return json_response(data, status=status)
        return _page(status, outcome, None)
    return wrapper


ASKS = {"confirm_ask": "confirm", "unsubscribe_ask": "unsubscribe"}  # page -> where its button posts


def _page(status: int, outcome: str, problem: str | None) -> Response:
    """The answer page. Asking to confirm or to unsubscribe, it holds the form that posts it back."""
    language = _language(_safe_form())
    if outcome in ASKS:
        action = ASKS[outcome] + "?" + urlencode({"token": params().get("token", "")})
        return Response(body=pages.program_message_page(outcome, language, action=action), status_code=status,
                        headers=pages.form_headers())
    return Response(body=pages.program_message_page(outcome, language, problem), status_code=status,
                    headers=pages.security_headers("'self'"))


def _safe_form() -> dict[str, str]:
    try:
        return _form_data() if request().method == "POST" and not _wants_json() else {}
    except DomainError:
        return {}


@program_public_api.route("/transparency/feedback", methods=["POST"], content_types=[FORM, "application/json"])
@documented(response=FeedbackReceived, statuses=(201,), media="text/html")  # the view returns its status
@handled
@_answer
def submit_feedback() -> tuple[int, BaseModel, str]:
    """Stored for the operator (GET /operator/program/feedback)."""
    deps = bootstrap.deps()
    limits.per_client(Rule.PROGRAM_FEEDBACK, client_address(), deps.rate_caps.program_feedback, deps=deps)
    made = program_feedback.submit(_input(SubmitFeedback), deps=deps)
    return 201, FeedbackReceived(feedback_id=made.feedback_id, received_at=made.received_at), "feedback_received"


@program_public_api.route("/transparency/subscriptions", methods=["POST"], content_types=[FORM, "application/json"])
@documented(response=SubscriptionAnswer, statuses=(202,), media="text/html")  # the view returns its status
@handled
@_answer
def subscribe() -> tuple[int, BaseModel, str]:
    """A pending subscription: the confirmation email carries the link that starts the notices."""
    deps = bootstrap.deps()
    limits.per_client(Rule.PROGRAM_SUBSCRIBE, client_address(), deps.rate_caps.program_subscriptions, deps=deps)
    program_notices.subscribe(_input(Subscribe), page_base(), deps=deps)
    pending = SubscriptionAnswer(state=SubscriptionState.PENDING,
                                 message="Check your email and open the link to confirm.")
    return 202, pending, "subscribe_pending"


@program_public_api.route("/transparency/confirm", methods=["GET"])
@documented(response=SubscriptionAnswer, media="text/html")
@handled
@_answer
def confirmation_page() -> tuple[int, BaseModel, str]:
    """The emailed link: a page with the button that confirms (a link fetched by a mail scanner
    confirms nothing). 404/409/410 for a link that cannot confirm."""
    found = program_notices.confirmable(params().get("token", ""), deps=bootstrap.deps())
    confirmed = found.state is SubscriptionState.CONFIRMED
    return 200, SubscriptionAnswer(state=found.state), "subscribe_confirmed" if confirmed else "confirm_ask"


@program_public_api.route("/transparency/confirm", methods=["POST"], content_types=[FORM, "application/json"])
@documented(response=SubscriptionAnswer, media="text/html")
@handled
@_answer
def confirm() -> tuple[int, BaseModel, str]:
    done = program_notices.confirm(params().get("token", ""), deps=bootstrap.deps())
    return 200, SubscriptionAnswer(state=done.state), "subscribe_confirmed"


@program_public_api.route("/transparency/unsubscribe", methods=["GET"])
@documented(response=SubscriptionAnswer, media="text/html")
@handled
@_answer
def unsubscribe_page() -> tuple[int, BaseModel, str]:
    """The link in every notice: a page with the button that unsubscribes (a link fetched by a mail
    scanner unsubscribes nobody); as JSON, where the subscription stands. 404 for an unknown link."""
    state = program_notices.unsubscribable(params().get("token", ""), deps=bootstrap.deps())
    done = state is SubscriptionState.UNSUBSCRIBED
    return 200, SubscriptionAnswer(state=state), "unsubscribed" if done else "unsubscribe_ask"


@program_public_api.route("/transparency/unsubscribe", methods=["POST"], content_types=[FORM, "application/json"])
@documented(response=SubscriptionAnswer, media="text/html")
@handled
@_answer
def unsubscribe() -> tuple[int, BaseModel, str]:
    """The page's button, or a mail client's one-click post (RFC 8058): that address gets no more notices."""
    state = program_notices.unsubscribe(params().get("token", ""), deps=bootstrap.deps())
    return 200, SubscriptionAnswer(state=state), "unsubscribed"
