"""Citizen for Officers: an officer sends a citizen a personal upload link."""
from __future__ import annotations

from collections.abc import Callable

from ..domain import ids, links, messages
from ..domain.commands import CreateCitizenLink
from ..domain.errors import DeliveryFailed, NotFound
from ..domain.models import Agency, CitizenLink, Delivery, Principal
from . import custody
from .access import Capability, allow
from .deps import Deps


def send_citizen_link(
    principal: Principal, cmd: CreateCitizenLink, *, page_base: str, deps: Deps
) -> tuple[CitizenLink, str]:
    """Create the link, store only its token's hash, deliver it; returns the link and its URL.
    A failed delivery does not undo the link: the officer sees the status and can read the URL out."""
    agency = allow(principal, Capability.SEND_LINKS, deps=deps)
    now = deps.clock.now()
    token = ids.new_token()
    link = CitizenLink(
        link_id=ids.new_id(now), agency_id=agency.agency_id, case_ref=cmd.case_ref, case_type=cmd.case_type,
        notify_email=principal.email,
        language=cmd.language, note=cmd.note, created_by=principal.actor, created_at=now,
        expires_at=links.expiry(now, agency, cmd.expires_in_hours),
        max_files=agency.max_files_per_link,
        phone_masked=links.mask_phone(cmd.phone) if cmd.phone else None,
        email_masked=links.mask_email(cmd.email) if cmd.email else None,
    )
    url = f"{page_base.rstrip('/')}/c/{token}"
    created = custody.event(agency.agency_id, deps=deps, actor=principal.actor, action="citizen_link.created",
                            target=f"link:{link.link_id}",
                            details={"case_ref": link.case_ref, "expires_at": link.expires_at.isoformat()})
    deps.links.create_link(link, ids.digest(token), event=created)  # before sending: never text a dead link
    link.deliveries = _deliver(agency, link, cmd, url, deps)
    delivered = custody.event(agency.agency_id, deps=deps, actor=principal.actor, action="citizen_link.delivered",
                              target=f"link:{link.link_id}",
                              details={"deliveries": [d.model_dump() for d in link.deliveries]})
    deps.links.save_deliveries(link, event=delivered)
    return link, url


def _deliver(agency: Agency, link: CitizenLink, cmd: CreateCitizenLink, url: str, deps: Deps) -> list[Delivery]:
    text = dict(agency=agency.name, url=url, expires=_expires(link))
    sends: list[tuple[str, Callable[[], str]]] = []
    if cmd.phone:
        phone = cmd.phone
        sends.append(("sms", lambda: text_link(agency, link, phone, url, deps)))
    if cmd.email:
        email = cmd.email
        sends.append(("email", lambda: deps.email.send_email(
            email, messages.email_subject(link.language, agency=agency.name),
            messages.email_text(link.language, note=link.note, **text))))
    return [attempt(channel, send) for channel, send in sends]


def text_link(agency: Agency, link: CitizenLink, phone: str, url: str, deps: Deps) -> str:
    """Text the link to a phone (SNS): also how a portal sends a submitter a private link."""
    return deps.sms.send_sms(phone, messages.sms_text(link.language, agency=agency.name, url=url,
                                                      expires=_expires(link)))


def _expires(link: CitizenLink) -> str:
    return link.expires_at.strftime("%Y-%m-%d %H:%M UTC")


def attempt(channel: str, send: Callable[[], str]) -> Delivery:
    try:
        return Delivery(channel=channel, status="sent", detail=send())
    except DeliveryFailed as exc:
        return Delivery(channel=channel, status="failed", detail=exc.message)


def get_link(principal: Principal, link_id: str, *, deps: Deps) -> CitizenLink:
    allow(principal, Capability.READ, deps=deps)  # through the gate like every agency route: operators get 403
    link = deps.links.get_link(principal.agency_id, link_id) if ids.is_id(link_id) else None
    if link is None:
        raise NotFound("No such citizen link.", code="link_not_found")
    return link
