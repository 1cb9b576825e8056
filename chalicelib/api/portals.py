"""Community portals: the agency's routes (admins change, officers read) and the public's (the
portal's page, opening an upload session, a private link by SMS). Public routes count the caller
against the rate limits before anything else."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from chalice.app import Blueprint, Response
from pydantic import BaseModel, ConfigDict

from .. import bootstrap, pages, portal_pages
from ..domain.errors import NotFound
from ..domain.limits import Rule
from ..domain.portals import (
    ContactFields,
    CreatePortal,
    EditPortal,
    Language,
    Portal,
    PortalCaps,
    PortalState,
    SmsLink,
    StartSession,
    Terms,
)
from ..http import handled, json_response, parse
from ..openapi import documented
from ..services import portal_sessions, portals
from .common import agency_key, body, caller, client_address, limit_caller, page_base, params, request

portals_api = Blueprint(__name__)


class _Out(BaseModel):
    model_config = ConfigDict(defer_build=True)  # built when the OpenAPI document is, not at import


class PortalOut(_Out):
    """A portal as its agency sees it (its id, address, window, terms, caps and state)."""

    portal_id: str
    slug: str
    public_url: str
    case_ref: str
    title: str
    description: str
    location: str
    agency_contact: str
    opens_at: datetime | None
    closes_at: datetime | None
    terms: Terms
    contact: ContactFields
    caps: PortalCaps
    language: Language | None
    state: PortalState
    created_by: str
    created_at: datetime
    updated_at: datetime
    version: int


class PortalList(_Out):
    items: list[PortalOut]


class PortalCounts(_Out):
    sessions: int
    refused_requests: int
    submissions: int
    files: int
    bytes: int
    refused_files: int
    complete: bool  # False: the portal has more submissions than one read counts


class PortalWithCounts(PortalOut):
    counts: PortalCounts


class PortalPublic(_Out):
    """What the public page shows (`Accept: application/json`)."""

    slug: str
    title: str
    description: str
    location: str
    agency_name: str
    agency_contact: str
    state: str
    opens_at: str | None
    closes_at: str | None
    terms: Terms
    contact: ContactFields
    language: Language | None
    allowed_types: list[str]
    files_per_session: int


class SessionOut(_Out):
    token: str
    url: str
    expires_at: datetime
    language: Language
    max_files: int


class SmsOut(_Out):
    status: str


def portal_view(portal: Portal) -> dict[str, Any]:
    return portal.model_dump(mode="json", exclude={"agency_id", "sessions", "refused"}) | {
        "public_url": f"{page_base().rstrip('/')}/p/{portal.slug}"}


@portals_api.route("/agency/portals", methods=["POST"], authorizer=agency_key)
@documented(response=PortalOut, statuses=(201,))
@handled
def create_portal() -> Response:
    portal = portals.create(caller(), parse(CreatePortal, body()), deps=bootstrap.deps())
    return json_response(portal_view(portal), status=201)


@portals_api.route("/agency/portals", methods=["GET"], authorizer=agency_key)
@documented(response=PortalList)
@handled
def list_portals() -> Response:
    return json_response({"items": [portal_view(p) for p in portals.list_portals(caller(), deps=bootstrap.deps())]})


@portals_api.route("/agency/portals/{portal_id}", methods=["GET"], authorizer=agency_key)
@documented(response=PortalWithCounts)
@handled
def get_portal(portal_id: str) -> Response:
    portal, counts = portals.read(caller(), portal_id, deps=bootstrap.deps())
    return json_response(portal_view(portal) | {"counts": counts})


@portals_api.route("/agency/portals/{portal_id}", methods=["PATCH"], authorizer=agency_key)
@documented(response=PortalOut)
@handled
def edit_portal(portal_id: str) -> Response:
    return json_response(portal_view(portals.edit(caller(), portal_id, parse(EditPortal, body()),
                                                  deps=bootstrap.deps())))


@portals_api.route("/agency/portals/{portal_id}/open", methods=["POST"], authorizer=agency_key)
@documented(response=PortalOut)
@handled
def open_portal(portal_id: str) -> Response:
    return json_response(portal_view(portals.open_portal(caller(), portal_id, deps=bootstrap.deps())))


@portals_api.route("/agency/portals/{portal_id}/close", methods=["POST"], authorizer=agency_key)
@documented(response=PortalOut)
@handled
def close_portal(portal_id: str) -> Response:
    return json_response(portal_view(portals.close_portal(caller(), portal_id, deps=bootstrap.deps())))


# --- public -------------------------------------------------------------------------------------

@portals_api.route("/p/{slug}", methods=["GET"])
@documented(response=PortalPublic)
@handled
def portal_page(slug: str) -> Response:
    """The portal's page (or its public fields as JSON with `Accept: application/json`)."""
    limit_caller(Rule.PORTAL_PAGE)
    try:
        data: dict[str, Any] | None = portal_sessions.page_data(*portal_sessions.public(slug, deps=bootstrap.deps()))
    except NotFound:
        data = None
    if "application/json" in (request().headers.get("accept") or ""):
        return json_response(data) if data else json_response(
            {"code": "portal_not_found", "message": "There is no portal at this address."}, status=404)
    language = _language(data)
    return Response(body=portal_pages.render(data, language), status_code=200 if data else 404,
                    headers=pages.security_headers("'self'") | {"Vary": "Accept, Accept-Language"})


def _language(data: dict[str, Any] | None) -> str:
    asked = params().get("lang", "")
    if asked in pages.LANGUAGE_NAMES:
        return asked
    if data and data.get("language"):
        return str(data["language"])
    browser = (request().headers.get("accept-language") or "en")[:2].lower()
    return browser if browser in pages.LANGUAGE_NAMES else "en"


@portals_api.route("/p/{slug}/sessions", methods=["POST"])
@documented(response=SessionOut, statuses=(201,))
@handled
def start_session(slug: str) -> Response:
    limit_caller(Rule.PORTAL_PAGE)
    link, url = portal_sessions.start(slug, parse(StartSession, body()), address=client_address(),
                                      page_base=page_base(), deps=bootstrap.deps())
    return json_response({"token": url.rsplit("/", 1)[1], "url": url, "expires_at": link.expires_at.isoformat(),
                          "language": link.language, "max_files": link.max_files}, status=201)


@portals_api.route("/p/{slug}/sms-link", methods=["POST"])
@documented(response=SmsOut, statuses=(202,))
@handled
def sms_link(slug: str) -> Response:
    limit_caller(Rule.PORTAL_PAGE)
    delivery = portal_sessions.text_link(slug, parse(SmsLink, body()), address=client_address(),
                                         page_base=page_base(), deps=bootstrap.deps())
    return json_response({"status": delivery.status}, status=202 if delivery.status == "sent" else 502)
