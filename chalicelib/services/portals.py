"""Community portals, the agency's side: admins create, edit, open and close them (Citizen for
Communities), officers and admins read them with their counts and triage what came through them.
Every change commits its audit event with itself."""
from __future__ import annotations

from typing import Any

from ..domain import ids
from ..domain.errors import Conflict, NotFound
from ..domain.models import FileStatus, Origin, Page, Principal, Submission
from ..domain.portals import (
    CreatePortal,
    EditPortal,
    Portal,
    PortalState,
    check_slug,
    check_window,
    edited,
    link_creator,
)
from . import custody
from .access import Capability, allow
from .deps import Deps

MAX_PAGE = 100
COUNTED_SUBMISSIONS = 5_000  # per read of a portal's counts; beyond it the counts say so


def create(principal: Principal, cmd: CreatePortal, *, deps: Deps) -> Portal:
    agency = allow(principal, Capability.PORTALS, deps=deps)
    check_slug(cmd.slug)
    check_window(cmd.opens_at, cmd.closes_at)
    now = deps.clock.now()
    fields = cmd.model_dump(exclude={"case_ref"}, exclude_none=True)
    portal = Portal(**fields, portal_id=ids.new_id(now), agency_id=agency.agency_id,
                    case_ref=cmd.case_ref or cmd.slug, created_by=principal.actor, created_at=now, updated_at=now)
    event = _event(principal, portal, "portal.created", {"slug": portal.slug, "case_ref": portal.case_ref}, deps)
    deps.portals.create_portal(portal, event=event)
    return portal


def edit(principal: Principal, portal_id: str, cmd: EditPortal, *, deps: Deps) -> Portal:
    allow(principal, Capability.PORTALS, deps=deps)
    portal = find(principal.agency_id, portal_id, deps=deps)
    updated = edited(portal, cmd, deps.clock.now())
    changed = sorted(cmd.model_dump(exclude_unset=True))
    return _save(principal, portal, updated, "portal.edited", {"fields": changed, "slug": updated.slug}, deps)


def open_portal(principal: Principal, portal_id: str, *, deps: Deps) -> Portal:
    return _move(principal, portal_id, PortalState.OPEN, deps)


def close_portal(principal: Principal, portal_id: str, *, deps: Deps) -> Portal:
    return _move(principal, portal_id, PortalState.CLOSED, deps)


def _move(principal: Principal, portal_id: str, to: PortalState, deps: Deps) -> Portal:
    allow(principal, Capability.PORTALS, deps=deps)
    portal = find(principal.agency_id, portal_id, deps=deps)
    if portal.state is to:
        raise Conflict(f"The portal is already {to.value}.", code=f"already_{to.value}")
    updated = portal.model_copy(update={"state": to, "updated_at": deps.clock.now()})
    return _save(principal, portal, updated, f"portal.{'opened' if to is PortalState.OPEN else 'closed'}",
                 {"from": portal.state.value}, deps)


def _save(principal: Principal, read: Portal, updated: Portal, action: str, details: dict[str, Any],
          deps: Deps) -> Portal:
    event = _event(principal, updated, action, details, deps)
    try:
        return deps.portals.save_portal(updated, read_version=read.version, old_slug=read.slug, event=event)
    except Conflict:
        if updated.slug != read.slug and deps.portals.portal_by_slug(updated.slug) is not None:
            raise Conflict("That address is already taken.", code="slug_taken") from None
        raise Conflict("The portal changed meanwhile; read it again.", code="concurrent_change") from None


def _event(principal: Principal, portal: Portal, action: str, details: dict[str, Any], deps: Deps) -> Any:
    return custody.event(portal.agency_id, deps=deps, actor=principal.actor, action=action,
                         target=f"portal:{portal.portal_id}", details=details)


def find(agency_id: str, portal_id: str, *, deps: Deps) -> Portal:
    """The agency's portal, or NotFound: another agency's id is as unknown as a made-up one."""
    portal = deps.portals.get_portal(agency_id, portal_id) if ids.is_id(portal_id) else None
    if portal is None:
        raise NotFound("No such portal.", code="portal_not_found")
    return portal


def list_portals(principal: Principal, *, deps: Deps) -> list[Portal]:
    allow(principal, Capability.READ, deps=deps)
    return deps.portals.list_portals(principal.agency_id)


def read(principal: Principal, portal_id: str, *, deps: Deps) -> tuple[Portal, dict[str, Any]]:
    """The portal and its counts: sessions opened and requests refused (kept on the portal), and the
    files, bytes and refused files of its submissions (read from its case)."""
    allow(principal, Capability.READ, deps=deps)
    portal = find(principal.agency_id, portal_id, deps=deps)
    return portal, {"sessions": portal.sessions, "refused_requests": portal.refused, **_file_counts(portal, deps)}


def _file_counts(portal: Portal, deps: Deps) -> dict[str, Any]:
    counts = {"submissions": 0, "files": 0, "bytes": 0, "refused_files": 0, "complete": True}
    cursor: str | None = None
    while True:
        page = deps.submissions.list_submissions(portal.agency_id, case_ref=portal.case_ref, limit=MAX_PAGE,
                                                 cursor=cursor)
        for submission in page.items:
            if not came_through(portal, submission):
                continue
            counts["submissions"] += 1
            for file in submission.files.values():
                counts["files"] += 1
                counts["bytes"] += file.size if file.status is FileStatus.VERIFIED else 0
                counts["refused_files"] += file.status is FileStatus.REJECTED
        cursor = page.next_cursor
        if cursor is None:
            return counts
        if counts["submissions"] >= COUNTED_SUBMISSIONS:
            counts["complete"] = False
            return counts


def triage(principal: Principal, portal_id: str, *, limit: int, cursor: str | None, deps: Deps) -> Page:
    """The triage queue of one portal: what came through it, newest first (its case, community origin)."""
    allow(principal, Capability.READ, deps=deps)
    portal = find(principal.agency_id, portal_id, deps=deps)
    page = deps.submissions.list_submissions(principal.agency_id, case_ref=portal.case_ref,
                                             limit=max(1, min(limit, MAX_PAGE)), cursor=cursor)
    return Page(items=[s for s in page.items if came_through(portal, s)], next_cursor=page.next_cursor)


def came_through(portal: Portal, submission: Submission) -> bool:
    """Sent through this portal: its case may be shared with other portals and the agency's own links."""
    return submission.origin is Origin.COMMUNITY_PORTAL and submission.requested_by == link_creator(portal.portal_id)
