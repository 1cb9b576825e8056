"""What an agency may do right now. Reading, downloading and exporting its own data are never
refused: an agency in limited mode (its licence lets it do nothing else) keeps them."""
from __future__ import annotations

from enum import Enum

from ..domain.errors import Forbidden
from ..domain.models import AccessMode, Agency, Principal, Role


class Capability(str, Enum):
    READ = "read"
    DOWNLOAD = "download"
    EXPORT = "export"
    SEND_LINKS = "send_citizen_links"
    REVIEW = "review"
    CONFIGURE = "configure"


ALWAYS = {Capability.READ, Capability.DOWNLOAD, Capability.EXPORT}
ADMIN_ONLY = {Capability.CONFIGURE}


def require(principal: Principal, agency: Agency, capability: Capability) -> None:
    if capability in ADMIN_ONLY and principal.role is not Role.AGENCY_ADMIN:
        raise Forbidden("Only an agency admin may do this.", code="admin_only")
    if capability not in ALWAYS and agency.access_mode is AccessMode.LIMITED:
        raise Forbidden(
            f"Your agency's access is limited to reading, downloading and exporting its data; "
            f"{capability.value.replace('_', ' ')} is not included.",
            code="limited_mode", details={"missing": capability.value},
        )
