"""The deploy artifact. `chalice deploy` cannot run against moto, so the deploy path is proven by
what `chalice package --stage prod --merge-template infra/package_merge.yaml` produces: a template
cfn-lint and checkov accept (every skip with its reason), one role per function carrying exactly
its file from policies/, each function named, the asynchronous ones with a dead-letter queue, the
API stage throttled, logged and traced with the gateway's own errors in the {code, message} shape,
every stateful resource retained, and a zip without tests or boto3.

checkov runs from its own venv (.local/checkov-venv, pinned in infra/checkov-requirements.txt): its
current release pins an older boto3 than ours, so it cannot live in .venv."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import venv
import zipfile
from pathlib import Path
from typing import Any

import pytest

from chalicelib.events import UPLOAD_EVENT_PATTERN
from infra.cfn import load

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
MERGE = ROOT / "infra" / "package_merge.yaml"
CHECKOV_PINS = ROOT / "infra" / "checkov-requirements.txt"
CHECKOV_VENV = ROOT / ".local" / "checkov-venv"
PREFIX = "citizen-evidence-prod"
STATEFUL = {"AWS::S3::Bucket", "AWS::DynamoDB::Table", "AWS::KMS::Key", "AWS::SQS::Queue", "AWS::Logs::LogGroup"}
ASYNC_EVENTS = {"Schedule", "CloudWatchEvent", "EventBridgeRule", "S3", "SNS"}


@pytest.fixture(scope="module")
def packaged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("package")
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1"}
    result = subprocess.run([str(BIN / "chalice"), "package", "--stage", "prod", "--merge-template", str(MERGE),
                             str(out)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    return out


@pytest.fixture(scope="module")
def resources(packaged: Path) -> dict[str, Any]:
    found: dict[str, Any] = load(packaged / "sam.yaml")["Resources"]
    return found


def lambda_names() -> list[str]:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    return sorted(config["stages"]["prod"]["lambda_functions"])


def logical_id(name: str) -> str:
    return "APIHandler" if name == "api_handler" else "".join(p.capitalize() for p in name.split("_"))


def function_name(name: str) -> str:
    return PREFIX if name == "api_handler" else f"{PREFIX}-{name}"


def functions(resources: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in resources.items() if r["Type"] == "AWS::Serverless::Function"}


def checkov() -> Path:
    """checkov from its own venv, made (or remade when the pin changes) on first use."""
    stamp, pins = CHECKOV_VENV / "pins.txt", CHECKOV_PINS.read_text()
    binary = CHECKOV_VENV / "bin" / "checkov"
    if not binary.exists() or not stamp.exists() or stamp.read_text() != pins:
        venv.create(CHECKOV_VENV, with_pip=True, clear=True)
        subprocess.run([str(CHECKOV_VENV / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check",
                        "-r", str(CHECKOV_PINS)], check=True, timeout=900)
        stamp.write_text(pins)
    return binary


def run_checkov(path: Path) -> dict[str, Any]:
    result = subprocess.run([str(checkov()), "-f", str(path), "--framework", "cloudformation", "--output", "json",
                             "--quiet", "--compact"], capture_output=True, text=True, timeout=600)
    report: dict[str, Any] = json.loads(result.stdout)
    return report


# --- the template as a whole --------------------------------------------------------------------------


def test_the_packaged_template_passes_cfn_lint(packaged):
    result = subprocess.run([str(BIN / "cfn-lint"), str(packaged / "sam.yaml")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize("template", ["package", "infra/template.yaml"])
def test_checkov_passes_with_every_skip_justified(packaged, template):
    path = packaged / "sam.yaml" if template == "package" else ROOT / template
    report = run_checkov(path)
    summary = report.get("summary", report)
    results = report.get("results", {})
    print(f"checkov {template}: passed {summary['passed']}, failed {summary['failed']}, "
          f"skipped {summary['skipped']}")
    failed = [f"{c['check_id']} {c['resource']}: {c['check_name']}" for c in results.get("failed_checks", [])]
    assert not failed, (f"checkov fails {template}: {failed}. Fix the resource, or skip the check in its Metadata "
                        "(checkov: skip: - id: ..., comment: why it does not apply), in infra/package_merge.yaml "
                        "for the functions and the API, infra/template.yaml for the stateful stack")
    assert summary["passed"] > 0
    for check in results.get("skipped_checks", []):
        reason = (check.get("check_result") or {}).get("suppress_comment") or ""
        assert len(reason) >= 30, f"{check['check_id']} on {check['resource']} is skipped without a reason"


def test_every_stateful_resource_is_retained_on_delete_and_replace(resources):
    for template, found in (("package", resources), ("infra/template.yaml", load()["Resources"])):
        for name, resource in found.items():
            if resource["Type"] in STATEFUL:
                assert resource.get("DeletionPolicy") == "Retain", f"{template}: {name} needs DeletionPolicy: Retain"
                assert resource.get("UpdateReplacePolicy") == "Retain", (
                    f"{template}: {name} needs UpdateReplacePolicy: Retain")


def test_the_evidence_bucket_logs_its_access_to_a_retained_log_bucket():
    found = load()["Resources"]
    logging = found["EvidenceBucket"]["Properties"]["LoggingConfiguration"]
    target = found[logging["DestinationBucketName"]["Ref"]]
    assert target["Type"] == "AWS::S3::Bucket" and target["DeletionPolicy"] == "Retain"
    assert target["Properties"]["PublicAccessBlockConfiguration"]["RestrictPublicBuckets"]


# --- the functions ----------------------------------------------------------------------------------


def test_every_function_is_in_the_merge_template_with_its_name(resources):
    for name in lambda_names():
        props = functions(resources).get(logical_id(name), {}).get("Properties", {})
        assert props.get("FunctionName") == function_name(name), (
            f"{name}: add {logical_id(name)} to infra/package_merge.yaml with FunctionName: {function_name(name)} "
            "(its policy may write only to that function's log group), a DeadLetterQueue if it runs "
            "asynchronously, and its checkov skips")


def test_each_function_has_its_own_role_with_its_policy_file(resources):
    for name in lambda_names():
        role = "ApiHandlerRole" if name == "api_handler" else f"{logical_id(name)}Role"
        assert resources[role]["Type"] == "AWS::IAM::Role", name
        attached = resources[role]["Properties"]["Policies"][0]["PolicyDocument"]
        assert attached == json.loads((ROOT / "policies" / f"{name}.json").read_text()), name
    roles = {k for k, r in resources.items() if r["Type"] == "AWS::IAM::Role"} - {"ApiGatewayLogsRole"}
    assert len(roles) == len(lambda_names())


def test_asynchronous_functions_send_what_fails_to_a_retained_dead_letter_queue(resources):
    for logical, function in functions(resources).items():
        kinds = {e["Type"] for e in function["Properties"].get("Events", {}).values()}
        if kinds & ASYNC_EVENTS:
            target = function["Properties"].get("DeadLetterQueue")
            assert target and target["Type"] == "SQS", (
                f"{logical} runs asynchronously ({sorted(kinds)}): give it DeadLetterQueue in infra/package_merge.yaml")
            queue = resources[target["TargetArn"]["Fn::GetAtt"][0]]
            assert queue["Type"] == "AWS::SQS::Queue" and queue["DeletionPolicy"] == "Retain"


def test_background_functions_have_reserved_concurrency_and_the_api_does_not(resources):
    props = {k: f["Properties"] for k, f in functions(resources).items()}
    assert "ReservedConcurrentExecutions" not in props["APIHandler"]
    assert props["ExportChunk"]["ReservedConcurrentExecutions"] <= 10
    assert props["RetentionSweep"]["ReservedConcurrentExecutions"] == 1
    assert props["SequenceAudit"]["ReservedConcurrentExecutions"] >= 1


def test_the_upload_handler_is_subscribed_to_object_created_events(resources):
    function = resources["IngestUpload"]["Properties"]
    patterns = [e["Properties"]["Pattern"] for e in function["Events"].values()]
    assert UPLOAD_EVENT_PATTERN in patterns
    assert function["Timeout"] == 900


def test_the_sequencer_reads_the_audit_inbox_stream_from_its_oldest_record(resources):
    function = resources["SequenceAudit"]["Properties"]
    [source] = [e["Properties"] for e in function["Events"].values()]
    assert "audit-inbox/stream/" in source["Stream"] and source["StartingPosition"] == "TRIM_HORIZON"


# --- the API stage ----------------------------------------------------------------------------------


def test_the_stage_is_throttled_harder_on_public_routes(resources):
    settings = {(s["ResourcePath"], s["HttpMethod"]): s for s in resources["RestAPI"]["Properties"]["MethodSettings"]}
    whole = settings[("/*", "*")]
    assert whole["ThrottlingRateLimit"] > 0 and whole["ThrottlingBurstLimit"] > 0
    assert whole["LoggingLevel"] == "OFF" and not whole["DataTraceEnabled"]
    routes = resources["RestAPI"]["Properties"]["DefinitionBody"]["paths"]
    public = [(path, method.upper()) for path, methods in routes.items() for method, spec in methods.items()
              if not spec.get("security") and method.upper() == "POST"]
    assert public, "the public POST routes are found"
    for path, method in public:
        setting = settings.get((path.replace("/", "~1").replace("~1", "/~1", 1), method))
        assert setting and setting["ThrottlingRateLimit"] < whole["ThrottlingRateLimit"], (
            f"public {method} {path}: add a MethodSettings entry below the stage's rate in infra/package_merge.yaml")


@pytest.mark.parametrize(("kind", "status", "code"), [("UNAUTHORIZED", 401, "unauthenticated"),
                                                        ("ACCESS_DENIED", 403, "forbidden"),
                                                        ("THROTTLED", 429, "rate_limited")])
def test_the_gateways_own_errors_are_json_code_and_message(resources, kind, status, code):
    response = resources["RestAPI"]["Properties"]["GatewayResponses"][kind]
    assert response["StatusCode"] == status
    body = json.loads(response["ResponseTemplates"]["application/json"])
    assert set(body) == {"code", "message"} and body["code"] == code
    headers = response["ResponseParameters"]["Headers"]
    assert headers["X-Content-Type-Options"] == "'nosniff'" and "max-age" in headers["Strict-Transport-Security"]
    if status == 429:
        assert re.fullmatch(r"'\d+'", headers["Retry-After"])


def test_access_logs_name_the_route_never_the_path_and_tracing_is_on(resources):
    props = resources["RestAPI"]["Properties"]
    access = props["AccessLogSetting"]
    assert access["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogs", "Arn"]}
    assert "$context.resourcePath" in access["Format"] and "$context.path" not in access["Format"]
    json.loads(re.sub(r"\$context\.[a-zA-Z.]+", "x", access["Format"]))  # one JSON object per request
    assert props["TracingEnabled"] is True
    assert resources["ApiGatewayAccount"]["Properties"]["CloudWatchRoleArn"] == {
        "Fn::GetAtt": ["ApiGatewayLogsRole", "Arn"]}


# --- the zip ------------------------------------------------------------------------------------------


def test_the_zip_holds_no_test_code_and_no_boto3(packaged):
    archive = packaged / "deployment.zip"
    names = zipfile.ZipFile(archive).namelist()
    tops = {name.split("/", 1)[0] for name in names}
    print(f"deployment.zip: {archive.stat().st_size / 1e6:.1f} MB, {len(names)} files")
    assert not tops & {"tests", "bench", "infra", "boto3", "botocore", "s3transfer", "moto", "pytest"}, sorted(tops)
    ours = [n for n in names if n == "app.py" or n.startswith("chalicelib/")]
    assert not [n for n in ours if re.search(r"(^|/)(test_[^/]*\.py|conftest\.py|fakes\.py)$", n)]
    assert {"app.py", "chalicelib", "pydantic", "aws_lambda_powertools"} <= tops
