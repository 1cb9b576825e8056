"""The deployment package, with our modules' bytecode in it: `./dev package [OUT]`.

`chalice package` zips app.py and every file under chalicelib/ (a __pycache__ included) but compiles
nothing, so each cold start on Lambda compiled every module it imported from source (/var/task is
read-only: nothing is cached). It also stamps every zip entry 1980-01-01, so an ordinary .pyc, which
is checked against its source's modification time, would never match. This step runs `chalice
package` on a clean copy of the app whose chalicelib/ holds unchecked-hash .pyc files (PEP 552): the
interpreter loads them without looking at the source's time or contents. They are built here, from
exactly the sources packaged, for the interpreter running this step; the packaged runtime must be the
same Python version (Chalice picks the runtime from this interpreter, and tests/integration/
test_package_bytecode.py checks both). app.py itself ships as source: Chalice packages it alone.

    .venv/bin/python -m infra.package [OUT] [--stage prod]

bench/cold_start.py --pyc measures a cold start with this bytecode (compile_for_lambda, same call)."""
from __future__ import annotations

import argparse
import compileall
import os
import py_compile
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MERGE = ROOT / "infra" / "package_merge.yaml"
# What `chalice package` reads from the project: the app, its settings, and the policy files they name.
PROJECT = ("app.py", "chalicelib", ".chalice", "policies", "requirements.txt")


def compile_for_lambda(directory: Path) -> None:
    """Unchecked-hash .pyc for every module under `directory` (its __pycache__ folders)."""
    ok = compileall.compile_dir(directory, quiet=1, invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    if not ok:
        raise SystemExit(f"some module under {directory} does not compile")


def build(out: Path, stage: str = "prod") -> Path:
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "app"
        project.mkdir()
        for name in PROJECT:
            source = ROOT / name
            if source.is_dir():  # never a developer's own caches: only what is compiled below
                shutil.copytree(source, project / name, ignore=shutil.ignore_patterns("__pycache__", "deployed"))
            elif source.exists():
                shutil.copy2(source, project / name)
        compile_for_lambda(project / "chalicelib")
        env = {**os.environ, "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1")}
        chalice = Path(sys.executable).with_name("chalice")
        done = subprocess.run([str(chalice), "package", "--stage", stage, "--merge-template", str(MERGE),
                               str(out.resolve())], cwd=project, env=env, capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            raise SystemExit(f"chalice package failed:\n{done.stdout}\n{done.stderr}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", nargs="?", type=Path, default=ROOT / "build" / "package")
    parser.add_argument("--stage", default="prod")
    args = parser.parse_args()
    print(f"packaged into {build(args.out, args.stage)} (deployment.zip and sam.yaml)")


if __name__ == "__main__":
    main()
