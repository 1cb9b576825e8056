"""The public HTML: the citizen upload page, its assets, friendly error pages, and the improvement
program's transparency page."""
from __future__ import annotations

import html
import json
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

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


LANGUAGE_NAMES = {"en": "English", "es": "Español", "fr": "Français"}


def transparency_page(data: dict[str, Any], language: str = "en") -> str:
    """The public registry of use cases, rendered on the server: every text that comes from a use
    case goes through html.escape (a title with <script> shows as text), and the page runs no script."""
    strings = json.loads(_read("i18n.json"))
    language = language if language in strings else "en"
    texts = strings[language]

    def t(key: str, **values: object) -> str:
        text: str = texts.get(key) or strings["en"][key]
        for name, value in values.items():
            text = text.replace("{" + name + "}", str(value))
        return html.escape(text)

    cases = [_use_case_card(case, t) for case in data.get("use_cases", [])]
    if not cases:
        cases = [f'    <div class="card"><p>{t("transparency.empty")}</p></div>']
    links = " · ".join(
        f'<a href="?lang={code}" lang="{code}"' + (' aria-current="page"' if code == language else "")
        + f">{html.escape(name)}</a>" for code, name in LANGUAGE_NAMES.items())
    return (_read("transparency.html")
            .replace("{{lang}}", language)
            .replace("{{title}}", t("transparency.title"))
            .replace("{{header}}", t("transparency.header"))
            .replace("{{intro}}", t("transparency.intro", days=int(data.get("notice_days", 30))))
            .replace("{{json}}", t("transparency.json"))
            .replace("{{languages}}", t("transparency.languages"))
            .replace("{{language_links}}", links)
            .replace("{{use_cases}}", "\n".join(cases)))


def _use_case_card(case: dict[str, Any], t: Callable[..., str]) -> str:
    versions = case["versions"]
    latest = versions[-1]
    status = []
    if case.get("applying"):
        status.append(f'<p class="meta">{t("transparency.applying", version=case["applying"])}</p>')
    upcoming = next((v for v in versions if v["version"] == case.get("upcoming")), None)
    if upcoming is not None:
        notice = t("transparency.upcoming", version=upcoming["version"], date=upcoming["effective_on"])
        status.append(f'<p class="meta">{notice}</p>')
    history = "\n".join(_version_details(v, t, open_=v is latest) for v in reversed(versions))
    return (f'    <section class="card use-case" aria-labelledby="uc-{_e(case["use_case_id"])}">\n'
            f'      <p class="badge badge-{_e(case["state"])}">{t("transparency.state." + case["state"])}</p>\n'
            f'      <h2 id="uc-{_e(case["use_case_id"])}" class="use-case-title">{_e(latest["title"])}</h2>\n'
            f'      {"".join(status)}\n'
            f'      <h3 class="history-heading">{t("transparency.history")}</h3>\n{history}\n'
            f'    </section>')


def _version_details(version: dict[str, Any], t: Callable[..., str], *, open_: bool) -> str:
    rows = [("purpose", _e(version["purpose"])),
            ("data_types", _e(", ".join(version["data_types"]))),
            ("technique", _e(version["technique"])),
            ("retention", _e(version["retention"])),
            ("practices", _e(version["practices"]) or t("transparency.none")),
            ("tier", t("transparency.tier." + version["tier"])),
            ("announced", _e((version.get("announced_at") or "")[:10])),
            ("effective", _e(version.get("effective_on") or ""))]
    if version.get("retired_at"):
        rows.append(("retired", _e(version["retired_at"][:10])))
    fields = "".join(f"<dt>{t('transparency.field.' + key)}</dt><dd>{value}</dd>" for key, value in rows)
    summary = (f'{t("transparency.version", version=version["version"])} · '
               f'{t("transparency.state." + version["state"])}')
    return (f'      <details class="version"{" open" if open_ else ""}><summary>{summary}</summary>'
            f'<p class="version-title">{_e(version["title"])}</p><dl class="fields">{fields}</dl></details>')


def _e(value: object) -> str:
    return html.escape(str(value))
