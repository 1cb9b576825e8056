"""Deploy infra/template.yaml into the endpoint boto3 points at (moto locally), then make the
result match the template where moto's CloudFormation fell short."""
from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from typing import Any

import boto3

from infra import cfn, reconcile

STACK_NAME = "citizen-evidence-local"
TABLES = {"MainTable": "TABLE_NAME", "AuditTable": "AUDIT_TABLE_NAME", "AuditInboxTable": "AUDIT_INBOX_TABLE_NAME",
          "ProgramTable": "PROGRAM_TABLE_NAME"}


def provision(*, page_origin: str, report: Callable[[str], None], stage: str = "local") -> dict[str, str]:
    # moto warns once per resource type its CloudFormation skips; reconcile.py covers those.
    warnings.filterwarnings("ignore", message="Tried to parse AWS::", category=UserWarning)
    cloudformation = boto3.client("cloudformation")
    parameters = {"Stage": stage, "CitizenPageOrigins": page_origin, "PointInTimeRecoveryDays": "14",
                  "ProgramRecoveryDays": "7"}
    cloudformation.create_stack(
        StackName=STACK_NAME, TemplateBody=cfn.TEMPLATE.read_text(),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
    )
    cloudformation.get_waiter("stack_create_complete").wait(StackName=STACK_NAME, WaiterConfig={"Delay": 1})
    stack = cloudformation.describe_stacks(StackName=STACK_NAME)["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    report(f"stack {STACK_NAME}: {stack['StackStatus']}")
    _check_names_match_app_config(outputs)
    reconcile.run(_fixers(parameters, outputs), report)
    return outputs


def _fixers(parameters: dict[str, Any], outputs: dict[str, str]) -> list[reconcile.Fixer]:
    template = cfn.load()
    resources = template["Resources"]
    bucket = outputs["EvidenceBucket"]
    physical = {**outputs, "EvidenceKey": outputs["EvidenceKeyArn"]}
    resolve = cfn.Resolver(
        parameters={**parameters, "CitizenPageOrigins": [parameters["CitizenPageOrigins"]]},
        physical_ids=physical, account=boto3.client("sts").get_caller_identity()["Account"],
        region=boto3.session.Session().region_name or "us-east-1",
        attributes={"EvidenceKey.Arn": outputs["EvidenceKeyArn"], "EvidenceBucket.Arn": f"arn:aws:s3:::{bucket}"},
    )
    fixers = reconcile.key_policy_fixers(boto3.client("kms"))
    fixers += reconcile.bucket_fixers(
        boto3.client("s3"), bucket, resolve(resources["EvidenceBucket"]["Properties"]),
        resolve(resources["EvidenceBucketPolicy"]["Properties"]["PolicyDocument"]),
    )
    fixers += reconcile.program_fixers(boto3.client("s3"), boto3.client("kms"), outputs["ProgramBucket"],
                                       resources["ProgramBucket"]["Properties"], os.environ["RECEIPT_SIGNING_KEY"])
    db = boto3.client("dynamodb")
    for logical in TABLES:
        fixers += reconcile.table_fixers(db, outputs[logical], resolve(resources[logical]["Properties"]))
    return fixers


def _check_names_match_app_config(outputs: dict[str, str]) -> None:
    """.chalice/config.json names the resources too: a drift would only show at the first request."""
    expected = {os.environ[var]: logical for logical, var in TABLES.items()}
    expected[os.environ["EVIDENCE_BUCKET"]] = "EvidenceBucket"
    expected[os.environ["PROGRAM_BUCKET"]] = "ProgramBucket"
    expected[os.environ["EXPORT_QUEUE_NAME"]] = "ExportQueue"
    for name, logical in expected.items():
        if outputs.get(logical) != name:
            raise RuntimeError(
                f"{logical} is {outputs.get(logical)!r} in the stack but {name!r} in .chalice/config.json")
