"""Agencies and their API keys (operator CLI), and resolving a caller from a key (authorizer)."""
from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, ConfigDict

from ..domain import ids
from ..domain.commands import UpdateAgencySettings
from ..domain.errors import InvalidInput, NotFound
from ..domain.licensing import LicenseKind
from ..domain.models import OPERATOR_AGENCY, Agency, ApiKey, Principal, RetentionPolicy, Role
from ..observability import logger
from . import custody, licensing
from .access import Capability, allow
from .deps import Deps

TOUCH_EVERY = timedelta(hours=1)  # how stale last_used_at may be (services/keys.py lists it)


class AgencySettings(BaseModel):
    """`GET/PATCH /agency/settings`: what an agency admin sets (read off the agency record)."""

    model_config = ConfigDict(defer_build=True, from_attributes=True)
    agency_id: str
    name: str
    country: str
    link_ttl_hours: int
    max_files_per_link: int
    auto_accept: bool
    contact_email: str | None
    retention: RetentionPolicy


def create_agency(name: str, country: str, *, license: LicenseKind = LicenseKind.EVIDENCE_BASIC,
                  citizen_addon: bool = False, deps: Deps) -> Agency:
    """An agency with its licence (an operator's act; the licence decides what it may do)."""
    now = deps.clock.now()
    agency = Agency(agency_id=ids.new_id(now), name=name, country=country.upper(), created_at=now)
    deps.agencies.create_agency(agency, event=custody.event(
        agency.agency_id, deps=deps, actor="operator", action="agency.created", target=f"agency:{agency.agency_id}",
        details={"name": name}))
    licensing.set_license(agency.agency_id, license, citizen_addon, country=agency.country, deps=deps)
    return agency


def issue_key(agency_id: str, role: Role, label: str, *, email: str | None = None, actor: str = "operator",
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
    deps.agencies.create_key(key, event=custody.event(
        agency_id, deps=deps, actor=actor, action="api_key.issued", target=f"key:{key.key_id}",
        details={"role": role.value, "label": label}))
    return key, secret


def authenticate(authorization: str, *, deps: Deps) -> Principal | None:
    """Resolve `Bearer <key>` to its agency and role; None for anything else, a revoked key too.
    Notes when the key was last used (at most once an hour, never failing the call)."""
    scheme, _, secret = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not secret.startswith("cek_"):
        return None
    key = deps.agencies.key_by_hash(ids.digest(secret.strip()))
    if key is None or not ids.same_digest(key.key_hash, secret.strip()) or not key.active:
        return None
    _note_use(key, deps=deps)
    return Principal(agency_id=key.agency_id, role=key.role, key_id=key.key_id, email=key.email)


def _note_use(key: ApiKey, *, deps: Deps) -> None:
    """last_used_at, approximate: one conditional write when the stored one is over an hour old
    (or missing: that write also files a key issued before the listing index)."""
    now = deps.clock.now()
    if key.last_used_at is not None and key.last_used_at > now - TOUCH_EVERY:
        return
    try:
        deps.agencies.touch_key(key, now, unless_since=now - TOUCH_EVERY)
    except Exception:  # noqa: BLE001 - a bookkeeping write never refuses a caller
        logger.warning("could not note a key's use", extra={"key_id": key.key_id}, exc_info=True)


def update_settings(principal: Principal, cmd: UpdateAgencySettings, *, deps: Deps) -> Agency:
    agency = allow(principal, Capability.CONFIGURE, deps=deps)
    changes = cmd.model_dump(exclude_none=True)
    updated = agency.model_copy(update=changes)
    deps.agencies.save_agency(updated, event=custody.event(
        agency.agency_id, deps=deps, actor=principal.actor, action="agency.settings_changed",
        target=f"agency:{agency.agency_id}", details=changes))
    return updated
