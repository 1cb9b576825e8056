"""Change notices, the notice-period settings and the public's feedback over the in-memory
repositories and a fixed clock: double opt-in (nothing but the confirmation before the link is
used), one-click unsubscribe, each (notice, recipient) sent once however often the run repeats and
at most once across a crash between claim and send; participant agencies' contacts told too; the
notice period settable, never under 30; feedback stored as text, listed for operators only."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

import pytest

from chalicelib import pages
from chalicelib.domain import ids
from chalicelib.domain import program_notices as rules
from chalicelib.domain.errors import Conflict, Forbidden, Gone, InvalidInput, NotFound, RateLimited
from chalicelib.domain.models import OPERATOR_AGENCY, Principal, Role
from chalicelib.domain.program_commands import RecordContract, UseCaseBody
from chalicelib.domain.program_notices import SetProgramRules, SubmitFeedback, Subscribe
from chalicelib.services import program, program_feedback
from chalicelib.services import program_notices as service
from chalicelib.services import program_operator as operator

NOW = datetime(2021, 9, 1, 12, tzinfo=timezone.utc)
OP = Principal(agency_id=OPERATOR_AGENCY, role=Role.OPERATOR, key_id="op1")
BASE = "https://evidence.example/api"
USE_CASE = {"title": "Better <b>redaction</b>", "purpose": "Train face blurring", "data_types": ["video"],
            "technique": "de-identification", "retention": "90 days"}


@pytest.fixture(autouse=True)
def at_now(deps):
    deps.clock.at = NOW


def use_case(deps, **changes) -> str:
    return operator.create_use_case(OP, UseCaseBody.model_validate(USE_CASE | changes), deps=deps).use_case_id


def token_in(text: str) -> str:
    found = re.search(r"token=([A-Za-z0-9_-]{43})", text)
    assert found, text
    return found.group(1)


def subscribed(deps, email="reader@example.org") -> str:
    """Subscribe and confirm; the token of the confirmation email."""
    service.subscribe(Subscribe(email=email), BASE, deps=deps)
    token = token_in(deps.email.sent[-1][2])
    service.confirm(token, deps=deps)
    return token


def mails_to(deps, email):
    return [(subject, text) for to, subject, text in deps.email.sent if to == email]


# --- which changes are notices -----------------------------------------------------------------------

def test_announcements_material_edits_and_retirements_are_notices_and_other_edits_are_not(deps):
    case = use_case(deps)
    assert rules.notices(deps.program.use_case_versions(case)) == []  # a draft tells nobody anything
    operator.announce_use_case(OP, case, deps=deps)
    deps.clock.advance(days=1)
    operator.edit_use_case(OP, case, UseCaseBody.model_validate(USE_CASE | {"title": "Redaction"}), deps=deps)
    found = rules.notices(deps.program.use_case_versions(case))
    assert [(n.kind, n.version) for n in found] == [(rules.NoticeKind.ANNOUNCED, 1)]  # the title edit is not
    operator.edit_use_case(OP, case, UseCaseBody.model_validate(USE_CASE | {"data_types": ["video", "audio"]}),
                           deps=deps)
    operator.announce_use_case(OP, case, deps=deps)
    deps.clock.advance(days=1)
    operator.retire_use_case(OP, case, deps=deps)
    found = rules.notices(deps.program.use_case_versions(case))
    assert [(n.kind, n.version) for n in found] == [
        (rules.NoticeKind.ANNOUNCED, 1), (rules.NoticeKind.MATERIAL_EDIT, 3), (rules.NoticeKind.RETIRED, 3)]
    assert [n.notice_id for n in rules.due(found, deps.clock.now() + timedelta(days=rules.LOOK_BACK_DAYS))] == [
        f"{case}:retired"]  # older changes are out of the window
    draft = use_case(deps, title="Never announced")
    operator.retire_use_case(OP, draft, deps=deps)
    assert rules.notices(deps.program.use_case_versions(draft)) == []  # its title was never public


# --- double opt-in and unsubscribe ---------------------------------------------------------------------

def test_nothing_but_the_confirmation_goes_out_before_the_link_is_used(deps):
    service.subscribe(Subscribe(email="reader@example.org"), BASE, deps=deps)
    (to, subject, text), = deps.email.sent
    assert to == "reader@example.org" and f"{BASE}/transparency/confirm?token=" in text
    deps.clock.advance(hours=1)
    operator.announce_use_case(OP, use_case(deps), deps=deps)
    assert service.run(BASE, deps=deps)["sent"] == 0
    assert len(deps.email.sent) == 1
    stored = next(iter(deps.program_notices.subscriptions.values()))
    assert token_in(text) not in str(deps.program_notices.tokens) and stored.state is rules.SubscriptionState.PENDING


def test_a_confirmed_subscriber_gets_each_notice_once_however_often_the_run_repeats(deps):
    subscribed(deps)
    deps.clock.advance(hours=1)
    case = use_case(deps)
    operator.announce_use_case(OP, case, deps=deps)
    deps.clock.advance(hours=1)
    first = service.run(BASE, deps=deps)
    again = service.run(BASE, deps=deps)
    deps.clock.advance(days=1)
    third = service.run(BASE, deps=deps)
    assert (first["sent"], again["sent"], third["sent"]) == (1, 0, 0)
    assert (again["done_before"], again["already_sent"]) == (1, 0)  # skipped whole: no claim tried again
    (subject, text), = mails_to(deps, "reader@example.org")[1:]
    assert "Better <b>redaction</b>" in text and f"{BASE}/transparency/unsubscribe?token=" in text
    assert "program.change_notice_sent" in [e.action for e in deps.audit.entries(OPERATOR_AGENCY)]


@pytest.mark.parametrize("base", [None, ""])
def test_the_scheduled_run_refuses_to_send_without_the_public_base_url(deps, base):
    subscribed(deps)
    deps.clock.advance(hours=1)
    operator.announce_use_case(OP, use_case(deps), deps=deps)
    deps.clock.advance(hours=1)
    with pytest.raises(service.BaseUrlMissing):
        service.run_scheduled(base, deps=deps)
    assert len(mails_to(deps, "reader@example.org")) == 1  # the confirmation only: no notice without its links
    assert service.run_scheduled(BASE, deps=deps)["sent"] == 1


def test_changes_made_before_the_confirmation_are_not_sent(deps):
    operator.announce_use_case(OP, use_case(deps), deps=deps)
    deps.clock.advance(hours=1)
    subscribed(deps)
    assert service.run(BASE, deps=deps)["sent"] == 0


def test_the_unsubscribe_link_in_a_notice_stops_the_next_ones(deps):
    subscribed(deps)
    deps.clock.advance(hours=1)
    operator.announce_use_case(OP, use_case(deps), deps=deps)
    service.run(BASE, deps=deps)
    link = token_in(mails_to(deps, "reader@example.org")[-1][1])
    assert service.unsubscribe(link, deps=deps) is rules.SubscriptionState.UNSUBSCRIBED
    assert service.unsubscribe(link, deps=deps) is rules.SubscriptionState.UNSUBSCRIBED  # again: fine
    deps.clock.advance(hours=1)
    operator.announce_use_case(OP, use_case(deps), deps=deps)
    assert service.run(BASE, deps=deps)["sent"] == 0
    with pytest.raises(Conflict):
        service.confirm(link, deps=deps)


@pytest.mark.parametrize("token", ["", "nope", "A" * 43, "<script>" * 6, "A" * 4000])
def test_unknown_tokens_are_not_found(deps, token):
    with pytest.raises(NotFound):
        service.confirm(token, deps=deps)
    with pytest.raises(NotFound):
        service.unsubscribe(token, deps=deps)


def test_opening_the_confirmation_link_confirms_nothing_its_button_does(deps):
    service.subscribe(Subscribe(email="reader@example.org"), BASE, deps=deps)
    token = token_in(deps.email.sent[-1][2])
    assert service.confirmable(token, deps=deps).state is rules.SubscriptionState.PENDING
    assert service.confirmable(token, deps=deps).state is rules.SubscriptionState.PENDING  # a scanner, again
    assert service.confirm(token, deps=deps).state is rules.SubscriptionState.CONFIRMED
    assert service.confirmable(token, deps=deps).state is rules.SubscriptionState.CONFIRMED
    html = pages.program_message_page("confirm_ask", "fr", action=f"confirm?token={token}&x=<")
    assert f'action="confirm?token={token}&amp;x=&lt;"' in html and "Confirmer" in html


def test_a_confirmation_link_expires(deps):
    service.subscribe(Subscribe(email="late@example.org"), BASE, deps=deps)
    deps.clock.advance(hours=rules.CONFIRM_HOURS, seconds=1)
    with pytest.raises(Gone):
        service.confirmable(token_in(deps.email.sent[-1][2]), deps=deps)
    with pytest.raises(Gone):
        service.confirm(token_in(deps.email.sent[-1][2]), deps=deps)


# --- who else is told, and crashes ----------------------------------------------------------------------

def test_participant_agencies_contacts_are_told_once_even_when_also_subscribed(deps, agency):
    deps.agencies.save_agency(agency.model_copy(update={"contact_email": "Chief@Springfield.example"}))
    operator.record_contract(OP, agency.agency_id, RecordContract.model_validate(
        {"country": "US", "executed_on": "2021-05-01", "includes_program_terms": True}), deps=deps)
    subscribed(deps, "chief@springfield.example")
    deps.clock.advance(hours=1)
    operator.announce_use_case(OP, use_case(deps), deps=deps)
    report = service.run(BASE, deps=deps)
    assert report["sent"] == 1 and report["already_sent"] == 1
    assert len([m for m in deps.email.sent if m[0].lower() == "chief@springfield.example"]) == 2  # confirm + 1


def test_an_agency_contacts_notice_carries_a_link_that_opts_it_out(deps, agency):
    deps.agencies.save_agency(agency.model_copy(update={"contact_email": "desk@springfield.example"}))
    operator.record_contract(OP, agency.agency_id, RecordContract.model_validate(
        {"country": "US", "executed_on": "2021-05-01", "includes_program_terms": True}), deps=deps)
    operator.announce_use_case(OP, use_case(deps), deps=deps)
    assert service.run(BASE, deps=deps)["sent"] == 1
    (subject, text), = mails_to(deps, "desk@springfield.example")
    link = token_in(text.split("unsubscribe?")[1])
    with pytest.raises(NotFound):
        service.confirm(link, deps=deps)  # it is no subscription
    assert service.unsubscribe(link, deps=deps) is rules.SubscriptionState.UNSUBSCRIBED
    assert service.unsubscribe(link, deps=deps) is rules.SubscriptionState.UNSUBSCRIBED
    deps.clock.advance(hours=1)
    operator.announce_use_case(OP, use_case(deps), deps=deps)
    report = service.run(BASE, deps=deps)
    assert (report["sent"], report["opted_out"], report["done_before"]) == (0, 1, 1)
    assert len(mails_to(deps, "desk@springfield.example")) == 1
    assert [e.action for e in deps.audit.entries(OPERATOR_AGENCY)].count("program.unsubscribed") == 1


def test_an_address_subscribed_twice_stops_getting_notices_once_it_unsubscribes_from_one(deps):
    """Nothing makes a subscription unique per address: unsubscribing through one opts the address
    out, so its other confirmed subscription is silent too; a subscription confirmed later is heard."""
    first = subscribed(deps, "twice@example.org")
    deps.clock.advance(minutes=5)
    second = subscribed(deps, "Twice@Example.org")
    deps.clock.advance(hours=1)
    operator.announce_use_case(OP, use_case(deps), deps=deps)
    report = service.run(BASE, deps=deps)
    assert (report["sent"], report["already_sent"]) == (1, 1)  # one mailbox, told once
    notice_link = token_in(mails_to(deps, "twice@example.org")[-1][1].split("unsubscribe?")[1])
    assert service.unsubscribable(notice_link, deps=deps) is rules.SubscriptionState.CONFIRMED  # looking: no change
    assert service.unsubscribe(notice_link, deps=deps) is rules.SubscriptionState.UNSUBSCRIBED
    assert service.unsubscribable(first, deps=deps) is rules.SubscriptionState.UNSUBSCRIBED
    assert service.unsubscribable(second, deps=deps) is rules.SubscriptionState.CONFIRMED  # still, by itself
    deps.clock.advance(hours=1)
    operator.announce_use_case(OP, use_case(deps, title="Second"), deps=deps)
    report = service.run(BASE, deps=deps)
    assert (report["sent"], report["opted_out"]) == (0, 1)  # the other subscription, silenced
    assert len(mails_to(deps, "twice@example.org")) + len(mails_to(deps, "Twice@Example.org")) == 3  # 2 + 1
    deps.clock.advance(hours=1)
    subscribed(deps, "twice@example.org")  # a new double opt-in is heard again
    deps.clock.advance(hours=1)
    operator.announce_use_case(OP, use_case(deps, title="Third"), deps=deps)
    assert service.run(BASE, deps=deps)["sent"] == 1


def test_a_claim_that_fails_for_another_reason_fails_the_run_and_the_notice_stays_open(deps, monkeypatch):
    """A throttled claim is no "already sent": the run stops (and is retried), the notice is not
    marked done, and the next run sends it."""
    from botocore.exceptions import ClientError

    subscribed(deps)
    deps.clock.advance(hours=1)
    operator.announce_use_case(OP, use_case(deps), deps=deps)
    busy = ClientError({"Error": {"Code": "TransactionCanceledException", "Message": "busy"},
                        "CancellationReasons": [{"Code": "ThrottlingError"}]}, "TransactWriteItems")
    claim = deps.program_notices.claim_notice
    monkeypatch.setattr(deps.program_notices, "claim_notice", lambda *a, **k: (_ for _ in ()).throw(busy))
    with pytest.raises(ClientError):
        service.run(BASE, deps=deps)
    monkeypatch.setattr(deps.program_notices, "claim_notice", claim)
    assert service.run(BASE, deps=deps)["sent"] == 1


def test_opening_an_unsubscribe_link_changes_nothing(deps):
    token = subscribed(deps)
    events = len(list(deps.audit.entries(OPERATOR_AGENCY)))
    assert service.unsubscribable(token, deps=deps) is rules.SubscriptionState.CONFIRMED
    assert deps.program_notices.subscription_by_token(ids.digest(token)).state is rules.SubscriptionState.CONFIRMED
    assert len(list(deps.audit.entries(OPERATOR_AGENCY))) == events
    with pytest.raises(NotFound):
        service.unsubscribable("x" * 43, deps=deps)


def test_every_active_admin_of_a_participant_is_told_and_officers_and_revoked_admins_are_not(deps, agency):
    from chalicelib.services import agencies

    for role, label in ((Role.AGENCY_ADMIN, "chief"), (Role.AGENCY_ADMIN, "gone"), (Role.OFFICER, "officer")):
        key, _ = agencies.issue_key(agency.agency_id, role, label, deps=deps)
        deps.agencies.keys[key.key_hash] = key.model_copy(update={
            "email": f"{label}@springfield.example", "revoked_at": NOW if label == "gone" else None})
    operator.record_contract(OP, agency.agency_id, RecordContract.model_validate(
        {"country": "US", "executed_on": "2021-05-01", "includes_program_terms": True}), deps=deps)
    operator.announce_use_case(OP, use_case(deps), deps=deps)
    assert service.run(BASE, deps=deps)["sent"] == 1
    assert [to for to, _, _ in deps.email.sent] == ["chief@springfield.example"]


def test_an_agency_that_does_not_take_part_is_not_told(deps, agency):
    deps.agencies.save_agency(agency.model_copy(update={"contact_email": "desk@springfield.example"}))
    operator.announce_use_case(OP, use_case(deps), deps=deps)
    assert service.run(BASE, deps=deps)["sent"] == 0


def test_a_run_killed_between_claim_and_send_never_sends_that_notice_twice(deps):
    subscribed(deps)
    deps.clock.advance(hours=1)
    operator.announce_use_case(OP, use_case(deps), deps=deps)
    real = deps.email.send_email

    def killed(*args):
        raise KeyboardInterrupt  # the process dies between the claim and the send

    object.__setattr__(deps.email, "send_email", killed)
    with pytest.raises(KeyboardInterrupt):
        service.run(BASE, deps=deps)
    object.__setattr__(deps.email, "send_email", real)
    assert service.run(BASE, deps=deps)["already_sent"] == 1
    assert len(mails_to(deps, "reader@example.org")) == 1  # the confirmation only: at most once
    assert list(deps.program_notices.claims.values()) == [""]  # claimed, no outcome: shows it was cut short


# --- settings -------------------------------------------------------------------------------------------

def test_the_notice_period_is_settable_never_under_30_and_used_by_announcements(deps, officer):
    with pytest.raises(InvalidInput) as refused:
        operator.set_rules(OP, SetProgramRules(notice_days=29, terms_from=date(2021, 4, 1)), deps=deps)
    assert refused.value.code == "notice_too_short"
    with pytest.raises(Forbidden):
        operator.set_rules(officer, SetProgramRules(notice_days=45, terms_from=date(2021, 4, 1)), deps=deps)
    operator.set_rules(OP, SetProgramRules(notice_days=45, terms_from=date(2021, 6, 1)), deps=deps)
    assert operator.get_rules(OP, deps=deps).notice_days == 45
    announced = operator.announce_use_case(OP, use_case(deps), deps=deps)
    assert announced.effective_on == NOW.date() + timedelta(days=45)
    assert program.transparency(deps=deps)["notice_days"] == 45
    assert [e.details["after"] for e in deps.audit.entries(OPERATOR_AGENCY)
            if e.action == "program.settings_changed"] == [{"terms_from": "2021-06-01", "notice_days": 45}]


def test_terms_from_decides_which_contracts_make_a_participant(deps, agency):
    operator.record_contract(OP, agency.agency_id, RecordContract.model_validate(
        {"country": "US", "executed_on": "2021-05-01", "includes_program_terms": True}), deps=deps)
    assert program.participation(agency.agency_id, deps=deps).tier.value == "tier_1"
    operator.set_rules(OP, SetProgramRules(notice_days=30, terms_from=date(2021, 6, 1)), deps=deps)
    assert program.participation(agency.agency_id, deps=deps).tier.value == "none"


def test_a_settings_change_made_on_a_stale_read_is_refused(deps):
    operator.set_rules(OP, SetProgramRules(notice_days=40, terms_from=date(2021, 4, 1)), deps=deps)
    with pytest.raises(Conflict):
        deps.program_notices.save_rules(deps.program_notices.get_rules()[0], revision=0, event=None)


# --- feedback -------------------------------------------------------------------------------------------

def test_feedback_is_stored_as_sent_and_listed_newest_first_for_operators_only(deps, officer):
    case = use_case(deps)
    with pytest.raises(NotFound):  # a draft is not public
        program_feedback.submit(SubmitFeedback(message="hi", use_case_id=case), deps=deps)
    operator.announce_use_case(OP, case, deps=deps)
    first = program_feedback.submit(SubmitFeedback(message="<script>alert(1)</script>", use_case_id=case),
                                    deps=deps)
    deps.clock.advance(seconds=1)
    second = program_feedback.submit(SubmitFeedback(message="Thanks", email="a@example.org"), deps=deps)
    page = program_feedback.list_feedback(OP, limit=1, cursor=None, deps=deps)
    assert [f["feedback_id"] for f in page["items"]] == [second.feedback_id]
    rest = program_feedback.list_feedback(OP, limit=1, cursor=page["next_cursor"], deps=deps)
    assert rest["items"][0]["message"] == "<script>alert(1)</script>" and rest["next_cursor"] is None
    assert rest["items"][0]["feedback_id"] == first.feedback_id
    with pytest.raises(Forbidden):
        program_feedback.list_feedback(officer, limit=10, cursor=None, deps=deps)
    assert [e.action for e in deps.audit.entries(OPERATOR_AGENCY)].count("program.feedback_received") == 2


@pytest.mark.parametrize("body", [{"message": ""}, {"message": "x" * 2001}, {"message": "ok", "email": "nope"},
                                  {"message": "ok", "use_case_id": "../x"}, {"message": "ok", "extra": 1},
                                  {"message": 5}, {"message": "ok", "language": "de"}])
def test_bad_feedback_is_refused_by_its_shape(body):
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        SubmitFeedback.model_validate(body)


# --- the page -------------------------------------------------------------------------------------------

def test_the_transparency_page_has_both_forms_with_escaped_use_case_titles(deps):
    operator.announce_use_case(OP, use_case(deps, title="<img src=x onerror=alert(1)>"), deps=deps)
    html = pages.transparency_page(program.transparency(deps=deps), "es")
    assert 'action="transparency/feedback"' in html and 'action="transparency/subscriptions"' in html
    assert 'maxlength="2000"' in html and "<img src=x" not in html and "&lt;img src=x" in html
    assert "Díganos qué opina" in html
    assert "form-action 'self'" in str(pages.form_headers()["Content-Security-Policy"])


def test_a_problem_shown_on_the_answer_page_is_escaped():
    html = pages.program_message_page("problem", "fr", "<b>bad</b>")
    assert "&lt;b&gt;bad&lt;/b&gt;" in html and "Cela n’a pas fonctionné" in html


def test_confirmation_emails_to_one_address_are_capped_per_day(deps):
    cap = deps.rate_caps.program_confirmations.limit
    for _ in range(cap):
        service.subscribe(Subscribe(email="Target@Example.org"), BASE, deps=deps)
    with pytest.raises(RateLimited):
        service.subscribe(Subscribe(email="target@example.org"), BASE, deps=deps)  # the same mailbox
    assert len(deps.email.sent) == cap
    service.subscribe(Subscribe(email="someone-else@example.org"), BASE, deps=deps)
    deps.clock.advance(days=1)
    service.subscribe(Subscribe(email="target@example.org"), BASE, deps=deps)


def test_the_cli_shows_and_sets_the_settings_and_lists_feedback(deps):
    import argparse

    from chalicelib import cli, cli_program

    def run(*argv):
        parser = argparse.ArgumentParser()
        cli_program.add_parsers(parser.add_subparsers(dest="command", required=True))
        args = parser.parse_args(argv)
        return cli.OPERATIONS[args.command](args, OP, deps)

    assert run("program-settings").notice_days == 30
    assert run("program-settings", "--notice-days", "60").model_dump(mode="json") == {
        "terms_from": "2021-04-01", "notice_days": 60}
    assert run("program-settings", "--terms-from", "2021-05-01").notice_days == 60  # the other one kept
    with pytest.raises(InvalidInput):
        run("program-settings", "--notice-days", "7")
    program_feedback.submit(SubmitFeedback(message="from the page"), deps=deps)
    assert [f["message"] for f in run("program-feedback", "--limit", "5")["items"]] == ["from the page"]


def test_a_subscriber_is_written_to_in_the_language_it_chose(deps):
    service.subscribe(Subscribe(email="lectora@example.org", language="es"), BASE, deps=deps)
    (_, subject, text), = deps.email.sent
    assert subject == "Confirme sus avisos del programa de mejora" and "pulse Confirmar" in text
    service.confirm(token_in(text), deps=deps)
    deps.clock.advance(hours=1)
    operator.retire_use_case(OP, use_case(deps, title="Secret draft"), deps=deps)  # never public: never told
    operator.announce_use_case(OP, use_case(deps, title="Búsqueda"), deps=deps)
    service.run(BASE, deps=deps)
    (subject, text), = mails_to(deps, "lectora@example.org")[1:]
    assert subject == "Programa de mejora: Búsqueda"
    assert text.startswith("Se anuncia un nuevo uso de datos de las agencias: Búsqueda (versión 1).")
    assert "Para dejar de recibir estos avisos, abra: " in text



@pytest.mark.parametrize(("language", "label", "not_label"), [("en", "Stop the notices", "Confirm"),
                                                               ("es", "Dejar de recibirlos", "Confirmar")])
def test_the_unsubscribe_page_button_says_what_it_does(language, label, not_label):
    page = pages.program_message_page("unsubscribe_ask", language, action="transparency/unsubscribe?token=t")
    assert f">{label}</button>" in page and f">{not_label}</button>" not in page
