"""Cold import time of app.py (what a Lambda cold start pays before the first request) beside the
floor of `import boto3, chalice`. Each sample is a fresh interpreter. Prints medians; asserts nothing.

    .venv/bin/python bench/cold_import.py [--runs 15]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "APP_STAGE": "bench", "TABLE_NAME": "t", "EXPORT_QUEUE_NAME": "q", "AUDIT_TABLE_NAME": "a",
       "IDEMPOTENCY_TABLE_NAME": "i", "EVIDENCE_BUCKET": "b", "EMAIL_SENDER": "x@example.org"}


def sample(code: str, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=ENV, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    baseline = sample("pass", runs)
    floor = sample("import boto3, chalice", runs)
    app = sample("import app", runs)
    print(f"median of {runs} fresh interpreters (ms, interpreter start-up included):")
    print(f"  python -c pass                  {baseline:7.1f}")
    print(f"  import boto3, chalice           {floor:7.1f}")
    print(f"  import app                      {app:7.1f}")
    print(f"  app.py beyond boto3 + chalice   {app - floor:7.1f}")


if __name__ == "__main__":
    main()
