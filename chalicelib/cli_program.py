"""The improvement program's operator commands (`./dev cli program-...`): the same services as
`/operator/program/...` (services/program_operator.py), printed as JSON by cli.py."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import cli_program_runs

if TYPE_CHECKING:
    from .domain.models import Principal
    from .services.deps import Deps


def add_parsers(commands: Any) -> None:
    """The program-... subcommands, added to cli.py's parser."""
    signed = commands.add_parser("program-contract", help="record an agency's executed agreement")
    signed.add_argument("agency_id")
    signed.add_argument("--executed", required=True, help="the day it was executed, YYYY-MM-DD")
    signed.add_argument("--country", default="US")
    signed.add_argument("--without-terms", action="store_true", help="it does not include the program terms")
    signed.add_argument("--contract-id", help="your reference (made if absent)")
    end = commands.add_parser("program-end-contract", help="record an agreement's end (withdraws a participant)")
    end.add_argument("agency_id")
    end.add_argument("contract_id")
    end.add_argument("ended_on", help="YYYY-MM-DD")
    terms = commands.add_parser("program-publish-terms", help="publish a terms version (its SHA-256 is computed)")
    terms.add_argument("version")
    terms.add_argument("document", help="the terms document, a UTF-8 text file ('-': stdin)")
    terms.add_argument("--tier", default="tier_2", choices=["tier_1", "tier_2"])
    terms.add_argument("--deletion-days", type=int, default=30, help="deletion period after a withdrawal")
    retire = commands.add_parser("program-retire-terms", help="retire a terms version")
    retire.add_argument("version")
    commands.add_parser("program-use-cases", help="the use-case registry, every version")
    create = commands.add_parser("program-create-use-case", help="a new use case (a draft) from a JSON file")
    create.add_argument("file", help='{"title", "purpose", "data_types", "technique", "retention", ...} (\'-\': stdin)')
    edit = commands.add_parser("program-edit-use-case", help="a new version of a use case from a JSON file")
    edit.add_argument("use_case_id")
    edit.add_argument("file")
    for name, what in (("program-announce", "announce its latest draft (effective after the notice period)"),
                       ("program-activate", "activate its announced version (refused before its effective day)"),
                       ("program-retire-use-case", "retire every version of a use case")):
        one = commands.add_parser(name, help=what)
        one.add_argument("use_case_id")
    commands.add_parser("program-requests", help="open withdrawal and removal requests, earliest due first")
    cli_program_runs.add_parsers(commands)
    rules = commands.add_parser("program-settings", help="show the terms date and notice period, or set them")
    rules.add_argument("--notice-days", type=int, help="days from announcement to effect (never under 30)")
    rules.add_argument("--terms-from", help="contracts executed on/after this day (YYYY-MM-DD) carry the terms")
    feedback = commands.add_parser("program-feedback", help="the public's feedback, newest first")
    feedback.add_argument("--limit", type=int, default=50)
    feedback.add_argument("--cursor")


def _read(path: str) -> str:
    return sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")


def _run(args: argparse.Namespace, me: Principal, deps: Deps) -> object:
    from .domain import program_commands as cmds
    from .services import program_operator as program

    name: str = args.command
    if name == "program-contract":
        return program.record_contract(me, args.agency_id, cmds.RecordContract.model_validate({
            "country": args.country, "executed_on": args.executed, "includes_program_terms": not args.without_terms,
            "contract_id": args.contract_id}), deps=deps)
    if name == "program-end-contract":
        ended, withdrawal = program.end_contract(me, args.agency_id, args.contract_id,
                                                 cmds.EndContract.model_validate({"ended_on": args.ended_on}),
                                                 deps=deps)
        return {"contract": ended.model_dump(mode="json"),
                "withdrawal": withdrawal.model_dump(mode="json") if withdrawal else None}
    if name == "program-publish-terms":
        return program.publish_terms(me, cmds.PublishTerms(version=args.version, document=_read(args.document),
                                                           tier=args.tier, deletion_days=args.deletion_days), deps=deps)
    if name == "program-retire-terms":
        return program.retire_terms(me, args.version, deps=deps)
    if name == "program-use-cases":
        return program.list_use_cases(me, deps=deps)
    if name == "program-create-use-case":
        return program.create_use_case(me, cmds.UseCaseBody.model_validate(json.loads(_read(args.file))), deps=deps)
    if name == "program-edit-use-case":
        return program.edit_use_case(me, args.use_case_id, cmds.UseCaseBody.model_validate(
            json.loads(_read(args.file))), deps=deps)
    if name == "program-announce":
        return program.announce_use_case(me, args.use_case_id, deps=deps)
    if name == "program-activate":
        return program.activate_use_case(me, args.use_case_id, deps=deps)
    if name == "program-retire-use-case":
        return [v.model_dump(mode="json") for v in program.retire_use_case(me, args.use_case_id, deps=deps)]
    if name == "program-settings":
        return _settings(args, me, deps)
    if name == "program-feedback":
        from .services import program_feedback

        return program_feedback.list_feedback(me, limit=args.limit, cursor=args.cursor, deps=deps)
    return program.open_requests(me, deps=deps)


def _settings(args: argparse.Namespace, me: Principal, deps: Deps) -> object:
    """Without options, what applies; with either, both are saved (the other kept as it is)."""
    from .domain.program_notices import SetProgramRules
    from .services import program_operator as program

    current = program.get_rules(me, deps=deps)
    if args.notice_days is None and args.terms_from is None:
        return current
    return program.set_rules(me, SetProgramRules.model_validate({
        "notice_days": args.notice_days if args.notice_days is not None else current.notice_days,
        "terms_from": args.terms_from or current.terms_from.isoformat()}), deps=deps)


NAMES = ("program-contract", "program-end-contract", "program-publish-terms", "program-retire-terms",
         "program-use-cases", "program-create-use-case", "program-edit-use-case", "program-announce",
         "program-activate", "program-retire-use-case", "program-requests", "program-settings", "program-feedback")
OPERATIONS = dict.fromkeys(NAMES, _run) | cli_program_runs.OPERATIONS  # runs and receipts (issue 11)
