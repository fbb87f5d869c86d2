"""The tests mirror the code: every module of cds_service has a test module of the same name
(tests/test_<module>.py), so a newcomer knows where a module's tests are. Cross-cutting tests
(scenarios, hostile input, the contract, the container) live beside them."""

from __future__ import annotations

from tests.conftest import ROOT

PACKAGE = ROOT / "cds_service"


def test_every_source_module_has_its_test_module() -> None:
    modules = [
        path
        for path in PACKAGE.rglob("*.py")
        if path.name != "__init__.py" and "migrations" not in path.parts
    ]
    missing = sorted(
        str(path.relative_to(ROOT))
        for path in modules
        if not (ROOT / "tests" / f"test_{path.stem}.py").is_file()
    )
    assert missing == []


def test_module_names_are_unique_so_test_names_are_too() -> None:
    stems = [p.stem for p in PACKAGE.rglob("*.py") if p.name != "__init__.py"]
    stems = [s for s in stems if not s[:4].isdigit()]  # migration revisions
    assert len(stems) == len(set(stems))
