"""Operator command line: `./dev cli <command>` (or `python -m chalicelib.cli`).

It runs the same services as the API, against the stage you name: `--stage local` talks to the
stack `./dev start` is running; `--stage prod` to AWS with your credentials."""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import cli_program

if TYPE_CHECKING:
    from .adapters.dynamo_agencies import DynamoAgencies
    from .domain.models import Principal
    from .services.deps import Deps

    Operation = Callable[[argparse.Namespace, Principal, Deps], object]

ROOT = Path(__file__).resolve().parent.parent
LOCAL_ENV = ROOT / ".local" / "stack.env"
KINDS = ["evidence_basic", "evidence_pro", "evidence_lite", "osp7_plus", "none"]


def _use_stage(stage: str) -> None:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    os.environ.update(config.get("environment_variables", {}))
    os.environ.update(config["stages"][stage].get("environment_variables", {}))
    if stage == "local":
        if not LOCAL_ENV.exists():
            sys.exit("The local stack is not running: start it with ./dev start")
        for line in LOCAL_ENV.read_text().splitlines():
            name, _, value = line.partition("=")
            os.environ[name] = value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="./dev cli", description=__doc__)
    parser.add_argument("--stage", default="local", choices=["local", "prod"])
    commands = parser.add_subparsers(dest="command", required=True)
    agency = commands.add_parser("create-agency", help="create an agency and its first admin key")
    agency.add_argument("name")
    agency.add_argument("--country", default="US")
    agency.add_argument("--contact-email", help="where the daily review digest goes")
    agency.add_argument("--license", default="evidence_pro", choices=KINDS,
                        help="its evidence licence (default evidence_pro, which keeps Citizen for Officers)")
    key = commands.add_parser("issue-key", help="issue an API key (shown once)")
    key.add_argument("agency_id")
    key.add_argument("--role", choices=["officer", "agency_admin", "operator"], default="officer",
                     help="for an operator key, give 'operator' as the agency id")
    key.add_argument("--label", required=True)
    key.add_argument("--email", help="where this user's notifications go")
    commands.add_parser("refile-agencies", help="file agencies made before the directory index in it (once)")
    commands.add_parser("refile-keys", help="file keys issued before the key listing index in it (once)")
    keys_list = commands.add_parser("list-keys", help="an agency's API keys ('operator' for operator keys)")
    keys_list.add_argument("agency_id")
    for name, what in (("revoke-key", "revoke an API key (it stops working within the authorizer cache ttl)"),
                       ("rotate-key", "revoke an API key and issue its successor (shown once)")):
        one = commands.add_parser(name, help=what)
        one.add_argument("key_id")
        one.add_argument("--agency", dest="agency_id", required=True, help="its agency ('operator' for operator keys)")
    verify = commands.add_parser("verify-audit", help="check an agency's audit hash chain")
    verify.add_argument("agency_id")
    export = commands.add_parser("export", help="export an agency's evidence here and now, with progress")
    export.add_argument("agency_id")
    export.add_argument("--case", dest="case_ref")
    export.add_argument("--bucket", help="the agency's bucket; without it: download links")
    export.add_argument("--prefix", default="")
    lic = commands.add_parser("set-license", help="set an agency's licence")
    lic.add_argument("agency_id")
    lic.add_argument("--kind", required=True, choices=KINDS)
    lic.add_argument("--citizen-addon", action="store_true")
    zone = commands.add_parser("set-time-zone", help="an agency's IANA time zone (its program days follow it)")
    zone.add_argument("agency_id")
    zone.add_argument("time_zone", help="e.g. America/Chicago; 'country' goes back to its country's zone")
    extend = commands.add_parser("extend-program", help="extend the emergency program (all, or one agency)")
    extend.add_argument("end", help="the new last day, YYYY-MM-DD")
    extend.add_argument("--agency", dest="agency_id")
    quota = commands.add_parser("set-quota", help="program storage quota (a restricted kind, or one agency)")
    quota.add_argument("quota_bytes", type=int)
    target = quota.add_mutually_exclusive_group()
    target.add_argument("--agency", dest="agency_id")
    target.add_argument("--kind", default="none", choices=["none", "evidence_lite"],
                        help="every first-time (none) or Lite agency in the program")
    country = commands.add_parser("set-country-date", help="the day the program opens in a country ('*': others)")
    country.add_argument("country")
    country.add_argument("available_from", help="YYYY-MM-DD")
    listing = commands.add_parser("access-requests", help="list access requests")
    listing.add_argument("--status", default="pending", choices=["pending", "approved", "denied"])
    approve = commands.add_parser("approve", help="approve an access request (enrols an existing agency, or "
                                                  "creates one on the first-time program licence)")
    approve.add_argument("request_id")
    approve.add_argument("--license", choices=KINDS, help="the licence you confirmed for a new agency")
    matched = approve.add_mutually_exclusive_group()
    matched.add_argument("--agency", dest="agency_id", help="enrol this existing agency")
    matched.add_argument("--new-agency", action="store_true", help="create an agency whatever the form named")
    deny = commands.add_parser("deny", help="deny an access request")
    deny.add_argument("request_id")
    deny.add_argument("--reason", required=True)
    schedule = commands.add_parser("run-schedule", help="run a scheduled function once")
    schedule.add_argument("name", choices=["retention-sweep", "daily-digest", "license-daily", "program-notices"])
    schedule.add_argument("--now", help="ISO date-time to run as (time travel for the sweep)")
    cli_program.add_parsers(commands)
    args = parser.parse_args(argv)
    _use_stage(args.stage)
    from . import request_context

    request_context.set_source(f"cli:{args.command}")
    return COMMANDS[args.command](args)


