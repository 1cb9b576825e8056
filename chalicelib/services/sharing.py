"""Sharing evidence with another agency: an owner's admin shares one submission or a whole case,
read-only, optionally until an instant, and may revoke it; the recipient lists what it was given
and views it with short-lived download URLs of the verified versions. Nothing is copied: every
read goes to the owner's item through the share, so retention, holds and review stay the owner's,
and a revoked or expired share reaches nothing from that moment. Every share, view and revocation
is recorded in both agencies' audit logs, in one transaction with the change (domain/sharing.py)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from ..domain import ids, links, sharing
from ..domain.errors import Conflict, NotFound
from ..domain.models import Agency, AuditEvent, Listing, Page, Principal, Submission, Tombstone
from ..domain.sharing import CreateShare, Share, ShareState
from . import access, custody
from .access import Capability
from .deps import Deps
from .submissions import find

MAX_PAGE = 100


@dataclass(frozen=True)
class SharedItem:
    """One of the owner's items as a recipient sees it: the submission, or the tombstone its
    deletion left (the owner's retention ended it), with download URLs for a live one."""

    share: Share
    owner: Agency
    submission: Submission | None = None
    tombstone: Tombstone | None = None
    download_urls: dict[str, str] | None = None


def share(principal: Principal, cmd: CreateShare, *, deps: Deps) -> Share:
    """An admin shares one of its agency's submissions, or a case it has items in."""
    owner = access.allow(principal, Capability.SHARE, deps=deps)
    now = deps.clock.now()
    sharing.check_new(cmd, owner.agency_id, now)
    recipient = _agency(cmd.recipient_agency_id, deps)
    sharing.ensure_can_receive(access.entitlements_of(recipient, deps=deps), recipient=False)
    if cmd.submission_id is not None:
        find(owner.agency_id, cmd.submission_id, deps=deps)
    elif not deps.submissions.list_submissions(owner.agency_id, case_ref=cmd.case_ref, limit=1, cursor=None).items:
        raise NotFound("Your agency has no submissions in that case.", code="case_not_found")
    made = Share(share_id=ids.new_id(now), owner_agency_id=owner.agency_id, recipient_agency_id=recipient.agency_id,
                 submission_id=cmd.submission_id, case_ref=cmd.case_ref, until=cmd.until,
                 created_by=principal.actor, created_at=now)
    deps.shares.create_share(made, events=_both(made, principal, "share.created", f"share:{made.share_id}", deps,
                                                {"until": made.until.isoformat() if made.until else None}))
    return made


def outgoing(principal: Principal, *, limit: int, cursor: str | None, deps: Deps) -> Page:
    """The shares this agency made, newest first, revoked and expired ones included."""
    agency = access.allow(principal, Capability.READ, deps=deps)
    return deps.shares.list_outgoing(agency.agency_id, limit=_limit(limit), cursor=cursor)


def revoke(principal: Principal, share_id: str, *, deps: Deps) -> Share:
    """Ends a share at once (an expired one too, for the record); Conflict if already revoked."""
    owner = access.allow(principal, Capability.SHARE, deps=deps)
    found = deps.shares.get_share(owner.agency_id, share_id) if ids.is_id(share_id) else None
    if found is None:
        raise NotFound("No such share.", code="share_not_found")
    if found.revoked_at is not None:
        raise Conflict("The share was already revoked.", code="already_revoked")
    revoked = found.model_copy(update={"revoked_at": deps.clock.now(), "revoked_by": principal.actor})
    deps.shares.revoke_share(revoked, events=_both(revoked, principal, "share.revoked", f"share:{share_id}", deps))
    return revoked


def incoming(principal: Principal, *, limit: int, cursor: str | None, deps: Deps) -> Page:
    """Active shares made with this agency, newest first. Inactive ones are left out of each page,
    so a page may hold fewer than `limit`; `next` still continues."""
    agency = _receiver(principal, deps)
    page = deps.shares.list_incoming(agency.agency_id, limit=_limit(limit), cursor=cursor)
    now = deps.clock.now()
    return Page(items=[s for s in page.items if sharing.is_active(s, now)], next_cursor=page.next_cursor)


def opened(principal: Principal, share_id: str, *, deps: Deps) -> tuple[Share, Agency]:
    """The caller's active share and its owner. Another agency's share is as unknown as a made-up
    id (share_not_found); a revoked or expired one is a 404 that says so (the recipient knew it)."""
    agency = _receiver(principal, deps)
    found = deps.shares.shared_with(agency.agency_id, share_id) if ids.is_id(share_id) else None
    if found is None:
        raise NotFound("No such share.", code="share_not_found")
    now_state = sharing.state(found, deps.clock.now())
    if now_state is not ShareState.ACTIVE:
        raise NotFound(f"This share was {now_state.value}.", code=f"share_{now_state.value}")
    owner = deps.agencies.get_agency(found.owner_agency_id)
    if owner is None:
        raise NotFound("No such share.", code="share_not_found")
    return found, owner


def items(principal: Principal, share_id: str, *, limit: int, cursor: str | None,
          deps: Deps) -> tuple[Share, Agency, list[SharedItem], str | None]:
    """What the share reaches, newest first: the case's current items (cursor as in the agency
    listing), or its one submission (its tombstone once the owner's retention deleted it)."""
    found, owner = opened(principal, share_id, deps=deps)
    if found.case_ref is not None:
        page = deps.submissions.list_submissions(owner.agency_id, case_ref=found.case_ref, limit=_limit(limit),
                                                 cursor=cursor)
        return found, owner, [SharedItem(found, owner, submission=s) for s in page.items
                              if sharing.covers_submission(found, s)], page.next_cursor
    one = _item(found, owner, found.submission_id or "", deps)
    return found, owner, [one] if one else [], None


def view(principal: Principal, share_id: str, submission_id: str, *, deps: Deps) -> SharedItem:
    """One shared item with 5-minute download URLs pinned to the verified versions, recorded in
    both logs together, and only while the share is still not revoked."""
    found, owner = opened(principal, share_id, deps=deps)
    item = _item(found, owner, submission_id, deps) if ids.is_id(submission_id) else None
    if item is None:
        raise NotFound("No such submission.", code="submission_not_found")
    files = item.submission.files.values() if item.submission else []
    urls = {f.file_id: deps.blobs.presign_download(f.key, filename=f.name, expires_in=links.DOWNLOAD_URL_TTL,
                                                   version_id=f.version_id) for f in files if f.sha256}
    details = {"download_urls": len(urls), "deleted": item.tombstone is not None,
               "original_origin": item.submission.origin.value if item.submission else None}
    events = _both(found, principal, "shared_submission.viewed", f"submission:{submission_id}", deps, details)
    try:
        deps.shares.record_view(found, events=events)
    except Conflict:  # revoked between the read and the record: no URLs leave
        raise NotFound("This share was revoked.", code="share_revoked") from None
    return SharedItem(found, owner, item.submission, item.tombstone, urls)


class ShareView(Share):
    model_config = ConfigDict(from_attributes=True)
    state: ShareState  # active, expired or revoked, now


class SharePage(Listing):
    items: list[ShareView]


def share_view(share: Share, now: datetime) -> ShareView:
    return ShareView.model_validate(share.model_dump() | {"state": sharing.state(share, now)})


class AgencyEntry(BaseModel):
    model_config = ConfigDict(defer_build=True, from_attributes=True)
    agency_id: str
    name: str
    country: str


class AgencyDirectory(Listing):
    items: list[AgencyEntry]


def directory(principal: Principal, *, limit: int, cursor: str | None, deps: Deps) -> Page:
    """The operator's list of agencies (id, name, country): where an admin learns whom to share with."""
    from .access_requests import require_operator  # deferred: the agency routes never load it

    require_operator(principal)
    return deps.agencies.list_agencies(limit=_limit(limit), cursor=cursor)


def _item(found: Share, owner: Agency, submission_id: str, deps: Deps) -> SharedItem | None:
    live = deps.submissions.get_submission(owner.agency_id, submission_id)
    if live is not None:
        return SharedItem(found, owner, submission=live) if sharing.covers_submission(found, live) else None
    gone = deps.submissions.tombstone(owner.agency_id, submission_id)
    if gone is not None and sharing.covers(found, gone.agency_id, gone.submission_id, gone.case_ref):
        return SharedItem(found, owner, tombstone=gone)
    return None


def ensure_receiver(principal: Principal, *, deps: Deps) -> Agency:
    """The caller's agency, if it may read what others share with it (any licence, or the program)."""
    return _receiver(principal, deps)


def _receiver(principal: Principal, deps: Deps) -> Agency:
    agency = access.allow(principal, Capability.READ, deps=deps)
    sharing.ensure_can_receive(access.entitlements_of(agency, deps=deps), recipient=True)
    return agency


def _agency(agency_id: str, deps: Deps) -> Agency:
    found = deps.agencies.get_agency(agency_id) if ids.is_id(agency_id) else None
    if found is None:
        raise NotFound("No such agency.", code="agency_not_found")
    return found


def _both(made: Share, principal: Principal, action: str, target: str, deps: Deps,
          details: dict[str, Any] | None = None) -> list[AuditEvent]:
    """The same event for the owner's log and the recipient's, each naming the other side."""
    common = {"share_id": made.share_id, "scope": made.scope, "by_agency_id": principal.agency_id,
              **(details or {})}
    return [custody.event(made.owner_agency_id, deps=deps, actor=principal.actor, action=action, target=target,
                          details={**common, "recipient_agency_id": made.recipient_agency_id}),
            custody.event(made.recipient_agency_id, deps=deps, actor=principal.actor, action=action, target=target,
                          details={**common, "owner_agency_id": made.owner_agency_id, "origin": "shared"})]


def _limit(limit: int) -> int:
    return max(1, min(limit, MAX_PAGE))
