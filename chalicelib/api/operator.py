"""The operator API: access requests, licences, the program's dates and quotas, agencies' time
zones. Operator keys only. Each handler parses, checks the caller, and calls one service."""
from __future__ import annotations

from chalice.app import Blueprint, Response

from .. import bootstrap
from ..domain import ids
from ..domain.access_requests import ApproveAccessRequest, DenyAccessRequest, RequestStatus
from ..domain.commands import ExtendProgram, SetCountryDate, SetLicense, SetQuota, SetTimeZone
from ..domain.errors import InvalidInput, NotFound
from ..domain.licensing import AgencyLicense, ProgramSettings
from ..domain.models import Principal
from ..http import handled, int_param, json_response, parse
from ..services import access_requests, licensing
from ..services.access_requests import AccessRequestList, AccessRequestView, Approved, RequestState
from ..services.licensing import ProgramExtended, QuotaSet, TimeZoneSet
from .common import agency_key, body, caller, documented, params

operator_api = Blueprint(__name__)


@operator_api.route("/operator/access-requests", methods=["GET"], authorizer=agency_key)
@documented(response=AccessRequestList)
@handled
def list_access_requests() -> Response:
    query = params()
    status = query.get("status", "pending")
    if status not in {s.value for s in RequestStatus}:
        raise InvalidInput("status is pending, approved or denied.", code="validation_error")
    page = access_requests.list_requests(caller(), RequestStatus(status), limit=int_param(query, "limit", 50),
                                         cursor=query.get("next"), deps=bootstrap.deps())
    return json_response(AccessRequestList(items=[AccessRequestView.model_validate(r) for r in page.items],
                                           next=page.next_cursor))


@operator_api.route("/operator/access-requests/{request_id}/approve", methods=["POST"], authorizer=agency_key)
@documented(response=Approved)
@handled
def approve_access_request(request_id: str) -> Response:
    me = operator()
    decided, key = access_requests.approve(me, request_id, parse(ApproveAccessRequest, body()), deps=bootstrap.deps())
    return json_response(Approved(request_id=request_id, agency_id=decided.agency_id, admin_key=key,
                                  granted_license=decided.granted_license,
                                  license_decision=decided.license_decision))


@operator_api.route("/operator/access-requests/{request_id}/deny", methods=["POST"], authorizer=agency_key)
@documented(response=RequestState)
@handled
def deny_access_request(request_id: str) -> Response:
    me = operator()
    decided = access_requests.deny(me, request_id, parse(DenyAccessRequest, body()), deps=bootstrap.deps())
    return json_response(RequestState(request_id=request_id, status=decided.status))


@operator_api.route("/operator/agencies", methods=["GET"], authorizer=agency_key)
@documented(response="chalicelib.services.sharing.AgencyDirectory")  # by name: sharing loads when used
@handled
def list_agencies() -> Response:
    from ..services import sharing  # the directory is where an admin learns whom to share with

    query = params()
    page = sharing.directory(caller(), limit=int_param(query, "limit", 50), cursor=query.get("next"),
                             deps=bootstrap.deps())
    return json_response(sharing.AgencyDirectory(items=[sharing.AgencyEntry.model_validate(a) for a in page.items],
                                                 next=page.next_cursor))


@operator_api.route("/operator/agencies/{agency_id}/license", methods=["PUT"], authorizer=agency_key)
@documented(response=AgencyLicense)
@handled
def set_agency_license(agency_id: str) -> Response:
    me, cmd = operator(agency_id), parse(SetLicense, body())
    lic = licensing.set_license(agency_id, cmd.kind, cmd.citizen_addon, country=cmd.country,
                                deps=bootstrap.deps(), actor=me.actor)
    return json_response(lic.model_dump(mode="json"))


@operator_api.route("/operator/agencies/{agency_id}/time-zone", methods=["PUT"], authorizer=agency_key)
@documented(response=TimeZoneSet)
@handled
def set_agency_time_zone(agency_id: str) -> Response:
    me, cmd = operator(agency_id), parse(SetTimeZone, body())
    return json_response(licensing.set_time_zone(agency_id, cmd.time_zone, deps=bootstrap.deps(),
                                                 actor=me.actor))  # built with TimeZoneSet


@operator_api.route("/operator/program/extend", methods=["POST"], authorizer=agency_key)
@documented(response=ProgramExtended)
@handled
def extend_program() -> Response:
    me, cmd = operator(), parse(ExtendProgram, body())
    known_id(cmd.agency_id)
    end = licensing.extend_program(cmd.end, cmd.agency_id, deps=bootstrap.deps(), actor=me.actor)
    return json_response(ProgramExtended(end=end, agency_id=cmd.agency_id))


@operator_api.route("/operator/quota", methods=["PUT"], authorizer=agency_key)
@documented(response=QuotaSet)
@handled
def set_quota() -> Response:
    me, cmd = operator(), parse(SetQuota, body())
    known_id(cmd.agency_id)
    return json_response(licensing.set_quota(cmd.quota_bytes, agency_id=cmd.agency_id, kind=cmd.kind or "none",
                                             deps=bootstrap.deps(), actor=me.actor))  # built with QuotaSet


@operator_api.route("/operator/countries/{country}", methods=["PUT"], authorizer=agency_key)
@documented(response=ProgramSettings)
@handled
def set_country_date(country: str) -> Response:
    me, cmd = operator(), parse(SetCountryDate, body())
    saved = licensing.set_country_date(country, cmd.available_from, deps=bootstrap.deps(), actor=me.actor)
    return json_response(saved.model_dump(mode="json"))


def operator(agency_id: str | None = None) -> Principal:
    """The calling operator, checked before the body is read; refuses other callers."""
    me = caller()
    access_requests.require_operator(me)
    known_id(agency_id)
    return me


def known_id(agency_id: str | None) -> None:
    """Refuse an agency id that cannot be ours before it reaches a key (the services answer
    agency_not_found for well-formed ids that do not exist)."""
    if agency_id is not None and not ids.is_id(agency_id):
        raise NotFound(f"No agency {agency_id[:40]}.", code="agency_not_found")
