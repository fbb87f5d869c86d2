"""The README's reliability table names a test for every promise: each named test exists."""

from __future__ import annotations

import re

from tests.conftest import ROOT


def test_every_test_the_reliability_table_names_exists() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Reliability: each promise and the test that keeps it", 1)[1]
    section = section.split("\n## ", 1)[0]
    named = re.findall(r"`(tests/[\w/]+\.py)(?:::(\w+))?`", section)
    assert len(named) >= 15
    for path, test in named:
        source = (ROOT / path).read_text()
        if test:
            assert f"def {test}(" in source, f"{path}::{test} does not exist"
    # Tests named after the first with "::name" on the same line.
    for path, tests in re.findall(r"`(tests/[\w/]+\.py)::\w+`((?:, `::\w+`)+)", section):
        source = (ROOT / path).read_text()
        for test in re.findall(r"::(\w+)", tests):
            assert f"def {test}(" in source, f"{path}::{test} does not exist"
