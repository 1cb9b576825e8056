"""The time-travel proof of the improvement program's part 2 in quick mode (a few agencies over
2020-03-26 .. 2022-12-31, every schedule run day by day; bench/program_time_travel.py runs 1,000):
nothing taken before its effective date, nothing excluded left in program storage, no request done
late, every receipt verifies and every tampered copy is caught."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "program_time_travel.py"


def load():
    spec = importlib.util.spec_from_file_location("program_time_travel", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_quick_time_travel_holds_every_promise() -> None:
    travel = load()
    result = travel.run(6, seed=7)
    print(travel.render(result))
    assert result["artifacts_made"] > 0 and result["requests"] > 0 and result["receipts"] > 0, result
    assert result["tampered"] > 0 and result["artifacts_made"] > result["artifacts_held"], result  # some deleted
    assert result["extractions_before_effective"] == 0 and result["excluded_in_storage"] == 0, result
    assert result["requests_done_late"] == 0, result
    assert result["receipts_verifying_pct"] == 100.0 and result["tampered_detected_pct"] == 100.0, result
