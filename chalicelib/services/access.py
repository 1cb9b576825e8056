"""What a caller may do right now, decided by the agency's entitlements (domain/licensing.py).
Reading, downloading and exporting its own data are never refused, and neither is preserving it
(placing or releasing a legal hold), nor sharing it with another agency (admins): an agency in
limited mode (the program ended and nothing else is licensed) keeps them. Everything else waits
for a full access mode and, where it needs one, the Citizen feature."""
from __future__ import annotations

from enum import Enum

from ..domain.errors import Forbidden
from ..domain.licensing import COMMUNITIES, EVIDENCE_CAPTURE, OFFICERS, Entitlements, capture_refusal
from ..domain.models import AccessMode, Agency, Principal, Role
from . import licensing
from .deps import Deps


class Capability(str, Enum):
    READ = "read"
    DOWNLOAD = "download"
    EXPORT = "export"
    LEGAL_HOLD = "legal_hold"  # place or release a legal hold: preserving evidence
    SEND_LINKS = "send_citizen_links"
    REVIEW = "review"
    CONFIGURE = "configure"  # settings and the retention policy
    SHARE = "share"  # give another agency read access to its evidence: its data to give, so never refused
    CAPTURE = "evidence_capture"  # officers upload evidence of their own (the agency's evidence licence)
    PORTALS = "community_portals"  # create, edit, open and close public portals (Citizen for Communities)


NEVER_REFUSED_BY_LICENCE = {Capability.READ, Capability.DOWNLOAD, Capability.EXPORT, Capability.LEGAL_HOLD,
                            Capability.SHARE}
ADMIN_ONLY = {Capability.CONFIGURE, Capability.LEGAL_HOLD, Capability.SHARE, Capability.PORTALS}
NEEDS_FEATURE = {Capability.SEND_LINKS: OFFICERS, Capability.CAPTURE: EVIDENCE_CAPTURE,
                 Capability.PORTALS: COMMUNITIES}


def agency_of(principal: Principal, *, deps: Deps) -> Agency:
    if principal.role is Role.OPERATOR:
        raise Forbidden("Operator keys cannot act for an agency.", code="agency_only")
    agency = deps.agencies.get_agency(principal.agency_id)
    if agency is None:  # a key that outlived its agency
        raise Forbidden("This key's agency no longer exists.", code="agency_missing")
    return agency


def entitlements_of(agency: Agency, *, deps: Deps) -> Entitlements:
    """The entitlements of an agency already read, on its own calendar day (its time zone)."""
    return licensing.for_agency(agency, agency.agency_id, deps=deps)


def allow(principal: Principal, capability: Capability, *, deps: Deps) -> Agency:
    """The caller's agency, if the caller may do this now; Forbidden saying what is missing."""
    agency = agency_of(principal, deps=deps)
    if capability in ADMIN_ONLY and principal.role is not Role.AGENCY_ADMIN:
        raise Forbidden("Only an agency admin may do this.", code="admin_only")
    if capability in NEVER_REFUSED_BY_LICENCE:
        return agency
    ensure_feature(licensing.for_agency(agency, agency.agency_id, deps=deps), capability)
    return agency


def ensure_feature(ent: Entitlements, capability: Capability) -> None:
    if ent.access_mode is AccessMode.LIMITED:
        raise Forbidden(
            "Your agency's access is limited to reading, downloading, exporting and preserving its data"
            f"{': ' + ent.reasons[OFFICERS] if OFFICERS in ent.reasons else ''}.",
            code="limited_mode", details={"missing": capability.value})
    feature = NEEDS_FEATURE.get(capability)
    if feature and not getattr(ent, feature):
        why = capture_refusal(ent.kind) if feature == EVIDENCE_CAPTURE else ent.reasons.get(feature)
        raise Forbidden(why or f"Your agency does not have {feature}.",
                        code="entitlement_missing", details={"missing": feature})
