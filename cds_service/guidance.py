"""The guidance page: the whole knowledge base as one readable, printable page, with an anchor for
every variant, red flag, look-alike, cause and management step, so that a short card can link to
exactly the part it summarises. Rendered once at start-up from ``cards/`` with a Jinja2 template."""

from __future__ import annotations

from dataclasses import dataclass

from jinja2 import Environment, PackageLoader, select_autoescape

from .clinical.knowledge import KnowledgeBase, PatientFilter, Reference, Statement

GUIDANCE_PATH = "/guidance/milia"

ENVIRONMENT = Environment(
    loader=PackageLoader("cds_service", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def anchor(kind: str, item_id: str) -> str:
    """The fragment of an item on the guidance page: ``red-flag-painful``, ``step-leave-alone``."""
    return f"{kind}-{item_id}"


@dataclass(frozen=True)
class _Cited:
    text: str
    marks: str
    limit: str


class _Citations:
    """Numbers references in the order the page first cites them (peer-reviewed first)."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self.numbers: dict[str, int] = {}

    def __call__(self, statements: list[Statement]) -> list[_Cited]:
        cited = []
        for statement in statements:
            refs = sorted(statement.cites, key=lambda r: self.kb.reference(r).weight)
            marks = "".join(f"[{self.numbers.setdefault(r, len(self.numbers) + 1)}]" for r in refs)
            cited.append(_Cited(statement.text, marks, _limit(self.kb, statement.patient)))
        return cited

    def references(self) -> list[tuple[int, Reference]]:
        return [(n, self.kb.reference(r)) for r, n in self.numbers.items()]


def _limit(kb: KnowledgeBase, patient: PatientFilter | None) -> str:
    """Who a piece of advice is for, in words ("for: adult (18 years and over)")."""
    parts = []
    if patient is not None and patient.ages:
        parts.append(", ".join(kb.age_band(b).name.lower() for b in patient.ages))
    if patient is not None and patient.not_states:
        names = {s.id: s.name.lower() for s in kb.patient_states}
        parts.append("not when " + ", ".join(names[s] for s in patient.not_states))
    if patient is not None and patient.states:
        names = {s.id: s.name.lower() for s in kb.patient_states}
        parts.append("when " + ", ".join(names[s] for s in patient.states))
    return "for: " + "; ".join(parts) if parts else ""


def render_guidance(kb: KnowledgeBase) -> str:
    cite = _Citations(kb)
    milia = next(c for c in kb.conditions if c.kind == "milia")
    management = kb.management
    sections = {
        "about": cite(list(milia.about)),
        "variants": [
            (anchor("variant", c.id), c.name, cite(list(c.about)))
            for c in kb.conditions
            if c.kind == "variant"
        ],
        "red_flags": [
            (anchor("red-flag", f.id), f.name, cite(list(f.escalation))) for f in kb.red_flags
        ],
        "mimics": [
            (anchor("mimic", m.id), m.name, cite([*m.differs, *m.action])) for m in kb.mimics
        ],
        "triggers": [(anchor("trigger", t.id), t.name, cite(list(t.advice))) for t in kb.triggers],
        "steps": [
            (
                anchor("step", s.id),
                s.name,
                _limit(kb, s.patient),
                cite([*s.statements, *s.cautions]),
            )
            for s in management.ladder
        ],
        "avoid": cite(list(management.avoid)),
        "prevention": cite(list(management.prevention)),
        "see_clinician": cite(list(management.see_clinician)),
        "neonatal": cite(list(management.neonatal)),
    }
    template = ENVIRONMENT.get_template("guidance.html")
    return template.render(
        meta=kb.meta, sections=sections, references=cite.references(), title="Milia: guidance"
    )
