"""What every route module shares: the authorizer that resolves an agency key, and access to the
request being handled (its caller, body and query)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice.app import AuthResponse, Blueprint, Request

from .. import bootstrap
from ..route_doc import documented as documented  # re-exported: routes declare what the document cannot read

if TYPE_CHECKING:
    from ..domain.limits import Rule
    from ..domain.models import Principal

# app.py imports this module for the authorizer on every cold start: the services and models below
# are imported where they are used, so a public route's cold start does not load the key checks.

auth = Blueprint(__name__)
# API Gateway caches the authorizer's answer per key this long: a revoked key stops working within
# it (README). chalice local does not cache, so there a revoked key is refused at once.
AUTHORIZER_TTL_SECONDS = 60


@auth.authorizer(ttl_seconds=AUTHORIZER_TTL_SECONDS)
def agency_key(auth_request: Any) -> AuthResponse:
    from ..services import agencies

    principal = agencies.authenticate(auth_request.token or "", deps=bootstrap.deps())
    if principal is None:
        return AuthResponse(routes=[], principal_id="anonymous")
    return AuthResponse(routes=["*"], principal_id=principal.key_id, context=principal.model_dump(mode="json"))


def request() -> Request:
    current = auth.current_request
    assert current is not None, "only called while handling a request"
    return current


def caller() -> Principal:
    from ..domain.models import Principal

    return Principal.model_validate(request().context["authorizer"])


def body() -> bytes:
    raw = request().raw_body
    return raw.encode() if isinstance(raw, str) else bytes(raw or b"")


def client_address() -> str | None:
    """The caller's address as API Gateway saw it (identity.sourceIp): what rate limits count per client."""
    identity = request().context.get("identity") or {}
    address = identity.get("sourceIp")
    return str(address) if address else None


def limit_caller(rule: Rule, cost: int = 1) -> None:
    """Count the caller (by address) against the route's cap before anything else: 429 over it."""
    from ..services import limits

    deps = bootstrap.deps()
    limits.per_client(rule, client_address(), deps.rate_caps.of(rule), deps=deps, cost=cost)


def params() -> dict[str, str]:
    return dict(request().query_params or {})


def page_base() -> str:
    """Base URL of the citizen pages: configured, or this API's own address and stage."""
    configured = bootstrap.settings().public_base_url
    if configured:
        return configured
    current = request()
    return f"https://{current.headers['host']}/{current.context.get('stage', 'api')}"
