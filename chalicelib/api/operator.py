"""The operator API: access requests, licences, the program's dates and quotas. Operator keys only."""
from __future__ import annotations

from chalice.app import Blueprint, Response

from .. import bootstrap
from ..domain import ids
from ..domain.access_requests import DenyAccessRequest, RequestStatus
from ..domain.commands import ExtendProgram, SetCountryDate, SetLicense, SetQuota
from ..domain.errors import InvalidInput, NotFound
from ..http import handled, int_param, json_response, parse
from ..services import access_requests, licensing
from ..services.deps import Deps
from .common import agency_key, body, caller, params

operator_api = Blueprint(__name__)

@operator_api.route("/operator/access-requests", methods=["GET"], authorizer=agency_key)
@handled
def list_access_requests() -> Response:
    query = params()
    status = query.get("status", "pending")
    if status not in {s.value for s in RequestStatus}:
        raise InvalidInput("status is pending, approved or denied.", code="validation_error")
    page = access_requests.list_requests(caller(), RequestStatus(status), limit=int_param(query, "limit", 50),
                                         cursor=query.get("next"), deps=bootstrap.deps())
    return json_response({"items": [r.model_dump(mode="json", exclude={"fingerprint"}) for r in page.items],
                          "next": page.next_cursor})


@operator_api.route("/operator/access-requests/{request_id}/approve", methods=["POST"], authorizer=agency_key)
@handled
def approve_access_request(request_id: str) -> Response:
    decided, key = access_requests.approve(caller(), request_id, deps=bootstrap.deps())
    return json_response({"request_id": request_id, "agency_id": decided.agency_id, "admin_key": key})


@operator_api.route("/operator/access-requests/{request_id}/deny", methods=["POST"], authorizer=agency_key)
@handled
def deny_access_request(request_id: str) -> Response:
    decided = access_requests.deny(caller(), request_id, parse(DenyAccessRequest, body()), deps=bootstrap.deps())
    return json_response({"request_id": request_id, "status": decided.status.value})


@operator_api.route("/operator/agencies/{agency_id}/license", methods=["PUT"], authorizer=agency_key)
@handled
def set_agency_license(agency_id: str) -> Response:
    cmd, deps = parse(SetLicense, body()), operator_deps(agency_id)
    lic = licensing.set_license(agency_id, cmd.kind, cmd.citizen_addon, country=cmd.country,
                                licenses=deps.licenses, clock=deps.clock, audit=deps.audit, actor=caller().actor)
    return json_response(lic.model_dump(mode="json"))


@operator_api.route("/operator/program/extend", methods=["POST"], authorizer=agency_key)
@handled
def extend_program() -> Response:
    cmd = parse(ExtendProgram, body())
    deps = operator_deps(cmd.agency_id)
    end = licensing.extend_program(cmd.end, cmd.agency_id, licenses=deps.licenses, clock=deps.clock,
                                   audit=deps.audit, actor=caller().actor)
    return json_response({"end": end.isoformat(), "agency_id": cmd.agency_id})


@operator_api.route("/operator/quota", methods=["PUT"], authorizer=agency_key)
@handled
def set_quota() -> Response:
    cmd = parse(SetQuota, body())
    deps = operator_deps(cmd.agency_id)
    used = 0
    if cmd.agency_id:
        agency = deps.agencies.get_agency(cmd.agency_id)
        used = agency.used_bytes if agency else 0
    quota = licensing.set_quota(cmd.quota_bytes, agency_id=cmd.agency_id, used_bytes=used, licenses=deps.licenses,
                                clock=deps.clock, audit=deps.audit, actor=caller().actor)
    return json_response({"quota_bytes": quota, "agency_id": cmd.agency_id, "used_bytes": used})


@operator_api.route("/operator/countries/{country}", methods=["PUT"], authorizer=agency_key)
@handled
def set_country_date(country: str) -> Response:
    cmd, deps = parse(SetCountryDate, body()), operator_deps()
    saved = licensing.set_country_date(country, cmd.available_from, licenses=deps.licenses, clock=deps.clock,
                                       audit=deps.audit, actor=caller().actor)
    return json_response(saved.model_dump(mode="json"))


def operator_deps(agency_id: str | None = None) -> Deps:
    """Dependencies for an operator route; refuses other callers, and agency ids that do not exist."""
    access_requests.require_operator(caller())
    deps = bootstrap.deps()
    if agency_id is not None and (not ids.is_id(agency_id) or deps.agencies.get_agency(agency_id) is None):
        raise NotFound(f"No agency {agency_id[:40]}.", code="agency_not_found")
    return deps
