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
    "portal.js": "application/javascript; charset=utf-8",
    "forms.css": "text/css; charset=utf-8",
    "hash-wasm-sha256.js": "application/javascript; charset=utf-8",
    "citizen-transfer.js": "application/javascript; charset=utf-8",
    "citizen-hashing.js": "application/javascript; charset=utf-8",
}
_FILES = {"hash-wasm-sha256.js": "vendor/hash-wasm-sha256.umd.min.js"}  # vendored (web/vendor/README.md)
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
    return (_read(_FILES.get(name, name)), ASSETS[name]) if name in ASSETS else None


def error_page(code: str, language: str = "en", *, agency: Any = None) -> tuple[int, str]:
    """A dead link's page; with the agency that sent it, its name and how to reach it."""
    strings = json.loads(_read("i18n.json"))
    texts = strings.get(language) or strings["en"]
    kind = code if code in _PROBLEMS else "link_not_found"
    contact = ""
    if agency is not None:
        template = texts["error.contact"] if agency.contact_email else texts["error.contact_generic"]
        contact = template.replace("{agency}", agency.name).replace("{contact}", agency.contact_email or "")
    page = (_read("link-error.html")
            .replace("{{lang}}", html.escape(language if language in strings else "en"))
            .replace("{{title}}", html.escape(texts[f"error.{kind}.title"]))
            .replace("{{message}}", html.escape(texts[f"error.{kind}.message"]))
            .replace("{{agency}}", html.escape(agency.name if agency is not None else ""))
            .replace("{{contact}}", html.escape(contact)))
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
            .replace("{{use_cases}}", "\n".join(cases))
            .replace("{{forms}}", _program_forms(data, language, t)))


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


# --- the transparency page's forms (plain HTML posts: the page runs no script) ------------------------

def upload_page_headers(upload_origin: str) -> dict[str, str | list[str]]:
    """The upload page's headers: it may compile WebAssembly (the vendored SHA-256), never eval, and
    hash in a worker of its own (citizen-hashing.js)."""
    headers = security_headers(upload_origin)
    csp = str(headers["Content-Security-Policy"]).replace(
        "script-src 'self'", "script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'")
    return headers | {"Content-Security-Policy": csp}


def form_headers() -> dict[str, str | list[str]]:
    """The public pages' headers, with forms allowed to post to this site only."""
    headers = security_headers("'self'")
    csp = str(headers["Content-Security-Policy"]).replace("form-action 'none'", "form-action 'self'")
    return headers | {"Content-Security-Policy": csp}


def _program_forms(data: dict[str, Any], language: str, t: Callable[..., str]) -> str:
    """Feedback (bounded like the route: 2,000 characters) and change-notice subscription."""
    options = "".join(f'<option value="{_e(case["use_case_id"])}">{_e(case["title"])}</option>'
                      for case in data.get("use_cases", []))
    hidden = f'<input type="hidden" name="language" value="{_e(language)}">'
    return (f'    <section class="card" aria-labelledby="feedback-heading">\n'
            f'      <h2 id="feedback-heading">{t("program.feedback.title")}</h2>\n'
            f'      <p class="hint">{t("program.feedback.intro")}</p>\n'
            f'      <form method="post" action="transparency/feedback" class="program-form">{hidden}\n'
            f'        <label class="caption-label" for="feedback-message">{t("program.feedback.message")}</label>\n'
            f'        <textarea class="caption" id="feedback-message" name="message" rows="5" maxlength="2000" '
            f'required></textarea>\n'
            f'        <label class="caption-label" for="feedback-use-case">{t("program.feedback.use_case")}</label>\n'
            f'        <select class="caption" id="feedback-use-case" name="use_case_id">'
            f'<option value="">{t("program.feedback.general")}</option>{options}</select>\n'
            f'        <label class="caption-label" for="feedback-email">{t("program.feedback.email")}</label>\n'
            f'        <input class="caption" id="feedback-email" name="email" type="email" maxlength="254" '
            f'autocomplete="email">\n'
            f'        <p><button class="button button-primary" type="submit">'
            f'{t("program.feedback.send")}</button></p>\n'
            f'      </form>\n    </section>\n'
            f'    <section class="card" aria-labelledby="subscribe-heading">\n'
            f'      <h2 id="subscribe-heading">{t("program.subscribe.title")}</h2>\n'
            f'      <p class="hint">{t("program.subscribe.intro")}</p>\n'
            f'      <form method="post" action="transparency/subscriptions" class="program-form">{hidden}\n'
            f'        <label class="caption-label" for="subscribe-email">{t("program.subscribe.email")}</label>\n'
            f'        <input class="caption" id="subscribe-email" name="email" type="email" maxlength="254" required '
            f'autocomplete="email">\n'
            f'        <p><button class="button button-secondary" type="submit">'
            f'{t("program.subscribe.send")}</button></p>\n'
            f'      </form>\n    </section>')


def program_message_page(outcome: str, language: str, problem: str | None = None, *, action: str | None = None) -> str:
    """What a form post answers a browser with: the outcome, or the problem (its message, escaped);
    with `action`, a one-button form that posts there (the confirmation link's page)."""
    strings = json.loads(_read("i18n.json"))
    texts = strings.get(language) or strings["en"]

    def text(key: str) -> str:
        return html.escape(texts.get(key) or strings["en"][key])

    form = "" if action is None else (  # the hidden field last: the button's paragraph keeps its margin
        f'<form method="post" action="{html.escape(action)}"><p><button class="button button-primary" '
        f'type="submit">{text(f"program.{outcome}.button")}</button></p>'
        f'<input type="hidden" name="language" value="{html.escape(language)}"></form>')
    return (_read("program-message.html")
            .replace("{{lang}}", html.escape(language if language in strings else "en"))
            .replace("{{title}}", text(f"program.{outcome}.title"))
            .replace("{{message}}", html.escape(problem) if problem is not None else text(f"program.{outcome}.message"))
            .replace("{{form}}", form)
            .replace("{{header}}", text("transparency.header"))
            .replace("{{back}}", text("program.back")))
