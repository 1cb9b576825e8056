"""The CloudFormation template is the contract with production: lint it and check what the
local stack cannot prove (policy conditions moto does not evaluate, table encryption)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from infra import cfn

ROOT = Path(__file__).resolve().parents[2]


def resources():
    return cfn.load()["Resources"]


def test_the_template_passes_cfn_lint():
    lint = Path(sys.executable).parent / "cfn-lint"
    result = subprocess.run([str(lint), str(cfn.TEMPLATE)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_bucket_refuses_plain_http_and_other_encryption():
    statements = {s["Sid"]: s for s in resources()["EvidenceBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]}
    tls = statements["TlsOnly"]
    assert tls["Effect"] == "Deny" and tls["Action"] == "s3:*"
    assert tls["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    other = statements["NoOtherEncryption"]
    # Only a request that names an algorithm other than KMS is refused: default encryption applies otherwise.
    assert other["Condition"]["Null"] == {"s3:x-amz-server-side-encryption": "false"}
    assert other["Condition"]["StringNotEquals"] == {"s3:x-amz-server-side-encryption": "aws:kms"}


def test_the_bucket_is_private_versioned_and_kms_encrypted():
    bucket = resources()["EvidenceBucket"]["Properties"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    rule = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms" and rule["BucketKeyEnabled"]
    assert bucket["VersioningConfiguration"]["Status"] == "Enabled"
    assert "ETag" in bucket["CorsConfiguration"]["CorsRules"][0]["ExposedHeaders"]


def test_every_table_has_kms_encryption_and_point_in_time_recovery():
    tables = {k: v["Properties"] for k, v in resources().items() if v["Type"] == "AWS::DynamoDB::Table"}
    assert set(tables) == {"MainTable", "AuditTable", "AuditInboxTable", "ProgramTable"}
    for props in tables.values():
        assert props["SSESpecification"]["SSEEnabled"] and props["SSESpecification"]["SSEType"] == "KMS"
        assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"]


def test_chalice_points_each_function_at_a_policy_file_that_exists():
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    assert config["autogen_policy"] is False
    functions = config["stages"]["prod"]["lambda_functions"]
    assert set(functions) == {"api_handler", "agency_key", "ingest_upload", "retention_sweep", "daily_digest",
                              "export_chunk", "license_daily", "sequence_audit", "program_notices",
                              "program_extract", "program_delete", "abandoned_uploads"}
    for settings in functions.values():
        policy = json.loads((ROOT / ".chalice" / settings["iam_policy_file"]).resolve().read_text())
        assert policy["Statement"] and all(s["Effect"] == "Allow" for s in policy["Statement"])


def test_the_audit_inbox_streams_its_keys_to_wake_the_sequencer_and_keeps_its_events():
    inbox = resources()["AuditInboxTable"]
    assert inbox["Properties"]["StreamSpecification"] == {"StreamViewType": "KEYS_ONLY"}
    assert inbox["DeletionPolicy"] == "Retain" and inbox["Properties"]["DeletionProtectionEnabled"]
    assert [k["AttributeName"] for k in inbox["Properties"]["KeySchema"]] == ["agency_id", "event_id"]


def test_program_storage_keeps_deletion_plus_restore_window_within_30_days():
    """Issue 11: the program's table is restorable for at most 7 days, its bucket's overwritten
    versions expire within 7, there is no Object Lock, and the alarm fires 7 days before a
    request's due date, so a deletion done by then stays restorable no later than day 30."""
    template = resources()
    window = template["ProgramTable"]["Properties"]["PointInTimeRecoverySpecification"]
    assert window["RecoveryPeriodInDays"] == {"Ref": "ProgramRecoveryDays"}
    assert cfn.load()["Parameters"]["ProgramRecoveryDays"]["MaxValue"] <= 7
    bucket = template["ProgramBucket"]["Properties"]
    assert "ObjectLockEnabled" not in bucket and "ObjectLockConfiguration" not in bucket
    assert bucket["VersioningConfiguration"]["Status"] == "Enabled"
    [rule] = [r for r in bucket["LifecycleConfiguration"]["Rules"] if "NoncurrentVersionExpiration" in r]
    assert rule["NoncurrentVersionExpiration"]["NoncurrentDays"] <= 7
    key = template["ReceiptSigningKey"]["Properties"]
    assert (key["KeySpec"], key["KeyUsage"]) == ("ECC_NIST_P256", "SIGN_VERIFY")
    alarm = template["ProgramRequestNearDueAlarm"]["Properties"]
    assert alarm["MetricName"] == "ProgramRequestsNearDue" and alarm["Threshold"] == 1


def test_the_bucket_aborts_multipart_uploads_left_incomplete():
    rules = resources()["EvidenceBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    aborting = [r for r in rules if "AbortIncompleteMultipartUpload" in r]
    assert aborting and aborting[0]["Status"] == "Enabled"
    assert 1 <= aborting[0]["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] <= 7
