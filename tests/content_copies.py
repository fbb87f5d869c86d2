"""Broken copies of the shipped knowledge base, for the content tests: copy ``cards/``, edit one
place, and run check-content on the copy as a reviewer would."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

CARDS = ROOT / "cards"


def copy_cards(tmp_path: Path) -> Path:
    target = tmp_path / "cards"
    shutil.copytree(CARDS, target)
    return target


def edit(path: Path, pattern: str, replacement: str) -> int:
    """Replace the first match of ``pattern``; return the 1-based line where it happened."""
    text = path.read_text()
    match = re.search(pattern, text, flags=re.MULTILINE)
    assert match, f"{pattern!r} not found in {path.name}"
    path.write_text(text[: match.start()] + replacement + text[match.end() :])
    return text.count("\n", 0, match.start()) + 1


def check(directory: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cds_service.cli", "check-content", str(directory)],
        capture_output=True,
        text=True,
        timeout=60,
    )
