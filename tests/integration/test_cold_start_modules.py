"""A citizen opening a link (the cold start bench's request: import app.py, then GET /c/{token}/session
in a fresh interpreter, against moto) loads only what that route needs. This checks modules, not time
(bench/cold_start.py prints the time): a top-level import that drags another route's code back into
the cold start fails here, naming it. If a module below is truly needed by the citizen's first
request now, take it off its list and say why in the commit."""
from __future__ import annotations

import json
import subprocess
import sys
from functools import cache
from pathlib import Path

from chalicelib.lazy_routes import route_modules

ROOT = Path(__file__).resolve().parents[2]

# Loaded by `import app` at most (the route table, the authorizer's module, settings, logging).
AT_IMPORT_ONLY = {"chalicelib.domain.errors", "chalicelib.domain.limits"}

# Never loaded by the citizen's first request: other routes' code, and what only they use.
NOT_FOR_THE_CITIZEN = {
    *(name for name in route_modules() if name != "chalicelib.api.public"),
    "chalicelib.views", "chalicelib.pages", "chalicelib.portal_pages", "chalicelib.openapi",
    *(f"chalicelib.services.{name}" for name in (
        "access_requests", "agencies", "captures", "citizen_links", "exports", "ingest", "keys", "notify",
        "portal_sessions", "portals", "program", "program_deletion", "program_extraction", "program_feedback",
        "program_notices", "program_operator", "retention", "review", "sharing", "submissions")),
    *(f"chalicelib.domain.{name}" for name in (
        "access_requests", "commands", "deidentify", "exports", "export_manifest", "lineage", "ports", "portals",
        "program",
        "program_commands", "program_notices", "program_use_cases", "receipts", "sharing")),
    *(f"chalicelib.adapters.{name}" for name in (
        "dynamo_access_requests", "dynamo_audit", "dynamo_exports", "dynamo_holds", "dynamo_portals",
        "dynamo_program", "dynamo_program_notices", "dynamo_program_store", "dynamo_shares", "kms_signer",
        "messaging", "s3_blobs", "s3_exports", "s3_program")),
}


@cache
def loaded() -> dict[str, list[str]]:
    done = subprocess.run([sys.executable, "bench/cold_start.py", "--modules"], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    found: dict[str, list[str]] = json.loads(done.stdout.split("MODULES ", 1)[1])
    return found


def test_the_names_listed_are_modules_of_ours() -> None:  # a typo would make a check pass forever
    for name in NOT_FOR_THE_CITIZEN | AT_IMPORT_ONLY:
        assert (ROOT / (name.replace(".", "/") + ".py")).is_file(), name


def test_importing_the_app_loads_no_route_service_or_adapter_module() -> None:
    at_import = set(loaded()["import"])
    assert {m for m in at_import if m.startswith("chalicelib.api.")} == {"chalicelib.api.common"}
    assert {m for m in at_import if m.startswith("chalicelib.services.")} == {"chalicelib.services.deps"}
    assert {m for m in at_import if m.startswith(("chalicelib.domain.", "chalicelib.adapters"))} <= AT_IMPORT_ONLY


def test_the_citizens_first_request_loads_its_route_and_nothing_of_the_others() -> None:
    first = set(loaded()["request"])
    assert "chalicelib.api.public" in first and "chalicelib.services.citizen_uploads" in first  # it did run
    assert sorted(first & NOT_FOR_THE_CITIZEN) == []
