"""Community portals, the public's side: the page's content, opening an upload session (a citizen
link whose evidence is filed under the portal's case with origin community_portal), texting that
link to a phone, and the portal's caps on files and bytes when the session's page asks to upload.
Caps are counted before anything is written or signed; refusals are counted on the portal."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..domain import ids, links, media
from ..domain.errors import Conflict, Forbidden, Gone, NotFound, RateLimited
from ..domain.limits import Check, Rule, client_scope
from ..domain.models import Agency, CitizenLink, Delivery, EvidenceFile, Origin
from ..domain.portals import (
    SLUG,
    Availability,
    Portal,
    SmsLink,
    StartSession,
    availability,
    collected_contact,
    ensure_accepted,
    ensure_open,
    link_creator,
    refuse_unless_open,
    session_expiry,
)
from . import access, citizen_links, custody, limits
from .deps import Deps

REFUSALS = {"portal_closed", "portal_not_open"}


def public(slug: str, *, deps: Deps) -> tuple[Portal, Agency, Availability]:
    """The portal behind an address, its agency, and whether it takes submissions now. A portal whose
    agency no longer has Citizen for Communities is shown as closed."""
    portal = deps.portals.portal_by_slug(slug) if SLUG.fullmatch(slug) else None
    agency = deps.agencies.get_agency(portal.agency_id) if portal else None
    if portal is None or agency is None:
        raise NotFound("There is no portal at this address.", code="portal_not_found")
    state = availability(portal, deps.clock.now())
    if state is Availability.OPEN and not _may_collect(agency, deps):
        state = Availability.CLOSED
    return portal, agency, state


def _may_collect(agency: Agency, deps: Deps) -> bool:
    try:
        access.ensure_feature(access.entitlements_of(agency, deps=deps), access.Capability.PORTALS)
    except Forbidden:
        return False
    return True


def page_data(portal: Portal, agency: Agency, state: Availability) -> dict[str, Any]:
    """What the public page shows (and GET /p/{slug} as JSON): nothing internal (case, caps, counts)."""
    return {"slug": portal.slug, "title": portal.title, "description": portal.description,
            "location": portal.location, "agency_name": agency.name, "agency_contact": portal.agency_contact,
            "state": state.value, "opens_at": _iso(portal.opens_at), "closes_at": _iso(portal.closes_at),
            "terms": {"version": portal.terms.version, "text": portal.terms.text},
            "contact": portal.contact.model_dump(mode="json"), "language": portal.language,
            "allowed_types": sorted(media.ALLOWED_TYPES), "files_per_session": portal.caps.files_per_session}


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None


def start(slug: str, cmd: StartSession, *, address: str | None, page_base: str,
          deps: Deps) -> tuple[CitizenLink, str]:
    """Open an upload session: (the link, its page URL with the token). The token is shown once."""
    _, _, link, token = _open(slug, cmd, address, deps)
    return link, _url(page_base, token)


def text_link(slug: str, cmd: SmsLink, *, address: str | None, page_base: str, deps: Deps) -> Delivery:
    """Open a session and text its private link to the number given (never shown on the page)."""
    _, agency, link, token = _open(slug, cmd, address, deps, phone=cmd.send_to)
    url = _url(page_base, token)
    link.deliveries = [citizen_links.attempt("sms", lambda: citizen_links.text_link(agency, link, cmd.send_to,
                                                                                     url, deps))]
    delivered = custody.event(link.agency_id, deps=deps, actor="citizen", action="citizen_link.delivered",
                              target=f"link:{link.link_id}",
                              details={"deliveries": [d.model_dump() for d in link.deliveries]})
    deps.links.save_deliveries(link, event=delivered)
    return link.deliveries[0]


def _url(page_base: str, token: str) -> str:
    return f"{page_base.rstrip('/')}/c/{token}"


def _open(slug: str, cmd: StartSession, address: str | None, deps: Deps,
          phone: str | None = None) -> tuple[Portal, Agency, CitizenLink, str]:
    portal, agency, state = public(slug, deps=deps)
    with _refusals_counted(portal, deps):
        refuse_unless_open(state)
        ensure_accepted(portal, cmd)
        contact = collected_contact(portal, cmd.contact)
        caps = portal.caps
        texts = [] if phone is None else [  # per client and per number: the texts a portal may send
            Check(rule=Rule.PORTAL_SMS, scope=client_scope(address), cap=deps.rate_caps.portal_sms),
            Check(rule=Rule.PORTAL_SMS, scope=f"phone:{ids.digest(phone)[:32]}", cap=deps.rate_caps.portal_sms)]
        limits.enforce(*texts,
                       Check(rule=Rule.PORTAL_SESSIONS, scope=_client(portal, address),
                             cap=caps.cap(caps.sessions_per_client)),
                       Check(rule=Rule.PORTAL_SESSIONS, scope=_scope(portal), cap=caps.cap(caps.sessions_per_portal)),
                       deps=deps)
    now, token = deps.clock.now(), ids.new_token()
    link = CitizenLink(
        link_id=ids.new_id(now), agency_id=portal.agency_id, case_ref=portal.case_ref, language=cmd.language,
        created_by=link_creator(portal.portal_id), created_at=now, expires_at=session_expiry(portal, now),
        max_files=caps.files_per_session, origin=Origin.COMMUNITY_PORTAL, portal_id=portal.portal_id,
        terms_version=portal.terms.version, contact=contact,
        phone_masked=links.mask_phone(phone) if phone else None)
    opened = custody.event(portal.agency_id, deps=deps, actor="citizen", action="portal.session_opened",
                           target=f"link:{link.link_id}",
                           details={"portal_id": portal.portal_id, "terms_version": portal.terms.version,
                                    "contact_given": sorted(contact), "by_sms": phone is not None})
    deps.links.create_link(link, ids.digest(token), event=opened)
    deps.portals.count(portal, "sessions")  # a statistic: a crash here leaves it one short, never the session
    return portal, agency, link, token


def _scope(portal: Portal) -> str:
    return f"portal:{portal.portal_id}"


def _client(portal: Portal, address: str | None) -> str:
    return f"{_scope(portal)}:{client_scope(address)}"


@contextmanager
def _refusals_counted(portal: Portal, deps: Deps) -> Iterator[None]:
    """Count a refusal (portal closed or not open yet, a cap reached) on the portal, then raise it."""
    try:
        yield
    except (RateLimited, Gone, Conflict) as error:
        if isinstance(error, RateLimited) or error.code in REFUSALS:
            deps.portals.count(portal, "refused")
        raise


def admit_uploads(link: CitizenLink, added: list[EvidenceFile], *, address: str | None, deps: Deps) -> None:
    """For a portal's session, once the request is known to be valid and before anything is signed:
    refuse once the portal is closed, and count the new files and their bytes against the portal's
    caps (per client and for everyone). A link of an officer passes untouched (its own limits are
    the link's). Called after the link's own checks, so a request refused for its content spends
    nothing of the caps."""
    portal = deps.portals.get_portal(link.agency_id, link.portal_id) if link.portal_id else None
    if portal is None:
        return
    caps = portal.caps
    with _refusals_counted(portal, deps):
        ensure_open(portal, deps.clock.now())
        if added:
            count, size = len(added), sum(f.size for f in added)
            limits.enforce(  # bytes first: the likelier refusal, so it spends nothing of the file caps
                Check(rule=Rule.PORTAL_BYTES, scope=_client(portal, address), cap=caps.cap(caps.bytes_per_client),
                      cost=size),
                Check(rule=Rule.PORTAL_BYTES, scope=_scope(portal), cap=caps.cap(caps.bytes_per_portal), cost=size),
                Check(rule=Rule.PORTAL_FILES, scope=_client(portal, address), cap=caps.cap(caps.files_per_client),
                      cost=count),
                Check(rule=Rule.PORTAL_FILES, scope=_scope(portal), cap=caps.cap(caps.files_per_portal), cost=count),
                deps=deps)
