"""PortalRepository in memory: the unit tests assert on it; tests/integration runs the same contract
on it and on DynamoDB. Same rules: a slug is claimed by one portal, a save needs the version read."""
from __future__ import annotations

from ..domain.errors import Conflict
from ..domain.models import AuditEvent
from ..domain.portals import Portal
from .dynamo_portals import COUNTERS
from .memory_audit import MemoryAuditLog


class MemoryPortals:
    def __init__(self, audit: MemoryAuditLog | None = None) -> None:
        self.audit = audit or MemoryAuditLog()
        self.portals: dict[tuple[str, str], Portal] = {}
        self.slugs: dict[str, tuple[str, str]] = {}

    def create_portal(self, portal: Portal, *, event: AuditEvent) -> None:
        if portal.slug in self.slugs or (portal.agency_id, portal.portal_id) in self.portals:
            raise Conflict("That address is already taken.", code="slug_taken")
        self.portals[(portal.agency_id, portal.portal_id)] = portal.model_copy(deep=True)
        self.slugs[portal.slug] = (portal.agency_id, portal.portal_id)
        self.audit.record(event)

    def save_portal(self, portal: Portal, *, read_version: int, old_slug: str, event: AuditEvent) -> Portal:
        key = (portal.agency_id, portal.portal_id)
        stored = self.portals.get(key)
        moved = portal.slug != old_slug
        if stored is None or stored.version != read_version or (moved and portal.slug in self.slugs):
            raise Conflict("The portal changed meanwhile, or its new address is taken.")
        saved = portal.model_copy(update={"version": read_version + 1, **{c: getattr(stored, c) for c in COUNTERS}},
                                  deep=True)
        self.portals[key] = saved
        if moved:
            del self.slugs[old_slug]
            self.slugs[portal.slug] = key
        self.audit.record(event)
        return saved.model_copy(deep=True)

    def get_portal(self, agency_id: str, portal_id: str) -> Portal | None:
        found = self.portals.get((agency_id, portal_id))
        return found.model_copy(deep=True) if found else None

    def portal_by_slug(self, slug: str) -> Portal | None:
        key = self.slugs.get(slug)
        return self.get_portal(*key) if key else None

    def list_portals(self, agency_id: str) -> list[Portal]:
        mine = [p for (agency, _), p in self.portals.items() if agency == agency_id]
        return [p.model_copy(deep=True) for p in sorted(mine, key=lambda p: p.portal_id, reverse=True)]

    def count(self, portal: Portal, field: str, amount: int = 1) -> None:
        if field not in COUNTERS:
            raise ValueError(f"{field} is not a portal counter")
        stored = self.portals.get((portal.agency_id, portal.portal_id))
        if stored is None:
            raise Conflict("No such portal.")
        setattr(stored, field, getattr(stored, field) + amount)
