"""Settings come from the environment once per container; a missing or bad value fails at once with
one message naming every problem."""
from __future__ import annotations

import pytest

from chalicelib.config import GIB, MIB, ConfigError, load_settings

BASE = {"APP_STAGE": "prod", "TABLE_NAME": "t", "AUDIT_TABLE_NAME": "a", "AUDIT_INBOX_TABLE_NAME": "i",
        "EVIDENCE_BUCKET": "b", "EXPORT_QUEUE_NAME": "q", "EMAIL_SENDER": "s@example.org"}


def test_the_required_values_and_the_defaults() -> None:
    settings = load_settings(BASE)
    assert (settings.stage, settings.table_name, settings.email_sender) == ("prod", "t", "s@example.org")
    assert (settings.max_upload_bytes, settings.multipart_threshold, settings.part_bytes) == (50 * GIB, 100 * MIB,
                                                                                               16 * MIB)
    assert settings.public_base_url is None and settings.aws_endpoint_url is None
    assert settings.rate_limit_scale == 1


def test_numbers_and_optional_values_are_read() -> None:
    settings = load_settings(BASE | {"MULTIPART_PART_BYTES": str(8 * MIB), "PUBLIC_BASE_URL": "https://x.example",
                                     "PROGRAM_BUCKET": "p", "RATE_LIMIT_SCALE": "1000"})
    assert settings.part_bytes == 8 * MIB and settings.public_base_url == "https://x.example"
    assert settings.program_bucket == "p" and settings.rate_limit_scale == 1000


def test_every_problem_is_named_in_one_message() -> None:
    env = {k: v for k, v in BASE.items() if k != "TABLE_NAME"} | {
        "MULTIPART_PART_BYTES": "1", "RATE_CITIZEN_READS_PER_MINUTE": "lots", "PUBLIC_BASE_URL": "ftp://x"}
    with pytest.raises(ConfigError) as refused:
        load_settings(env)
    message = str(refused.value)
    for name in ("TABLE_NAME", "MULTIPART_PART_BYTES", "RATE_CITIZEN_READS_PER_MINUTE", "PUBLIC_BASE_URL"):
        assert name in message
    assert message.startswith("bad configuration: ")


@pytest.mark.parametrize("value", ["0", "-5", "²", str(50 * GIB + 1), ""])
def test_a_number_out_of_its_bounds_or_not_a_whole_number_is_refused(value: str) -> None:
    with pytest.raises(ConfigError, match="MAX_UPLOAD_BYTES"):
        load_settings(BASE | {"MAX_UPLOAD_BYTES": value})


def test_the_local_stage_never_reaches_real_aws() -> None:
    with pytest.raises(ConfigError, match="AWS_ENDPOINT_URL"):
        load_settings(BASE | {"APP_STAGE": "local"})
    assert load_settings(BASE | {"APP_STAGE": "local", "AWS_ENDPOINT_URL": "http://127.0.0.1:5000"}).stage == "local"


def test_settings_are_frozen() -> None:
    settings = load_settings(BASE)
    with pytest.raises(AttributeError):
        settings.stage = "other"  # type: ignore[misc]
