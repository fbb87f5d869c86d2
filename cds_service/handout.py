"""The patient handout: a plain HTML page built from the knowledge base, linked from every card."""

from __future__ import annotations

from collections.abc import Iterable
from html import escape

from .clinical.knowledge import KnowledgeBase, Statement


def _limit(kb: KnowledgeBase, statement: Statement) -> str:
    """Who a piece of advice is for, in words, when the content limits it ("adults only")."""
    patient = statement.patient
    if patient is None or not patient.ages:
        return ""
    names = ", ".join(kb.age_band(b).name.lower() for b in patient.ages)
    return f" (for: {names})"


def render_handout(kb: KnowledgeBase) -> str:
    def _section(title: str, statements: Iterable[Statement]) -> str:
        items = "".join(f"<li>{escape(s.text + _limit(kb, s))}</li>" for s in statements)
        return f"<h2>{escape(title)}</h2><ul>{items}</ul>"

    milia = next(c for c in kb.conditions if c.kind == "milia")
    management = kb.management
    cited = dict.fromkeys(
        ref
        for s in (
            *milia.about,
            *management.avoid,
            *management.prevention,
            *management.see_clinician,
        )
        for ref in s.cites
    )
    references = "".join(f"<li>{escape(kb.reference(r).citation)}</li>" for r in cited)
    meta = kb.meta
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>Milia: a handout</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:42rem;margin:2rem auto;"
        "padding:0 1rem;line-height:1.5}h1{font-size:1.6rem}h2{font-size:1.2rem}</style>"
        "</head><body><h1>Milia</h1>"
        + _section("What milia are", milia.about)
        + _section("What not to do", management.avoid)
        + _section("Preventing new milia", management.prevention)
        + _section("When to see a doctor", management.see_clinician)
        + _section("Milia in newborns", management.neonatal)
        + f"<h2>Sources</h2><ol>{references}</ol>"
        + f"<p><small>Milia guidance {escape(meta.content_version)} "
        f"({escape(meta.provenance)}). General information, not a diagnosis: ask your "
        "doctor about your own skin.</small></p></body></html>"
    )
