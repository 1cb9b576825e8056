"""The time-travel replay: the real scheduler and rules walked day by day over a synthetic population."""
from __future__ import annotations

from datetime import date

import pytest

from chalicelib import replay as replay_command

D = date.fromisoformat
WHOLE = [(D("2020-03-26"), D("2021-06-30"))]
TO_JAN = [(D("2020-03-26"), D("2021-01-31"))]
LIMITED_FROM_FEB = [(D("2021-02-01"), D("2021-06-30"))]
DEC_WARNING = (D("2020-12-01"), 30, D("2020-12-31"))
JAN_WARNINGS = [(D("2021-01-01"), 30, D("2021-01-31")), (D("2021-01-24"), 7, D("2021-01-31")),
                (D("2021-01-30"), 1, D("2021-01-31"))]

EXPECTED = {
    # agency: (officers, communities, limited, warnings, end switches)
    # Basic: Officers free until the (extended) end like Communities, then neither; never limited.
    "basic-us": (TO_JAN, [(D("2020-03-30"), D("2021-01-31"))], [], [DEC_WARNING, *JAN_WARNINGS],
                 [(D("2021-02-01"), "full")]),
    "pro-de": (WHOLE, [(D("2020-04-02"), D("2021-01-31"))], [], [DEC_WARNING, *JAN_WARNINGS],
               [(D("2021-02-01"), "full")]),
    "lite-enrolled-us": (TO_JAN, TO_JAN, LIMITED_FROM_FEB, [DEC_WARNING, *JAN_WARNINGS],
                         [(D("2021-02-01"), "limited")]),
    "lite-not-enrolled-us": ([], [], [], [], []),
    "lite-continues-us": (WHOLE, WHOLE, [], [DEC_WARNING, JAN_WARNINGS[0]], []),
    "first-time-us": (TO_JAN, TO_JAN, LIMITED_FROM_FEB, [DEC_WARNING, *JAN_WARNINGS],
                      [(D("2021-02-01"), "limited")]),
    "first-time-de": ([(D("2020-04-02"), D("2021-01-31"))], [(D("2020-04-02"), D("2021-01-31"))],
                      LIMITED_FROM_FEB, [DEC_WARNING, *JAN_WARNINGS], [(D("2021-02-01"), "limited")]),
    "first-time-extended-us": (
        [(D("2020-03-26"), D("2021-03-31"))], [(D("2020-03-26"), D("2021-03-31"))],
        [(D("2021-04-01"), D("2021-06-30"))],
        [DEC_WARNING, JAN_WARNINGS[0], (D("2021-03-01"), 30, D("2021-03-31")), (D("2021-03-24"), 7, D("2021-03-31")),
         (D("2021-03-30"), 1, D("2021-03-31"))],
        [(D("2021-04-01"), "limited")]),
    "osp7-us": (WHOLE, WHOLE, [], [], []),
    "basic-addon-us": (WHOLE, WHOLE, [], [], []),
}


@pytest.fixture(scope="module")
def whole_program():
    return replay_command.replay(D("2020-03-26"), D("2021-06-30"))


@pytest.mark.parametrize("agency_id", list(EXPECTED))
def test_the_replay_shows_each_agency_s_capabilities_warnings_and_end_on_the_expected_days(whole_program, agency_id):
    officers, communities, limited, warnings, ended = EXPECTED[agency_id]
    row = whole_program["agencies"][agency_id]
    assert row["officers"] == officers
    assert row["communities"] == communities
    assert row["limited"] == limited
    assert row["warnings"] == warnings
    assert row["ended"] == ended


def test_the_replay_lists_the_operator_changes_it_applied(whole_program):
    assert [day for day, _ in whole_program["events"]] == [D("2020-03-28"), D("2020-12-10"), D("2021-01-15"),
                                                           D("2021-01-20")]


def test_a_replay_started_late_applies_earlier_changes_on_their_own_days_and_catches_up_the_end():
    late = replay_command.replay(D("2021-02-05"), D("2021-02-10"))
    assert late["agencies"]["first-time-us"]["limited"] == [(D("2021-02-05"), D("2021-02-10"))]
    assert late["agencies"]["first-time-us"]["ended"] == [(D("2021-02-05"), "limited")]
    assert late["agencies"]["first-time-extended-us"]["officers"] == [(D("2021-02-05"), D("2021-02-10"))]


def test_the_command_prints_a_table_of_ranges_and_the_notices(capsys):
    assert replay_command.main(["--start", "2020-12-20", "--end", "2021-01-05"]) == 0
    out = capsys.readouterr().out
    assert "first-time-de" in out and "2020-12-20..2021-01-05" in out
    assert "2021-01-01 30d before 2021-01-31" in out


def test_the_command_refuses_an_end_before_the_start():
    with pytest.raises(SystemExit):
        replay_command.main(["--start", "2021-01-05", "--end", "2020-12-20"])
