"""moto's CloudFormation creates our resources but drops some of their properties (bucket CORS,
encryption details, EventBridge notifications, table PITR/TTL...). Each Fixer below applies one
property straight from the template with the service API, then reads it back: if moto still does
not hold it, start-up fails loudly rather than running on a stack that differs from production."""
from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


class NotApplied(RuntimeError):
    pass


@dataclass
class Fixer:
    name: str
    apply: Callable[[], Any]
    check: Callable[[], bool] | None  # None: moto cannot read it back; the caller proves it works


def bucket_fixers(s3: Any, bucket: str, props: dict[str, Any], policy: dict[str, Any]) -> list[Fixer]:
    rule = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    encryption = {"Rules": [{"ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"],
                             "BucketKeyEnabled": rule["BucketKeyEnabled"]}]}
    cors = {"CORSRules": [{"AllowedMethods": r["AllowedMethods"], "AllowedOrigins": r["AllowedOrigins"],
                           "AllowedHeaders": r["AllowedHeaders"], "ExposeHeaders": r["ExposedHeaders"],
                           "MaxAgeSeconds": r["MaxAge"]} for r in props["CorsConfiguration"]["CorsRules"]]}
    lifecycle = {"Rules": [{"ID": r["Id"], "Status": r["Status"], "Filter": {"Prefix": ""},
                            "AbortIncompleteMultipartUpload": r["AbortIncompleteMultipartUpload"]}
                           for r in props["LifecycleConfiguration"]["Rules"]]}
    block = props["PublicAccessBlockConfiguration"]
    # moto evaluates a bucket policy's conditions without the request's context (it cannot see TLS
    # or headers), so a conditional Deny would refuse every request. Those statements stay out of
    # the local bucket; tests/integration/test_template.py checks them in the template.
    conditional = [st["Sid"] for st in policy["Statement"] if st["Effect"] == "Deny" and st.get("Condition")]
    local_policy = {**policy, "Statement": [st for st in policy["Statement"] if st["Sid"] not in conditional]}
    get = lambda method, field: lambda: getattr(s3, method)(Bucket=bucket)[field]  # noqa: E731
    return [
        Fixer("bucket encryption (KMS, bucket key)",
              lambda: s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration=encryption),
              lambda: get("get_bucket_encryption", "ServerSideEncryptionConfiguration")()["Rules"][0]
              == encryption["Rules"][0]),
        Fixer("public access block",
              lambda: s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=block),
              lambda: get("get_public_access_block", "PublicAccessBlockConfiguration")() == block),
        Fixer("versioning",
              lambda: s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"}),
              lambda: s3.get_bucket_versioning(Bucket=bucket).get("Status") == "Enabled"),
        Fixer("CORS exposing ETag",
              lambda: s3.put_bucket_cors(Bucket=bucket, CORSConfiguration=cors),
              lambda: "ETag" in get("get_bucket_cors", "CORSRules")()[0].get("ExposeHeaders", [])),
        # moto keeps this setting but does not return it from GetBucketNotificationConfiguration:
        # the local runner proves it by uploading a probe object and receiving its event.
        Fixer("EventBridge notifications",
              lambda: s3.put_bucket_notification_configuration(
                  Bucket=bucket, NotificationConfiguration={"EventBridgeConfiguration": {}}),
              None),
        Fixer("lifecycle (abort abandoned multipart uploads)",
              lambda: s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration=lifecycle),
              lambda: get("get_bucket_lifecycle_configuration", "Rules")()[0]["ID"] == lifecycle["Rules"][0]["ID"]),
        Fixer(f"bucket policy (kept out locally: {', '.join(conditional)})",
              lambda: s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(local_policy)),
              lambda: json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"]) == local_policy),
    ]


