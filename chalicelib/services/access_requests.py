"""The public access-request form and the operator's decisions on it."""
from __future__ import annotations

from ..domain import ids, program
from ..domain.access_requests import (
    AccessRequest,
    DenyAccessRequest,
    RequestStatus,
    SubmitAccessRequest,
    fingerprint,
)
from ..domain.errors import DeliveryFailed, Forbidden, InvalidInput, NotFound
from ..domain.licensing import AgencyLicense, LicenseKind
from ..domain.models import OPERATOR_AGENCY, Page, Principal, Role
from . import agencies, licensing
from .deps import Deps


def submit(cmd: SubmitAccessRequest, *, deps: Deps) -> AccessRequest:
    now = deps.clock.now()
    opens = deps.licenses.get_settings().available_from(cmd.country)
    if now.date() < opens:
        raise InvalidInput(f"The program opens to organisations in {cmd.country} on {opens.isoformat()}.",
                           code="country_not_yet_available", details={"available_from": opens.isoformat()})
    request = AccessRequest(request_id=ids.new_id(now), received_at=now,
                            fingerprint=fingerprint(cmd.organisation, cmd.country), **cmd.model_dump())
    deps.access_requests.create(request)
    deps.audit.append(OPERATOR_AGENCY, at=now, actor="public", action="access_request.received",
                      target=f"access_request:{request.request_id}",
                      details={"organisation": request.organisation, "country": request.country})
    return request


def require_operator(principal: Principal) -> None:
    if principal.role is not Role.OPERATOR:
        raise Forbidden("Only operators may do this.", code="operator_only")


def list_requests(principal: Principal, status: RequestStatus, *, limit: int, cursor: str | None,
                  deps: Deps) -> Page:
    require_operator(principal)
    return deps.access_requests.list(status, limit=max(1, min(limit, 100)), cursor=cursor)


def _pending(request_id: str, deps: Deps) -> AccessRequest:
    request = deps.access_requests.get(request_id) if len(request_id) <= 40 else None
    if request is None:
        raise NotFound("No such access request.", code="access_request_not_found")
    return request


def approve(principal: Principal, request_id: str, *, deps: Deps) -> tuple[AccessRequest, str]:
    """Create the agency with its enrollment and an admin key, emailed to the contact.
    Returns the decided request and the key (shown once, to the operator as well)."""
    require_operator(principal)
    request = _pending(request_id, deps)
    now = deps.clock.now()
    # Refuse before anything is written: the program must still be open to join.
    program.check_enrollment(AgencyLicense(agency_id="new", kind=LicenseKind(request.current_license),
                                           country=request.country), deps.licenses.get_settings(), now)
    decided = request.model_copy(update={"status": RequestStatus.APPROVED, "decided_at": now,
                                         "decided_by": principal.actor})
    deps.access_requests.decide(decided)  # first: a second approval fails here, before creating anything
    agency = agencies.create_agency(request.organisation, request.country,
                                    license=LicenseKind(request.current_license), deps=deps)
    agency = agency.model_copy(update={"contact_email": request.contact_email})
    deps.agencies.save_agency(agency)
    licensing.enroll(agency.agency_id, now, licenses=deps.licenses, clock=deps.clock, audit=deps.audit,
                     actor=principal.actor)
    _, secret = agencies.issue_key(agency.agency_id, Role.AGENCY_ADMIN, f"admin for {request.contact_name}",
                                   email=request.contact_email, deps=deps)
    deps.access_requests.attach_agency(request_id, agency.agency_id)
    decided = decided.model_copy(update={"agency_id": agency.agency_id})
    _tell(request.contact_email, "Your access request was approved",
          f"{request.organisation} now has access. Your administrator API key (keep it secret): {secret}", deps)
    deps.audit.append(OPERATOR_AGENCY, at=now, actor=principal.actor, action="access_request.approved",
                      target=f"access_request:{request_id}", details={"agency_id": agency.agency_id})
    return decided, secret


def deny(principal: Principal, request_id: str, cmd: DenyAccessRequest, *, deps: Deps) -> AccessRequest:
    require_operator(principal)
    request = _pending(request_id, deps)
    now = deps.clock.now()
    decided = request.model_copy(update={"status": RequestStatus.DENIED, "decided_at": now,
                                         "decided_by": principal.actor, "decision_reason": cmd.reason})
    deps.access_requests.decide(decided)
    _tell(request.contact_email, "Your access request", f"We cannot grant access at this time: {cmd.reason}", deps)
    deps.audit.append(OPERATOR_AGENCY, at=now, actor=principal.actor, action="access_request.denied",
                      target=f"access_request:{request_id}", details={"reason": cmd.reason})
    return decided


def _tell(to: str, subject: str, text: str, deps: Deps) -> None:
    try:
        deps.email.send_email(to, subject, text)
    except DeliveryFailed as exc:
        deps.audit.append(OPERATOR_AGENCY, at=deps.clock.now(), actor="system:notify", action="email.failed",
                          target=f"email:{to}", outcome="failed", details={"error": exc.message})