def _create_agency(args: argparse.Namespace) -> int:
    from . import bootstrap
    from .domain.licensing import LicenseKind
    from .domain.models import Role
    from .services import agencies

    created = agencies.create_agency(args.name, args.country, license=LicenseKind(args.license), deps=bootstrap.deps())
    if args.contact_email:
        bootstrap.deps().agencies.save_agency(created.model_copy(update={"contact_email": args.contact_email}))
    _, secret = agencies.issue_key(created.agency_id, Role.AGENCY_ADMIN, "first admin", deps=bootstrap.deps())
    print(json.dumps({"agency_id": created.agency_id, "admin_key": secret}, indent=2))
    print("The key is shown once; store it now.", file=sys.stderr)
    return 0


def _issue_key(args: argparse.Namespace) -> int:
    from . import bootstrap
    from .domain.errors import DomainError
    from .domain.models import Role
    from .services import agencies

    try:
        issued, secret = agencies.issue_key(args.agency_id, Role(args.role), args.label, email=args.email,
                                            deps=bootstrap.deps())
    except DomainError as exc:
        print(exc.message, file=sys.stderr)
        return 1
    print(json.dumps({"key_id": issued.key_id, "role": args.role, "key": secret}, indent=2))
    return 0


def _refile_agencies(args: argparse.Namespace) -> int:
    """Agencies created before the operator directory existed are not in its index; saving a
    profile files it. One scan, run once after the deploy that added the directory."""
    repo = _agencies_table()
    unfiled = list(repo.unfiled_agencies())
    for agency in unfiled:
        repo.save_agency(agency)
    print(f"{len(unfiled)} agencies filed in the directory")
    return 0


def _refile_keys(args: argparse.Namespace) -> int:
    """Keys issued before the key listing index are filed there when next used; this files the
    others (one scan, once after the deploy that added the index)."""
    repo = _agencies_table()
    unfiled = list(repo.unfiled_keys())
    for key in unfiled:
        repo.file_key(key)
    print(f"{len(unfiled)} keys filed in the key index")
    return 0


