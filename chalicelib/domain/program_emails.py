"""The change-notice emails, in the subscriber's language (en, es, fr; agency contacts get English).
Plain text: a use case's title is the operator's words and goes out as written. Pure."""
from __future__ import annotations

from .program_notices import CONFIRM_HOURS, Notice, NoticeKind

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "announced": "A new use of agency data is announced",
        "material_edit": "A use of agency data changes (a new version is announced)",
        "retired": "A use of agency data is retired",
        "version": "version {version}",
        "effective": "It can apply no earlier than {date}; until then nothing changes.",
        "gone": "It no longer applies to anyone's data.",
        "record": "The full record and its history: {url}",
        "stop": "To stop these notices, open: {url}",
        "subject": "Improvement program: {title}",
        "confirm_subject": "Confirm your improvement program notices",
        "confirm_body": "Someone (we hope you) asked to be told when the improvement program announces, changes or "
                        "retires a use of agency data. Nothing is sent to this address until you open this link and "
                        "press Confirm:",
        "confirm_expiry": "The link works for {hours} hours. If you did not ask, ignore this email.",
    },
    "es": {
        "announced": "Se anuncia un nuevo uso de datos de las agencias",
        "material_edit": "Cambia un uso de datos de las agencias (se anuncia una nueva versión)",
        "retired": "Se retira un uso de datos de las agencias",
        "version": "versión {version}",
        "effective": "No puede aplicarse antes del {date}; hasta entonces nada cambia.",
        "gone": "Ya no se aplica a los datos de nadie.",
        "record": "El registro completo y su historial: {url}",
        "stop": "Para dejar de recibir estos avisos, abra: {url}",
        "subject": "Programa de mejora: {title}",
        "confirm_subject": "Confirme sus avisos del programa de mejora",
        "confirm_body": "Alguien (esperamos que usted) pidió que le avisemos cuando el programa de mejora anuncie, "
                        "cambie o retire un uso de datos de las agencias. No se envía nada a esta dirección hasta que "
                        "abra este enlace y pulse Confirmar:",
        "confirm_expiry": "El enlace funciona durante {hours} horas. Si no lo pidió, ignore este correo.",
    },
    "fr": {
        "announced": "Un nouvel usage des données des agences est annoncé",
        "material_edit": "Un usage des données des agences change (une nouvelle version est annoncée)",
        "retired": "Un usage des données des agences est retiré",
        "version": "version {version}",
        "effective": "Il ne peut s’appliquer avant le {date} ; d’ici là rien ne change.",
        "gone": "Il ne s’applique plus aux données de personne.",
        "record": "Le registre complet et son historique : {url}",
        "stop": "Pour ne plus recevoir ces avis, ouvrez : {url}",
        "subject": "Programme d’amélioration : {title}",
        "confirm_subject": "Confirmez vos avis du programme d’amélioration",
        "confirm_body": "Quelqu’un (vous, nous l’espérons) a demandé à être prévenu quand le programme d’amélioration "
                        "annonce, modifie ou retire un usage des données des agences. Rien n’est envoyé à cette "
                        "adresse avant que vous ouvriez ce lien et appuyiez sur Confirmer :",
        "confirm_expiry": "Le lien fonctionne pendant {hours} heures. Si vous n’avez rien demandé, ignorez cet e-mail.",
    },
}


def notice_email(notice: Notice, page_url: str, unsubscribe_url: str, language: str = "en") -> tuple[str, str]:
    """(subject, text) of a notice."""
    t = TEXTS.get(language, TEXTS["en"])
    lines = [f"{t[notice.kind.value]}: {notice.title} ({t['version'].format(version=notice.version)}).", ""]
    if notice.kind is NoticeKind.RETIRED:
        lines.append(t["gone"])
    elif notice.effective_on:
        lines.append(t["effective"].format(date=notice.effective_on))
    lines += ["", t["record"].format(url=page_url), "", t["stop"].format(url=unsubscribe_url)]
    return t["subject"].format(title=notice.title[:120]), "\n".join(lines)


def confirmation_email(confirm_url: str, language: str = "en") -> tuple[str, str]:
    t = TEXTS.get(language, TEXTS["en"])
    return t["confirm_subject"], "\n".join([t["confirm_body"], "", confirm_url, "",
                                            t["confirm_expiry"].format(hours=CONFIRM_HOURS)])
