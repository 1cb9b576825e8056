from __future__ import annotations

import pytest

from chalicelib.domain.models import Principal, Role
from chalicelib.services import agencies
from tests.fakes import FixedClock, make_deps


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def deps(clock):
    return make_deps(clock)


@pytest.fixture
def agency(deps):
    return agencies.create_agency("Springfield Police", "US", deps=deps)


@pytest.fixture
def officer(deps, agency) -> Principal:
    key, _ = agencies.issue_key(agency.agency_id, Role.OFFICER, "Officer Lee", deps=deps)
    return Principal(agency_id=agency.agency_id, role=key.role, key_id=key.key_id)