def _agencies_table() -> DynamoAgencies:
    """The agencies repository itself, for the one-off re-filing commands (the port hides its scans)."""
    from . import bootstrap
    from .adapters.dynamo_agencies import DynamoAgencies

    cfg = bootstrap.settings()
    return DynamoAgencies(bootstrap.client("dynamodb"), cfg.table_name, cfg.audit_inbox_table_name)


def _verify_audit(args: argparse.Namespace) -> int:
    from . import bootstrap
    from .services import custody

    report = custody.verify(args.agency_id, deps=bootstrap.deps())
    for problem in report["problems"]:
        print(problem)
    state = "intact" if report["intact"] else f"{len(report['problems'])} problems"
    print(f"{report['entries']} entries, {state}; {report['waiting']} events waiting to be chained")
    return 0 if report["intact"] else 1


def _run_schedule(args: argparse.Namespace) -> int:
    from datetime import datetime, timezone

    from . import bootstrap
    from .services import licensing, retention, review

    if args.now and args.stage != "local":
        print("--now (time travel) runs only against the local stack: it would act on real data.",
              file=sys.stderr)
        return 2
    deps = bootstrap.deps()
    now = datetime.fromisoformat(args.now) if args.now else deps.clock.now()
    now = now if now.tzinfo else now.replace(tzinfo=timezone.utc)
    if args.name == "daily-digest":
        result: object = review.send_digests(deps=deps)
    elif args.name == "license-daily":
        result = licensing.run_daily(deps=deps, now=now)
    elif args.name == "program-notices":
        from .services import program_notices

        try:
            result = program_notices.run_scheduled(bootstrap.settings().public_base_url, deps=deps, now=now)
        except program_notices.BaseUrlMissing as missing:
            print(f"{missing}.", file=sys.stderr)
            return 2
    else:
        result = retention.sweep(deps=deps, now=now)
    print(json.dumps(result, default=str))
    return 0


def _export(args: argparse.Namespace) -> int:
    from . import bootstrap
    from .domain.errors import Conflict, DomainError
    from .domain.exports import ExportStatus, StartExport
    from .domain.models import Principal, Role
    from .services import exports

    target = {"type": "bucket", "bucket": args.bucket, "prefix": args.prefix} if args.bucket else {
        "type": "download_links"}
    operator = Principal(agency_id=args.agency_id, role=Role.AGENCY_ADMIN, key_id="operator-cli")
    deps = bootstrap.export_deps()
    try:
        job = exports.start_export(operator, StartExport.model_validate(
            {"case_ref": args.case_ref, "target": target}), deps=deps)
        while job.status is ExportStatus.RUNNING:
            try:  # two-second chunks, so the bar moves; a queue worker may hold the job meanwhile
                job = exports.run_export_chunk(args.agency_id, job.export_id, deps=deps,
                                               time_left=_slice(2.0), margin_seconds=60.0)
            except Conflict:
                time.sleep(1)
                job = deps.exports.get_job(args.agency_id, job.export_id) or job
            _progress(job.items_done, job.items_total, job.bytes_done)
    except DomainError as exc:
        print(f"\n{exc.message}", file=sys.stderr)
        return 1
    print(f"\nexport {job.export_id}: {job.status.value}{' - ' + job.error if job.error else ''}")
    return 0 if job.status is ExportStatus.DONE else 1


def _slice(seconds: float) -> Callable[[], float]:
    """A time_left() that reports the 60 s margin plus what is left of a short slice."""
    deadline = time.monotonic() + seconds
    return lambda: 60.0 + max(0.0, deadline - time.monotonic())


def _progress(done: int, total: int, size: int, width: int = 40) -> None:
    filled = width * done // total if total else width
    print(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} files, {size / 1e6:.1f} MB",
          end="", file=sys.stderr, flush=True)


OPERATOR_CLI = "operator-cli"


