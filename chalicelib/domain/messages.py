"""Texts sent to citizens, per language. Kept short: an SMS segment is 160 GSM characters."""
from __future__ import annotations

_SMS = {
    "en": "{agency} asks you to share photos or videos for case {case}. Upload here: {url} (expires {expires})",
    "es": "{agency} le pide compartir fotos o videos del caso {case}. Suba aquí: {url} (vence {expires})",
    "fr": "{agency} vous demande de partager photos ou vidéos pour le dossier {case}. Envoyez-les ici : {url} (expire le {expires})",
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


def sms_text(language: str, *, agency: str, case: str, url: str, expires: str) -> str:
    return _SMS[language].format(agency=agency, case=case, url=url, expires=expires)


def email_subject(language: str, *, agency: str) -> str:
    return _SUBJECT[language].format(agency=agency)


def email_text(language: str, *, agency: str, case: str, url: str, expires: str, note: str | None) -> str:
    body = sms_text(language, agency=agency, case=case, url=url, expires=expires)
    return body + ("\n\n" + _EMAIL_EXTRA[language].format(note=note) if note else "")
