"""The cold start bench keeps running as the code changes. It prints times; none is asserted here
(they depend on the machine): only that it ran the real first request for every app and printed
its ratio."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_cold_start_bench_runs_quick_and_prints_a_ratio() -> None:
    done = subprocess.run([sys.executable, "bench/cold_start.py", "--quick"], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr + done.stdout
    out = done.stdout
    for label in ("minimal Chalice app", "pydantic, Powertools", "app.py GET /c/{token}/session"):
        assert re.search(re.escape(label) + r".* cold +\d+\.\d +warm +\d+\.\d", out), out
    assert re.search(r"^ratio \d+\.\d\d ", out, re.MULTILINE), out
