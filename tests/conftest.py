"""One local stack (moto server + provisioned template + chalice local + event pump) shared by the
integration and e2e tests of a session, on free ports, so it never collides with a `./dev start`
running beside it. Unit tests never start it."""
from __future__ import annotations

from pathlib import Path

import pytest
import requests

from infra.local_stack import LocalStack
from tests.conformance import checking

LOGS = Path(__file__).resolve().parents[1] / ".local"


class Stack:
    def __init__(self, local: LocalStack) -> None:
        assert local.seed
        self.local = local
        self.api_url = local.api_url
        self.officer_key = local.seed.officer_key
        self.admin_key = local.seed.admin_key
        self.agency_id = local.seed.agency_id
        self.sms_messages = local.sms_messages
        self.emails = local.emails
        self.wait_for = local.wait_for
        self.relay = local.relay

    def audit(self, key: str | None = None, **params: object) -> dict[str, object]:
        """GET /agency/audit once every event recorded so far is chained (the pump chains them)."""
        session = self.agency(key)

        def chained() -> dict[str, object] | None:
            body: dict[str, object] = session.get(f"{self.api_url}/agency/audit", params=params).json()
            return body if body["waiting"] == 0 else None
        return self.wait_for(chained, timeout=20, what="the audit events to be chained")

    def agency(self, key: str | None = None) -> requests.Session:
        """An HTTP session that calls the API as an agency user."""
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {key or self.officer_key}"
        return session


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The API fuzz (tests/e2e/test_fuzz_api.py) changes system-wide settings on the shared stack at
    random (quotas, program dates, country dates): it runs after every other test of the session."""
    items.sort(key=lambda item: item.nodeid.startswith("tests/e2e/test_fuzz_api.py"))


@pytest.fixture(scope="session")
def stack():
    LOGS.mkdir(exist_ok=True)
    # Browsers reach S3 through a relay tests can cut; files over 6 MiB go in 5 MiB parts.
    local = LocalStack(log=lambda line: None, chalice_log=LOGS / "e2e-chalice.log", s3_relay=True,
                       extra_env={"MULTIPART_THRESHOLD_BYTES": str(6 * 1024**2),
                                  "MULTIPART_PART_BYTES": str(5 * 1024**2)})
    local.start()
    try:
        with checking(local.api_url):  # every JSON answer is checked against /openapi.json (tests/conformance.py)
            yield Stack(local)
    finally:
        local.stop()
