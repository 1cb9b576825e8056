"""Agencies and their API keys (operator CLI), and resolving a caller from a key (authorizer)."""
from __future__ import annotations

from ..domain import ids
from ..domain.commands import UpdateAgencySettings
from ..domain.errors import Forbidden, InvalidInput, NotFound
from ..domain.models import OPERATOR_AGENCY, Agency, ApiKey, Principal, Role
from .access import Capability, require
from .deps import Deps


def create_agency(name: str, country: str, *, deps: Deps) -> Agency:
    now = deps.clock.now()
    agency = Agency(agency_id=ids.new_id(now), name=name, country=country.upper(), created_at=now)
    deps.agencies.create_agency(agency)
    deps.audit.append(agency.agency_id, at=now, actor="operator", action="agency.created",
                      target=f"agency:{agency.agency_id}", details={"name": name})
    return agency


def issue_key(agency_id: str, role: Role, label: str, *, email: str | None = None,
              deps: Deps) -> tuple[ApiKey, str]:
    """Create a key and return it with its secret, which is shown once and never stored.
    Operator keys belong to the operator pseudo agency; agency keys to an existing agency."""
    if (role is Role.OPERATOR) != (agency_id == OPERATOR_AGENCY):
        raise InvalidInput("Operator keys, and only they, belong to the operator.", code="bad_role")
    if role is not Role.OPERATOR and deps.agencies.get_agency(agency_id) is None:
        raise NotFound(f"No agency {agency_id}.", code="agency_not_found")
    now = deps.clock.now()
    secret = ids.new_api_key()
    key = ApiKey(key_id=ids.new_id(now), key_hash=ids.digest(secret), agency_id=agency_id,
                 role=role, label=label, created_at=now, email=email)
    deps.agencies.create_key(key)
    deps.audit.append(agency_id, at=now, actor="operator", action="api_key.issued",
                      target=f"key:{key.key_id}", details={"role": role.value, "label": label})
    return key, secret


def authenticate(authorization: str, *, deps: Deps) -> Principal | None:
    """Resolve `Bearer <key>` to its agency and role; None for anything else."""
    scheme, _, secret = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not secret.startswith("cek_"):
        return None
    key = deps.agencies.key_by_hash(ids.digest(secret.strip()))
    if key is None or not ids.same_digest(key.key_hash, secret.strip()):
        return None
    return Principal(agency_id=key.agency_id, role=key.role, key_id=key.key_id, email=key.email)


def agency_of(principal: Principal, *, deps: Deps) -> Agency:
    if principal.role is Role.OPERATOR:
        raise Forbidden("Operator keys cannot act for an agency.", code="agency_only")
    agency = deps.agencies.get_agency(principal.agency_id)
    if agency is None:  # a key that outlived its agency
        raise Forbidden("This key's agency no longer exists.", code="agency_missing")
    return agency


def update_settings(principal: Principal, cmd: UpdateAgencySettings, *, deps: Deps) -> Agency:
    agency = agency_of(principal, deps=deps)
    require(principal, agency, Capability.CONFIGURE)
    changes = cmd.model_dump(exclude_none=True)
    updated = agency.model_copy(update=changes)
    deps.agencies.save_agency(updated)
    deps.audit.append(agency.agency_id, at=deps.clock.now(), actor=principal.actor,
                      action="agency.settings_changed", target=f"agency:{agency.agency_id}",
                      details=changes)
    return updated
