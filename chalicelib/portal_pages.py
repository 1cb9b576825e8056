"""The public page of a community portal, rendered on the server in the citizen page's look: every
text from the portal is escaped (a title with <script> shows as text), the strings the page's script
needs travel as an inert JSON block, and the only script is static/portal.js (strict CSP)."""
from __future__ import annotations

import html
import json
import re
from typing import Any

from .domain.portals import Ask, Availability
from .pages import LANGUAGE_NAMES, _read

PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")
FIELDS = {"name": ("text", "name"), "email": ("email", "email"), "phone": ("tel", "tel")}
SCRIPT_KEYS = ("error.terms_not_accepted", "error.contact_required", "error.invalid_email", "error.invalid_phone",
               "error.rate_limited", "error.terms_changed", "error.portal_closed", "error.portal_not_open",
               "error.generic", "error.network", "error.summary", "sms_sent", "sms_failed", "starting")


def _texts(language: str) -> tuple[str, dict[str, str]]:
    strings = json.loads(_read("i18n.json"))
    language = language if language in strings else "en"
    english = {k[7:]: v for k, v in strings["en"].items() if k.startswith("portal.")}
    own = {k[7:]: v for k, v in strings[language].items() if k.startswith("portal.")}
    return language, english | own


def render(data: dict[str, Any] | None, language: str) -> str:
    """The portal's page (data from portal_sessions.page_data), or the not-found page for None."""
    language, texts = _texts(language)

    def t(key: str, **values: object) -> str:
        text = texts[key]
        for name, value in values.items():
            text = text.replace("{" + name + "}", str(value))
        return html.escape(text)

    if data is None:
        return _page(language, t, title=t("not_found.title"), header="", intro=f"<p>{t('not_found.message')}</p>",
                     body="", slug="", strings={})
    intro = "".join(f'<p class="meta">{t(key, **{key: data[field]})}</p>'
                    for key, field in (("location", "location"), ("reach", "agency_contact")) if data[field])
    description = f'<p class="portal-description">{_e(data["description"])}</p>' if data["description"] else ""
    state = Availability(data["state"])
    body = _form(data, language, t) if state is Availability.OPEN else _notice(state, t)
    strings = {key: texts[key] for key in SCRIPT_KEYS}
    return _page(language, t, title=_e(data["title"]), header=_e(data["agency_name"]),
                 intro=description + intro, body=body, slug=data["slug"], strings=strings)


def _page(language: str, t: Any, *, title: str, header: str, intro: str, body: str, slug: str,
          strings: dict[str, str]) -> str:
    links = " · ".join(
        f'<a href="?lang={code}" lang="{code}"' + (' aria-current="page"' if code == language else "")
        + f">{html.escape(name)}</a>" for code, name in LANGUAGE_NAMES.items())
    # An inert data block (never executed, so the CSP allows it); "<" escaped so no text can close it.
    data = json.dumps(strings).replace("<", "\\u003c")
    values = {"lang": language, "slug": _e(slug), "title": title, "header": header or t("secure"),
              "secure": t("secure"), "intro": intro, "body": body, "languages": t("languages"),
              "language_links": links, "strings": data}
    # One pass: text from the portal that looks like a placeholder is never filled in.
    return PLACEHOLDER.sub(lambda match: values[match.group(1)], _read("portal.html"))


def _notice(state: Availability, t: Any) -> str:
    kind = "not_open" if state is Availability.NOT_YET_OPEN else "closed"
    return (f'<div class="card link-error" id="portal-state" data-state="{state.value}">'
            f'<span class="mark" aria-hidden="true">!</span><h2>{t(kind + ".title")}</h2>'
            f'<p>{t(kind + ".message")}</p></div>')


def _form(data: dict[str, Any], language: str, t: Any) -> str:
    terms = data["terms"]
    text = terms["text"].get(language) or terms["text"]["en"]
    contact = "".join(_contact_field(name, Ask(ask), t) for name, ask in data["contact"].items()
                      if ask != Ask.NONE.value)
    if contact:
        contact = f'<h2>{t("contact_heading")}</h2>{contact}'
    closes = f'<p class="meta">{t("closes", closes=data["closes_at"][:16].replace("T", " "))} UTC</p>' \
        if data["closes_at"] else ""
    return f'''<form id="portal-form" class="card" novalidate data-terms-version="{_e(terms["version"])}">
      {closes}
      <h2>{t("types_heading")}</h2>
      <p>{t("types", files=data["files_per_session"])}</p>
      <h2 id="terms-heading">{t("terms_heading")}</h2>
      <p class="meta">{t("terms_version", version=terms["version"])}</p>
      <div class="terms" id="terms" tabindex="0" aria-labelledby="terms-heading">{_e(text)}</div>
      <p class="check-row"><input type="checkbox" id="accept" name="accept" aria-describedby="accept-error">
        <label for="accept">{t("accept")}</label></p>
      <p class="file-error field-error" id="accept-error" hidden></p>
      {contact}
      <p id="form-error" class="file-error" role="alert" tabindex="-1" hidden></p>
      <button class="button button-primary" id="start" type="submit">{t("start")}</button>
      <h2>{t("sms_heading")}</h2>
      <p class="hint">{t("sms_hint")}</p>
      <label class="caption-label" for="sms-phone">{t("sms_label")}</label>
      <input class="caption" id="sms-phone" type="tel" autocomplete="tel" maxlength="16"
        aria-describedby="sms-phone-error">
      <p class="file-error field-error" id="sms-phone-error" hidden></p>
      <button class="button button-secondary" id="sms-send" type="button">{t("sms_send")}</button>
      <p id="sms-result" role="status" tabindex="-1"></p>
    </form>'''


def _contact_field(name: str, ask: Ask, t: Any) -> str:
    kind, autocomplete = FIELDS[name]
    optional = f' <span class="optional">{t("optional")}</span>' if ask is Ask.OPTIONAL else ""
    required = ' required aria-required="true"' if ask is Ask.REQUIRED else ""
    return (f'<label class="caption-label" for="contact-{name}">{t("field." + name)}{optional}</label>'
            f'<input class="caption" id="contact-{name}" name="{name}" type="{kind}" autocomplete="{autocomplete}"'
            f' maxlength="200"{required} aria-describedby="contact-{name}-error">'
            f'<p class="file-error field-error" id="contact-{name}-error" hidden></p>')


def _e(value: object) -> str:
    return html.escape(str(value))
