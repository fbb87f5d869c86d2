"""Every page kind in a real browser (Debian's Chromium through Playwright): it loads with no
failed request and no script error, axe-core finds no serious or critical WCAG 2.1 A/AA violation,
it fits a 390 px wide phone without sideways scrolling, and it declares a print stylesheet. A
screenshot of each page kind goes to test-artifacts/ (not committed)."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from werkzeug.serving import make_server

from cds_service.cli import main
from tests.conftest import FIXTURES, ROOT, build_app

#: Left out of make check: needs Chromium.
pytestmark = pytest.mark.external

AXE = ROOT / "tests" / "browser" / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "test-artifacts"
LAUNCH_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The service (guidance, handouts) and the gallery, served on 127.0.0.1."""
    gallery = tmp_path_factory.mktemp("site") / "gallery"
    assert main(["gallery", str(gallery), "--scenarios", str(FIXTURES / "scenarios")]) == 0
    app = build_app(auth_mode="development")

    @app.get("/gallery/<path:name>")
    def gallery_file(name: str) -> Any:
        from flask import send_from_directory

        return send_from_directory(gallery, name)

    server = make_server("127.0.0.1", 0, app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("Debian's chromium is not installed: make test installs it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, args=LAUNCH_FLAGS)
        yield launched
        launched.close()


PAGES = {
    "guidance": "/guidance/milia",
    "handout-adult": "/handouts/milia",
    "handout-newborn": "/handouts/milia/newborn",
    "gallery-index": "/gallery/index.html",
    "gallery-scenario": "/gallery/scenarios/12-red-flag-bleeding.html",
}


@pytest.mark.parametrize("kind", PAGES)
def test_a_page_is_accessible_phone_sized_and_printable(site: str, browser: Any, kind: str) -> None:
    # The pages' CSP forbids every script, axe's included: the test context lets axe in.
    context = browser.new_context(viewport={"width": 390, "height": 844}, bypass_csp=True)
    page = context.new_page()
    failed: list[str] = []
    errors: list[str] = []
    page.on("requestfailed", lambda request: failed.append(request.url))
    page.on("pageerror", lambda error: errors.append(str(error)))
    response = page.goto(site + PAGES[kind])
    assert response is not None and response.status == 200
    page.wait_for_load_state("load")
    assert failed == [] and errors == []
    # Accessibility: axe-core, WCAG 2.1 A and AA rules.
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "async () => await axe.run(document, {runOnly: {type: 'tag', values: "
        "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})"
    )
    serious = [
        f"{v['id']}: {v['help']} ({len(v['nodes'])} nodes)"
        for v in result["violations"]
        if v["impact"] in {"serious", "critical"}
    ]
    assert serious == [], serious
    assert page.evaluate("document.documentElement.lang") == "en"
    # A phone: no sideways scrolling at 390 px.
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width
    # Printable: a print stylesheet.
    assert page.evaluate(
        "[...document.styleSheets].some(s => [...s.cssRules].some("
        "r => r.media && [...r.media].includes('print')))"
    )
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{kind}.png"), full_page=True)
    context.close()


def test_the_artifacts_folder_is_not_committed() -> None:
    ignored = (ROOT / ".gitignore").read_text()
    assert "test-artifacts/" in ignored