def table_fixers(db: Any, table: str, props: dict[str, Any]) -> list[Fixer]:
    # Not here: SSE with the KMS key. moto's CloudFormation stores SSESpecification under the
    # template's property names, which DescribeTable does not read, and UpdateTable cannot set it.
    # The template itself is checked by cfn-lint (tests/integration/test_template.py).
    fixers = [
        Fixer(f"{table}: point-in-time recovery",
              lambda: db.update_continuous_backups(
                  TableName=table, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}),
              lambda: db.describe_continuous_backups(TableName=table)["ContinuousBackupsDescription"]
              ["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"),
    ]
    ttl = props.get("TimeToLiveSpecification")
    if ttl:
        fixers.append(Fixer(
            f"{table}: TTL on {ttl['AttributeName']}",
            lambda: db.update_time_to_live(TableName=table, TimeToLiveSpecification=ttl),
            lambda: db.describe_time_to_live(TableName=table)["TimeToLiveDescription"].get("AttributeName")
            == ttl["AttributeName"]))
    return fixers


def key_policy_fixers(kms: Any) -> list[Fixer]:
    """moto's CloudFormation stores a key's KeyPolicy as an object, not JSON text, and then fails
    every DescribeKey of that key with a 500 (it parses the policy as text): store it as text."""
    def policy(key_id: str) -> Any:
        return kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"]

    def as_text(key_id: str) -> None:
        kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=json.dumps(policy(key_id)))

    return [Fixer(f"KMS key {key['KeyId']}: policy as JSON text", functools.partial(as_text, key["KeyId"]),
                  functools.partial(lambda key_id: isinstance(policy(key_id), str), key["KeyId"]))
            for key in kms.list_keys()["Keys"]]


def program_fixers(s3: Any, kms: Any, bucket: str, props: dict[str, Any], signing_alias: str) -> list[Fixer]:
    """The improvement program's bucket (versioned, noncurrent versions expire) and its receipt
    key: moto's CloudFormation makes every KMS key symmetric, so an ECC signing key is made here
    and the template's alias pointed at it."""
    rule = next(r for r in props["LifecycleConfiguration"]["Rules"] if "NoncurrentVersionExpiration" in r)
    lifecycle = {"Rules": [{"ID": rule["Id"], "Status": rule["Status"], "Filter": {"Prefix": ""},
                            "NoncurrentVersionExpiration": rule["NoncurrentVersionExpiration"]}]}

    def signing_key() -> None:
        made = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY",
                              Description="Signs the improvement program's deletion receipts (local)")
        try:
            kms.update_alias(AliasName=signing_alias, TargetKeyId=made["KeyMetadata"]["KeyId"])
        except kms.exceptions.NotFoundException:  # moto made no alias for the template's key
            kms.create_alias(AliasName=signing_alias, TargetKeyId=made["KeyMetadata"]["KeyId"])

    return [
        Fixer(f"{bucket}: versioning",
              lambda: s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"}),
              lambda: s3.get_bucket_versioning(Bucket=bucket).get("Status") == "Enabled"),
        Fixer(f"{bucket}: noncurrent versions expire",
              lambda: s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration=lifecycle),
              lambda: s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"][0].get(
                  "NoncurrentVersionExpiration") == rule["NoncurrentVersionExpiration"]),
        Fixer(f"{signing_alias}: an ECC_NIST_P256 signing key", signing_key,
              lambda: kms.describe_key(KeyId=signing_alias)["KeyMetadata"].get("KeySpec") == "ECC_NIST_P256"),
    ]


def run(fixers: list[Fixer], report: Callable[[str], None]) -> None:
    for fixer in fixers:
        if fixer.check is None:
            fixer.apply()
            report(f"applied  {fixer.name} (proved by use)")
        elif not _holds(fixer):
            fixer.apply()
            if not _holds(fixer):
                raise NotApplied(f"moto does not hold {fixer.name} even after applying it")
            report(f"applied  {fixer.name}")
        else:
            report(f"kept     {fixer.name}")


def _holds(fixer: Fixer) -> bool:
    try:
        return bool(fixer.check and fixer.check())
    except Exception:  # a read of a missing configuration raises in boto3
        return False
