"""`chalice deploy` cannot run against moto, so the deploy path is proven by what `chalice package`
produces for the prod stage: a template cfn-lint accepts, one role per function carrying exactly
its file from policies/, and the upload handler subscribed to S3's Object Created events."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from chalicelib.events import UPLOAD_EVENT_PATTERN

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def packaged(tmp_path_factory):
    out = tmp_path_factory.mktemp("package")
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1"}
    result = subprocess.run([str(BIN / "chalice"), "package", "--stage", "prod", str(out)], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    return out


def test_the_packaged_template_passes_cfn_lint(packaged):
    result = subprocess.run([str(BIN / "cfn-lint"), str(packaged / "sam.json")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_each_function_has_its_own_role_with_its_policy_file(packaged):
    resources = json.loads((packaged / "sam.json").read_text())["Resources"]
    roles = {name for name, r in resources.items() if r["Type"] == "AWS::IAM::Role"}
    expected = {"ApiHandlerRole": "api_handler", "AgencyKeyRole": "agency_key", "IngestUploadRole": "ingest_upload",
                "RetentionSweepRole": "retention_sweep", "DailyDigestRole": "daily_digest",
                "ExportChunkRole": "export_chunk", "LicenseDailyRole": "license_daily",
                "SequenceAuditRole": "sequence_audit", "ProgramNoticesRole": "program_notices"}
    assert roles == set(expected)
    for role, policy_file in expected.items():
        attached = resources[role]["Properties"]["Policies"][0]["PolicyDocument"]
        assert attached == json.loads((ROOT / "policies" / f"{policy_file}.json").read_text())


def test_the_upload_handler_is_subscribed_to_object_created_events(packaged):
    function = json.loads((packaged / "sam.json").read_text())["Resources"]["IngestUpload"]["Properties"]
    patterns = [e["Properties"]["Pattern"] for e in function["Events"].values()]
    assert UPLOAD_EVENT_PATTERN in patterns
    assert function["Timeout"] == 900


def test_the_sequencer_reads_the_audit_inbox_stream_from_its_oldest_record(packaged):
    function = json.loads((packaged / "sam.json").read_text())["Resources"]["SequenceAudit"]["Properties"]
    [source] = [e["Properties"] for e in function["Events"].values()]
    assert "audit-inbox/stream/" in source["Stream"] and source["StartingPosition"] == "TRIM_HORIZON"
