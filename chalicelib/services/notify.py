"""Messages to an agency as a whole (its contact address)."""
from __future__ import annotations

from ..domain.errors import DeliveryFailed
from .deps import Deps


def email_agency(agency_id: str, subject: str, text: str, *, deps: Deps) -> None:
    """Raises DeliveryFailed when the agency has no contact or SES refuses: callers audit it."""
    agency = deps.agencies.get_agency(agency_id)
    if agency is None or not agency.contact_email:
        raise DeliveryFailed(f"Agency {agency_id} has no contact email.")
    deps.email.send_email(agency.contact_email, subject, text)
