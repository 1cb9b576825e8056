"""The bench scripts keep running as the code changes (they are not part of pass/fail on time):
each runs small, in its own process, and the sweep's call counts must not grow with the table."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str) -> str:
    done = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_sweep_bench_runs_and_its_calls_stay_flat_as_the_table_grows():
    rows = [line.split() for line in run("bench/sweep_cost.py", "--sizes", "40", "400", "--due", "10").splitlines()[1:]]
    (small_total, small_deleted, small_dynamo, small_s3, _, small_scan, _), (big_total, *big) = rows
    assert (small_total, big_total) == ("40", "400") and small_deleted == big[0] == "10"
    assert (small_dynamo, small_s3) == (big[1], big[2]) and small_scan == big[4] == "0"


def test_the_cold_import_bench_runs():
    assert "import app" in run("bench/cold_import.py", "--runs", "1")
