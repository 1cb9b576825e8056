"""The citizen-facing HTML: the upload page, its assets, and friendly error pages."""
from __future__ import annotations

import html
import json
from functools import cache
from pathlib import Path

from .domain.errors import DomainError, Gone, NotFound
from .http import status_for

WEB = Path(__file__).parent / "web"
ASSETS = {
    "citizen.js": "application/javascript; charset=utf-8",
    "citizen.css": "text/css; charset=utf-8",
    "i18n.json": "application/json; charset=utf-8",
    "access.js": "application/javascript; charset=utf-8",
    "capture.js": "application/javascript; charset=utf-8",
}
# Each page's problem as the domain error it is, so its status comes from http.STATUS like the API's.
_PROBLEMS: dict[str, type[DomainError]] = {"link_not_found": NotFound, "link_expired": Gone, "link_used": Gone}


def security_headers(upload_origin: str) -> dict[str, str | list[str]]:
    csp = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
           f"media-src 'self' blob:; connect-src 'self' {upload_origin}; form-action 'none'; "
           "frame-ancestors 'none'; base-uri 'none'")
    return {
        "Content-Type": "text/html; charset=utf-8",
        "Content-Security-Policy": csp,
        # The token is in the URL: never send it on to another site.
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
        "Cache-Control": "no-store",
    }


@cache
def _read(name: str) -> str:
    return (WEB / name).read_text(encoding="utf-8")


def upload_page() -> str:
    return _read("citizen.html")


def access_page() -> str:
    return _read("access.html")


def capture_page() -> str:
    """The officer's capture page: no secret in its URL; the key is typed in and kept in the tab."""
    return _read("capture.html")


def asset(name: str) -> tuple[str, str] | None:
    """(content, content type) of a public asset, or None: only listed files are served."""
    return (_read(name), ASSETS[name]) if name in ASSETS else None


def error_page(code: str, language: str = "en") -> tuple[int, str]:
    strings = json.loads(_read("i18n.json"))
    texts = strings.get(language) or strings["en"]
    kind = code if code in _PROBLEMS else "link_not_found"
    page = (_read("link-error.html")
            .replace("{{lang}}", html.escape(language if language in strings else "en"))
            .replace("{{title}}", html.escape(texts[f"error.{kind}.title"]))
            .replace("{{message}}", html.escape(texts[f"error.{kind}.message"])))
    return status_for(_PROBLEMS[kind]), page