def _operator_call(args: argparse.Namespace) -> int:
    """The operator commands: the same services the operator API calls, printed as JSON."""
    from . import bootstrap
    from .domain.errors import DomainError
    from .domain.models import OPERATOR_AGENCY, Principal, Role

    me = Principal(agency_id=OPERATOR_AGENCY, role=Role.OPERATOR, key_id=OPERATOR_CLI)
    try:
        result = OPERATIONS[args.command](args, me, bootstrap.deps())
    except (DomainError, ValueError) as exc:
        print(getattr(exc, "message", str(exc)), file=sys.stderr)
        return 1
    dump = getattr(result, "model_dump", None)
    print(json.dumps(dump(mode="json") if dump else result, indent=2, default=str))
    return 0


def _approve(args: argparse.Namespace, me: Principal, deps: Deps) -> object:
    from .domain.access_requests import ApproveAccessRequest
    from .services import access_requests

    fields: dict[str, Any] = {"license": args.license} if args.license else {}
    if args.agency_id or args.new_agency:
        fields["agency_id"] = args.agency_id
    decided, key = access_requests.approve(me, args.request_id, ApproveAccessRequest.model_validate(fields),
                                           deps=deps)
    return {"agency_id": decided.agency_id, "admin_key": key, "granted_license": decided.granted_license,
            "license_decision": decided.license_decision}


def _licensing(name: str) -> Operation:
    """One operator command of services.licensing, called as the API calls it."""
    from datetime import date

    def call(args: argparse.Namespace, me: Principal, deps: Deps) -> object:
        from .services import licensing

        common: dict[str, Any] = {"deps": deps, "actor": me.actor}
        if name == "set-license":
            return licensing.set_license(args.agency_id, args.kind, args.citizen_addon, **common)
        if name == "set-time-zone":
            zone = None if args.time_zone == "country" else args.time_zone
            return licensing.set_time_zone(args.agency_id, zone, **common)
        if name == "extend-program":
            return licensing.extend_program(date.fromisoformat(args.end), args.agency_id, **common)
        if name == "set-quota":
            return licensing.set_quota(args.quota_bytes, agency_id=args.agency_id, kind=args.kind, **common)
        return licensing.set_country_date(args.country, date.fromisoformat(args.available_from), **common)
    return call


def _keys(args: argparse.Namespace, me: Principal, deps: Deps) -> object:
    from .services import keys

    if args.command == "list-keys":
        return [keys.key_view(k) for k in keys.list_keys(me, args.agency_id, deps=deps)]
    if args.command == "revoke-key":
        return keys.key_view(keys.revoke(me, args.key_id, args.agency_id, deps=deps))
    old, new, secret = keys.rotate(me, args.key_id, args.agency_id, deps=deps)
    return keys.issued(new, secret, old).model_dump(mode="json")


def _requests(args: argparse.Namespace, me: Principal, deps: Deps) -> object:
    from .domain.access_requests import DenyAccessRequest, RequestStatus
    from .services import access_requests

    if args.command == "access-requests":
        return access_requests.list_requests(me, RequestStatus(args.status), limit=100, cursor=None, deps=deps)
    return access_requests.deny(me, args.request_id, DenyAccessRequest(reason=args.reason), deps=deps)


OPERATIONS: dict[str, Operation] = {
    "approve": _approve, "access-requests": _requests, "deny": _requests,
    **dict.fromkeys(("list-keys", "revoke-key", "rotate-key"), _keys),
    **cli_program.OPERATIONS,
    **{name: _licensing(name) for name in ("set-license", "set-time-zone", "extend-program", "set-quota",
                                           "set-country-date")},
}
COMMANDS = {"create-agency": _create_agency, "issue-key": _issue_key, "verify-audit": _verify_audit,
            "refile-agencies": _refile_agencies, "refile-keys": _refile_keys, "run-schedule": _run_schedule,
            "export": _export,
            **dict.fromkeys(OPERATIONS, _operator_call)}

if __name__ == "__main__":
    sys.exit(main())
