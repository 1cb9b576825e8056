"""`./dev package` (infra/package.py) ships our modules' bytecode: every module under chalicelib/ has an
unchecked-hash .pyc (PEP 552) compiled from exactly the source shipped, for the packaged runtime's
Python, and an interpreter importing the package from a read-only copy uses the bytecode, never the
source (Lambda's /var/task is read-only and `chalice package` stamps every entry 1980-01-01, so only
an unchecked-hash .pyc can be used there)."""
from __future__ import annotations

import importlib.util
import os
import re
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from infra.package import build

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("package"))


def runtime_tag(package: Path) -> str:
    runtimes = set(re.findall(r"Runtime: python(\d)\.(\d+)", (package / "sam.yaml").read_text()))
    assert len(runtimes) == 1, runtimes
    major, minor = runtimes.pop()
    return f"cpython-{major}{minor}"


def test_every_module_ships_unchecked_hash_bytecode_of_its_own_source_for_the_runtime(package: Path) -> None:
    tag = runtime_tag(package)
    assert tag == sys.implementation.cache_tag  # the bytecode is this interpreter's, and so the runtime's
    with zipfile.ZipFile(package / "deployment.zip") as zipped:
        names = set(zipped.namelist())
        sources = [n for n in names if n.startswith("chalicelib/") and n.endswith(".py")]
        assert len(sources) > 100
        for source in sources:
            folder, _, file = source.rpartition("/")
            cached = f"{folder}/__pycache__/{file[:-3]}.{tag}.pyc"
            assert cached in names, f"{source} ships without bytecode"
            header = zipped.read(cached)[:16]
            assert int.from_bytes(header[4:8], "little") == 0b01, f"{cached} is not unchecked-hash"
            assert header[8:16] == importlib.util.source_hash(zipped.read(source)), f"{cached} is not of {source}"


def test_a_read_only_copy_imports_the_app_from_its_bytecode(package: Path, tmp_path: Path) -> None:
    task = tmp_path / "task"
    with zipfile.ZipFile(package / "deployment.zip") as zipped:
        zipped.extractall(task, members=[n for n in zipped.namelist() if n == "app.py" or n.startswith("chalicelib/")])
    # A source that would fail if compiled: importing it from its bytecode is the only way through.
    (task / "chalicelib" / "route_doc.py").write_text("raise SystemExit('compiled from source')\n")
    for path in task.rglob("*"):
        path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    task.chmod(task.stat().st_mode & ~stat.S_IWUSR)
    # As on Lambda: the interpreter may write bytecode, but the folder refuses it.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"} | {"PYTHONPATH": str(task)}
    probe = "import app, sys; print(sys.modules['chalicelib.route_doc'].__spec__.cached)"
    done = subprocess.run([sys.executable, "-c", probe], cwd=task, env=env, capture_output=True, text=True, timeout=120)
    for path in [task, *task.rglob("*")]:  # let pytest clean up
        path.chmod(path.stat().st_mode | stat.S_IWUSR)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "__pycache__/route_doc." in done.stdout
