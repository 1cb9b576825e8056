"""Operator command line: `./dev cli <command>` (or `python -m chalicelib.cli`).

It runs the same services as the API, against the stage you name: `--stage local` talks to the
stack `./dev start` is running; `--stage prod` to AWS with your credentials."""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCAL_ENV = ROOT / ".local" / "stack.env"


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
    key = commands.add_parser("issue-key", help="issue an API key (shown once)")
    key.add_argument("agency_id")
    key.add_argument("--role", choices=["officer", "agency_admin"], default="officer")
    key.add_argument("--label", required=True)
    verify = commands.add_parser("verify-audit", help="check an agency's audit hash chain")
    verify.add_argument("agency_id")
    args = parser.parse_args(argv)
    _use_stage(args.stage)
    return COMMANDS[args.command](args)


def _create_agency(args: argparse.Namespace) -> int:
    from . import bootstrap
    from .domain.models import Role
    from .services import agencies

    created = agencies.create_agency(args.name, args.country, deps=bootstrap.deps())
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
        issued, secret = agencies.issue_key(args.agency_id, Role(args.role), args.label, deps=bootstrap.deps())
    except DomainError as exc:
        print(exc.message, file=sys.stderr)
        return 1
    print(json.dumps({"key_id": issued.key_id, "role": args.role, "key": secret}, indent=2))
    return 0


def _verify_audit(args: argparse.Namespace) -> int:
    from . import bootstrap
    from .domain.audit import verify_chain

    entries = list(bootstrap.deps().audit.entries(args.agency_id))
    problems = verify_chain(entries)
    for problem in problems:
        print(problem)
    print(f"{len(entries)} entries, {'intact' if not problems else f'{len(problems)} problems'}")
    return 1 if problems else 0


COMMANDS = {"create-agency": _create_agency, "issue-key": _issue_key, "verify-audit": _verify_audit}

if __name__ == "__main__":
    sys.exit(main())
