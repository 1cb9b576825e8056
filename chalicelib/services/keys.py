"""API keys after issue: list, issue, revoke and rotate them. Agency admins manage their own
agency's keys; operators any agency's (and the operator's own, under agency id `operator`).

Every change commits its audit event with itself (api_key.issued, api_key.revoked,
api_key.rotated) in the log of the agency the key belongs to. An agency admin cannot revoke the
agency's last active admin key (409 `last_admin_key`): the revocation is conditioned on another
admin key staying active, so two admins revoking each other cannot both succeed. Operators may
revoke an agency's last admin key (a compromised one) and issue a new one; nobody can revoke the
last operator key."""
from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, StringConstraints

from ..domain import ids
from ..domain.commands import Command, Email
from ..domain.errors import Conflict, Forbidden, NotFound
from ..domain.models import OPERATOR_AGENCY, ApiKey, Listing, Principal, Role
from . import access, agencies, custody
from .deps import Deps


class IssueKey(Command):
    """What an agency admin may issue: an officer or an admin key for its own agency."""

    role: Literal["officer", "agency_admin"]
    label: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    email: Email | None = None


class KeyView(ApiKey):
    """What anyone is shown of a key: never the secret (not kept) nor its hash."""

    model_config = ConfigDict(from_attributes=True)
    key_hash: str = Field(exclude=True)
    agency_id: str = Field(exclude=True)
    email: str | None = Field(default=None, exclude=True)


class IssuedKey(KeyView):
    """A key just issued: its secret, shown this once, and the key it replaces when rotated."""

    key: str
    replaces: str | None = Field(default=None, exclude_if=lambda v: v is None)


class KeyList(Listing):
    items: list[KeyView]


def key_view(key: ApiKey) -> dict[str, Any]:
    return KeyView.model_validate(key).model_dump(mode="json")


def issued(key: ApiKey, secret: str, replaces: ApiKey | None = None) -> IssuedKey:
    return IssuedKey.model_validate(key.model_dump() | {"key": secret,
                                                        "replaces": replaces.key_id if replaces else None})


def scope(principal: Principal, agency_id: str | None, *, deps: Deps) -> str:
    """Whose keys the caller may manage. Agency routes (agency_id None): an agency admin, its own
    agency's; officers and operators are refused (403). Operator routes: an operator, the agency
    it names (or `operator`), which must exist."""
    if agency_id is None:
        agency = access.agency_of(principal, deps=deps)
        if principal.role is not Role.AGENCY_ADMIN:
            raise Forbidden("Only an agency admin may do this.", code="admin_only")
        return agency.agency_id
    if principal.role is not Role.OPERATOR:
        raise Forbidden("Only operators may do this.", code="operator_only")
    if agency_id != OPERATOR_AGENCY and (not ids.is_id(agency_id) or deps.agencies.get_agency(agency_id) is None):
        raise NotFound(f"No agency {agency_id[:40]}.", code="agency_not_found")
    return agency_id


def list_keys(principal: Principal, agency_id: str | None = None, *, deps: Deps) -> list[ApiKey]:
    return deps.agencies.list_keys(scope(principal, agency_id, deps=deps))


def issue(principal: Principal, cmd: IssueKey, *, deps: Deps) -> tuple[ApiKey, str]:
    """An admin issues a key for its own agency; the secret is returned once."""
    owner = scope(principal, None, deps=deps)
    return agencies.issue_key(owner, Role(cmd.role), cmd.label, email=cmd.email, actor=principal.actor, deps=deps)


def revoke(principal: Principal, key_id: str, agency_id: str | None = None, *, deps: Deps) -> ApiKey:
    """The key stops authenticating at once (and where API Gateway cached the authorizer's answer,
    within its ttl: api/common.py AUTHORIZER_TTL_SECONDS)."""
    owner = scope(principal, agency_id, deps=deps)
    key = _active(owner, key_id, deps=deps)
    keep = None
    guarded = Role.OPERATOR if owner == OPERATOR_AGENCY else Role.AGENCY_ADMIN
    if key.role is guarded and (principal.role is not Role.OPERATOR or guarded is Role.OPERATOR):
        keep = next((k for k in deps.agencies.list_keys(owner)
                     if k.active and k.role is guarded and k.key_id != key.key_id), None)
        if keep is None:
            raise Conflict(f"This is the last active {guarded.value} key: issue another before revoking it.",
                           code="last_admin_key")
    now = deps.clock.now()
    deps.agencies.revoke_key(key, at=now, by=principal.actor, keep=keep, event=custody.event(
        owner, deps=deps, actor=principal.actor, action="api_key.revoked", target=f"key:{key.key_id}",
        details={"role": key.role.value, "label": key.label}))
    return key.model_copy(update={"revoked_at": now, "revoked_by": principal.actor})


def rotate(principal: Principal, key_id: str, agency_id: str | None = None, *,
           deps: Deps) -> tuple[ApiKey, ApiKey, str]:
    """Revoke the key and issue its successor (same label, role and email) in one transaction
    with one `api_key.rotated` event; returns the old key, the new one and its secret (shown once)."""
    owner = scope(principal, agency_id, deps=deps)
    old = _active(owner, key_id, deps=deps)
    now = deps.clock.now()
    secret = ids.new_api_key()
    new = ApiKey(key_id=ids.new_id(now), key_hash=ids.digest(secret), agency_id=owner, role=old.role,
                 label=old.label, created_at=now, email=old.email)
    deps.agencies.rotate_key(old, new, at=now, by=principal.actor, event=custody.event(
        owner, deps=deps, actor=principal.actor, action="api_key.rotated", target=f"key:{old.key_id}",
        details={"new_key_id": new.key_id, "role": old.role.value, "label": old.label}))
    return old.model_copy(update={"revoked_at": now, "revoked_by": principal.actor}), new, secret


def _active(owner: str, key_id: str, *, deps: Deps) -> ApiKey:
    key = deps.agencies.key_by_id(owner, key_id) if ids.is_id(key_id) else None
    if key is None:
        raise NotFound("No such key.", code="key_not_found")  # never echo what the caller sent
    if not key.active:
        raise Conflict("That key is already revoked.", code="already_revoked")
    return key
