"""The public access-request form and the operator's decisions on it."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from ..domain import free_access, ids
from ..domain.access_requests import (
    AccessRequest,
    ApproveAccessRequest,
    CurrentLicense,
    DenyAccessRequest,
    LicenseDecision,
    RequestStatus,
    SubmitAccessRequest,
    fingerprint,
)
from ..domain.errors import Conflict, DeliveryFailed, Forbidden, InvalidInput, NotFound
from ..domain.licensing import AgencyLicense, LicenseKind
from ..domain.models import OPERATOR_AGENCY, AuditEvent, Listing, Page, Principal, Role
from . import agencies, custody, licensing
from .deps import Deps


class AccessRequestView(AccessRequest):
    model_config = ConfigDict(from_attributes=True)
    fingerprint: str = Field(default="", exclude=True)  # how duplicates are found: not for display


class AccessRequestList(Listing):
    items: list[AccessRequestView]


class RequestState(BaseModel):
    """A request received (201) or denied: its id and where it stands."""

    model_config = ConfigDict(defer_build=True)
    request_id: str
    status: RequestStatus


class Approved(BaseModel):
    """An approval: the agency enrolled and, for a new agency, its first admin key (shown once)."""

    model_config = ConfigDict(defer_build=True)
    request_id: str
    agency_id: str | None
    admin_key: str | None
    granted_license: CurrentLicense | None
    license_decision: LicenseDecision | None


def submit(cmd: SubmitAccessRequest, *, deps: Deps) -> AccessRequest:
    now = deps.clock.now()
    opens = deps.licenses.get_settings().available_from(cmd.country)
    if now.date() < opens:
        raise InvalidInput(f"The program opens to organisations in {cmd.country} on {opens.isoformat()}.",
                           code="country_not_yet_available", details={"available_from": opens.isoformat()})
    request = AccessRequest(request_id=ids.new_id(now), received_at=now,
                            fingerprint=fingerprint(cmd.organisation, cmd.country), **cmd.model_dump())
    deps.access_requests.create(request, event=custody.event(
        OPERATOR_AGENCY, deps=deps, actor="public", action="access_request.received",
        target=f"access_request:{request.request_id}",
        details={"organisation": request.organisation, "country": request.country}))
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


def approve(principal: Principal, request_id: str, cmd: ApproveAccessRequest | None = None, *,
            deps: Deps) -> tuple[AccessRequest, str | None]:
    """Enrol the agency: an existing one (named by the operator, else by the form) as it is, or a
    new one with the licence the operator confirmed (default: the first-time program licence) and
    an admin key emailed to the contact. Returns the decided request and the new key (shown once,
    to the operator as well), or None for an existing agency, whose keys keep working."""
    require_operator(principal)
    cmd = cmd or ApproveAccessRequest()
    request = _pending(request_id, deps)
    existing = cmd.agency_id if "agency_id" in cmd.model_fields_set else request.existing_agency_id
    if existing:
        return _enrol_existing(principal, request, existing, deps), None
    return _create_enrolled(principal, request, cmd.license, deps)


def _enrol_existing(principal: Principal, request: AccessRequest, agency_id: str, deps: Deps) -> AccessRequest:
    now = deps.clock.now()
    licensing.require_agency(agency_id, deps)
    lic = licensing.check_can_enroll(agency_id, now, deps=deps)  # refused before anything is written
    if lic.enrolled_at is not None:
        raise Conflict(f"Agency {agency_id} is already enrolled.", code="already_enrolled")
    decided = _decide(principal, request, agency_id, lic.kind, LicenseDecision.ON_RECORD, deps)
    licensing.enroll(agency_id, now, deps=deps, actor=principal.actor)
    _tell(request.contact_email, "Your access request was approved",
          f"{request.organisation} is now enrolled in the emergency program on its existing account; "
          "its keys keep working.", deps)
    return decided


def _create_enrolled(principal: Principal, request: AccessRequest, confirmed: str | None,
                     deps: Deps) -> tuple[AccessRequest, str]:
    now = deps.clock.now()
    granted = LicenseKind(confirmed or LicenseKind.NONE.value)
    decision = (LicenseDecision.PROGRAM_DEFAULT if confirmed is None else
                LicenseDecision.CONFIRMED if confirmed == request.current_license else LicenseDecision.CORRECTED)
    # Refuse before anything is written: the program must still be open to join.
    free_access.check_enrollment(AgencyLicense(agency_id="new", kind=granted, country=request.country),
                             deps.licenses.get_settings(), now)
    decided = _decide(principal, request, None, granted, decision, deps)  # a second approval fails here
    agency = agencies.create_agency(request.organisation, request.country, license=granted, deps=deps)
    agency = agency.model_copy(update={"contact_email": request.contact_email})
    deps.agencies.save_agency(agency)
    licensing.enroll(agency.agency_id, now, deps=deps, actor=principal.actor)
    _, secret = agencies.issue_key(agency.agency_id, Role.AGENCY_ADMIN, f"admin for {request.contact_name}",
                                   email=request.contact_email, deps=deps)
    deps.access_requests.attach_agency(request.request_id, agency.agency_id,
                                       event=_approval(principal, decided, agency.agency_id, deps))
    _tell(request.contact_email, "Your access request was approved",
          f"{request.organisation} now has access. Your administrator API key (keep it secret): {secret}", deps)
    return decided.model_copy(update={"agency_id": agency.agency_id}), secret


def _decide(principal: Principal, request: AccessRequest, agency_id: str | None, granted: LicenseKind,
            decision: LicenseDecision, deps: Deps) -> AccessRequest:
    """Store the approval (first: Conflict if it was decided meanwhile), recording which licence
    was granted and whether the operator confirmed or corrected the form's claim."""
    decided = request.model_copy(update={
        "status": RequestStatus.APPROVED, "decided_at": deps.clock.now(), "decided_by": principal.actor,
        "agency_id": agency_id, "granted_license": granted.value, "license_decision": decision})
    # An existing agency's approval is recorded with the decision; a new agency's once it is attached.
    event = _approval(principal, decided, agency_id, deps) if agency_id is not None else None
    deps.access_requests.decide(decided, event=event)
    return decided


