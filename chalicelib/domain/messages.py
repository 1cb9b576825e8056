"""Texts sent to citizens, per language. Short, and without the case reference: a text message
can be read by whoever holds the phone."""
from __future__ import annotations

_SMS = {
    "en": "{agency}: please upload your photos or videos here: {url} (link expires {expires})",
    "es": "{agency}: suba sus fotos o videos aquí: {url} (el enlace vence {expires})",
    "fr": "{agency} : envoyez vos photos ou vidéos ici : {url} (le lien expire le {expires})",
}
_SUBJECT = {
    "en": "{agency}: please share your photos or videos",
    "es": "{agency}: comparta sus fotos o videos",
    "fr": "{agency} : partagez vos photos ou vidéos",
}
_EMAIL_EXTRA = {
    "en": "Message from the officer: {note}",
    "es": "Mensaje del agente: {note}",
    "fr": "Message de l'agent : {note}",
}


def sms_text(language: str, *, agency: str, url: str, expires: str) -> str:
    return _SMS[language].format(agency=agency, url=url, expires=expires)


def email_subject(language: str, *, agency: str) -> str:
    return _SUBJECT[language].format(agency=agency)


def email_text(language: str, *, agency: str, url: str, expires: str, note: str | None) -> str:
    body = sms_text(language, agency=agency, url=url, expires=expires)
    return body + ("\n\n" + _EMAIL_EXTRA[language].format(note=note) if note else "")
