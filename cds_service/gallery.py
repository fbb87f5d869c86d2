"""The reviewers' gallery: a static site showing every scenario of ``fixtures/scenarios`` as a
clinician would see it: the expected outcome written by hand, what the service read in the record,
and the cards as the CDS Hooks sandbox renders them (indicator colour, summary, markdown detail,
suggestions as buttons, links); with the guidance page and the handouts beside them.

    cds-service gallery build/gallery          (or: make gallery)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from markdown_it import MarkdownIt

from . import jsonio
from .clinical.reasoning import Assessment, assess
from .errors import CDSError, named
from .fhir.context import gather
from .guidance import ENVIRONMENT, render_guidance
from .handout import render_handouts
from .pipeline import Runtime, parse_hook_request
from .protocol import Card

#: Cards' markdown as the sandbox renders it: CommonMark with tables, no raw HTML.
_MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable("table")


@dataclass
class Scenario:
    name: str
    description: str
    expected: dict[str, Any]
    cards: list[Card] = field(default_factory=list)
    assessment: Assessment | None = None
    error: str = ""

    @property
    def indicators(self) -> list[str]:
        return [card.indicator for card in self.cards]

    @property
    def matches(self) -> bool:
        return not self.error and self.indicators == list(self.expected.get("cards", []))


def _evaluate(folder: Path, runtime: Runtime, now: datetime) -> Scenario:
    expected = yaml.safe_load((folder / "expected.yaml").read_text()) or {}
    scenario = Scenario(folder.name, str(expected.get("description", "")), expected)
    body = jsonio.decode((folder / "request.json").read_bytes())
    name = expected.get("service")
    service = runtime.services.get(name) if name else runtime.services.for_hook(body["hook"])
    try:
        if service is None:
            raise CDSError(f"no service answers hook {named(body.get('hook'))}")
        request = parse_hook_request(body, service)
        record = gather(request, service.prefetch, now, None, (), runtime.relevance_for_call())
        scenario.assessment = assess(runtime.reader.read(record), runtime.knowledge)
        ids = runtime.card_ids.for_patient(None, None, request.context["patientId"])
        rendered = runtime.renderer.render_all(
            scenario.assessment, request.hook, request.context["patientId"], ids
        )
        scenario.cards = [r.card for r in rendered]
    except CDSError as exc:
        scenario.error = exc.message
    return scenario


def build_gallery(scenarios: Path, out: Path, runtime: Runtime, now: datetime) -> list[Scenario]:
    """Write the site to ``out``; return the scenarios with their outcome."""
    kb = runtime.knowledge
    out.mkdir(parents=True, exist_ok=True)
    (out / "scenarios").mkdir(exist_ok=True)
    (out / "handouts").mkdir(exist_ok=True)
    folders = sorted(p for p in scenarios.iterdir() if (p / "expected.yaml").is_file())
    results = [_evaluate(folder, runtime, now) for folder in folders]
    page = ENVIRONMENT.get_template("gallery_scenario.html")
    for scenario in results:
        html = page.render(
            title=f"Scenario {scenario.name}",
            scenario=scenario,
            kb=kb,
            markdown=_MARKDOWN.render,
            meta=kb.meta,
        )
        (out / "scenarios" / f"{scenario.name}.html").write_text(html)
    index = ENVIRONMENT.get_template("gallery_index.html")
    (out / "index.html").write_text(
        index.render(title="Milia CDS: scenario gallery", scenarios=results, meta=kb.meta)
    )
    (out / "guidance.html").write_text(render_guidance(kb))
    for path, html in render_handouts(kb).items():
        name = path.rsplit("/", 1)[-1]
        (out / "handouts" / f"{name}.html").write_text(html)
    return results


def anchor_time(text: str) -> datetime:
    """The scenarios' reference day ("2026-11-26"), at noon UTC."""
    day = datetime.fromisoformat(text)
    return day.replace(hour=12, tzinfo=UTC)
