"""A cold start pays only for what the first request uses: importing app.py loads no boto3 and no
export code, and importing it and every route module builds no pydantic schema (bench/cold_start.py
measures the time; tests/integration/test_cold_start_modules.py checks which modules a citizen's first
request loads). Each check runs in a fresh interpreter, since this test process has long since
imported everything."""
from __future__ import annotations

import json
import subprocess
import sys
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, sys
import pydantic
import app

loaded = sorted(m for m in ("boto3", "botocore.session", "chalicelib.services.exports", "chalicelib.domain.exports")
                if m in sys.modules)
from chalicelib import lazy_routes
lazy_routes.blueprints()  # every route module, as their first requests load them: still no schema built
models = [c for name, m in list(sys.modules.items()) if name.startswith("chalicelib") for c in vars(m).values()
          if isinstance(c, type) and issubclass(c, pydantic.BaseModel) and c.__module__ == name]
built = sorted(c.__qualname__ for c in models if c.__pydantic_complete__)
from chalicelib.domain.models import CitizenLink
try:
    CitizenLink.model_validate({"link_id": "x"})  # deferred, yet still validated on first use
    refused = False
except pydantic.ValidationError:
    refused = True
print(json.dumps({"models": len(models), "built": built, "refused": refused,
                  "built_after": CitizenLink.__pydantic_complete__,
                  "loaded": loaded}))
"""


@cache
def probe() -> dict[str, object]:
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout.splitlines()[-1])
    return result


def test_importing_the_app_builds_no_model_schema_and_loads_no_aws_sdk_or_export_code() -> None:
    result = probe()
    assert isinstance(result["models"], int) and result["models"] > 20  # the probe does see the models
    assert result["built"] == []
    assert result["loaded"] == []


def test_a_deferred_model_still_validates_on_first_use() -> None:
    result = probe()
    assert result["refused"] is True and result["built_after"] is True
