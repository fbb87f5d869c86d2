"""Installed as a wheel (not editable), the service still finds its knowledge base."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

from tests.conftest import ROOT


def test_wheel_ships_the_cards_and_loads_them(tmp_path: Path) -> None:
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--quiet",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stderr
    wheel = next(tmp_path.glob("cds_service-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    for content_file in ("meta.yaml", "references.yaml", "conditions.yaml", "templates.yaml"):
        assert f"cds_service/_content/{content_file}" in names

    target = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(target)
    # Only the wheel's copy of the package is importable: run from a folder without the source tree.
    env = {**os.environ, "PYTHONPATH": str(target), "PYTHONSAFEPATH": "1"}
    check = subprocess.run(
        [
            sys.executable,
            "-c",
            "import cds_service.clinical.loading as k, sys;"
            "print(k.default_content_dir());"
            "sys.exit(__import__('cds_service.cli').cli.main(['check-content']))",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert str(target / "cds_service" / "_content") in check.stdout