def _approval(principal: Principal, decided: AccessRequest, agency_id: str, deps: Deps) -> AuditEvent:
    return custody.event(OPERATOR_AGENCY, deps=deps, actor=principal.actor, action="access_request.approved",
                         target=f"access_request:{decided.request_id}",
                         details={"agency_id": agency_id, "existing_agency": decided.agency_id is not None,
                                  **decided.model_dump(mode="json", include={"current_license", "granted_license",
                                                                             "license_decision"})})


def deny(principal: Principal, request_id: str, cmd: DenyAccessRequest, *, deps: Deps) -> AccessRequest:
    require_operator(principal)
    request = _pending(request_id, deps)
    now = deps.clock.now()
    decided = request.model_copy(update={"status": RequestStatus.DENIED, "decided_at": now,
                                         "decided_by": principal.actor, "decision_reason": cmd.reason})
    deps.access_requests.decide(decided, event=custody.event(
        OPERATOR_AGENCY, deps=deps, actor=principal.actor, action="access_request.denied",
        target=f"access_request:{request_id}", details={"reason": cmd.reason}))
    _tell(request.contact_email, "Your access request", f"We cannot grant access at this time: {cmd.reason}", deps)
    return decided


def _tell(to: str, subject: str, text: str, deps: Deps) -> None:
    try:
        deps.email.send_email(to, subject, text)
    except DeliveryFailed as exc:
        deps.audit.append(OPERATOR_AGENCY, at=deps.clock.now(), actor="system:notify", action="email.failed",
                          target=f"email:{to}", outcome="failed", details={"error": exc.message})
