"""Cards: an Assessment rendered as CDS Hooks cards from the knowledge base's templates.

Which cards: a red flag always wins (one ``warning`` card and no benign card beside it); otherwise a
look-alike to rule out, then the milia card that fits (neonatal, secondary, or likely milia); order
cautions for the order hooks. At most a few cards, most urgent first.

Every statement in a card's detail carries numbered citations to the references listed beneath it,
and the footer gives the content version and review date. Cards know nothing of FHIR or the database.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .card_ids import CardIds
from .clinical.knowledge import (
    PLACEHOLDERS,
    CardChoice,
    CardTemplate,
    CardWhen,
    Code,
    Handout,
    KnowledgeBase,
    Reference,
    Statement,
    SuggestionTemplate,
)
from .clinical.reasoning import Assessment, Hit, step_limit
from .guidance import GUIDANCE_PATH
from .handout import handout_path
from .markup import inert
from .protocol import Action, Card, Coding, Link, OverrideReason, Source, Suggestion

_HL7 = "http://terminology.hl7.org/CodeSystem"


@dataclass(frozen=True)
class RenderedCard:
    kind: str
    uuid: str
    card: Card
    #: suggestion uuid -> suggestion id in cards/
    suggestions: dict[str, str] = field(default_factory=dict)


def applies(when: CardWhen, a: Assessment, hook: str) -> bool:
    """Every fact the content's ``when`` names holds for the assessment and the hook."""
    if (when.hook == "patient-view") != (hook == "patient-view"):
        return False
    facts = {
        "escalate": a.escalate,
        "mimics": bool(a.mimics),
        "milia": a.milia is not None,
        "triggers": bool(a.triggers),
        "cautions": bool(a.cautions),
    }
    if any(getattr(when, name) not in (None, held) for name, held in facts.items()):
        return False
    return not when.variants or bool(set(when.variants) & set(a.variants))


def choose_kinds(
    assessment: Assessment,
    templates: dict[str, CardTemplate],
    choice: CardChoice,
    hook: str = "patient-view",
) -> list[str]:
    """The card kinds whose ``when`` holds, in the content's order (``card_choice``); a kind in
    ``alone`` ends the list."""
    kinds = []
    for kind in choice.order:
        if applies(templates[kind].when, assessment, hook):
            kinds.append(kind)
            if kind in choice.alone:
                break
    return kinds


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip(" ,;") + "…"


def _join(names: Sequence[str], limit: int, last: str = " and ") -> str:
    """Names as a phrase that fits ``limit``: "a, b and c", else "a and 2 more"."""
    names = list(dict.fromkeys(names))
    for keep in range(len(names), 0, -1):
        shown, rest = names[:keep], len(names) - keep
        if rest:
            phrase = ", ".join(shown) + f" and {rest} more"
        else:
            phrase = shown[0] if keep == 1 else ", ".join(shown[:-1]) + last + shown[-1]
        if len(phrase) <= limit:
            return phrase
    return _shorten(names[0], limit)


@dataclass
class _Detail:
    """Markdown detail with numbered citations, built section by section."""

    kb: KnowledgeBase
    lines: list[str] = field(default_factory=list)
    numbers: dict[str, int] = field(default_factory=dict)
    #: Findings listed so far, and the names of those only named (a card stays one screen).
    items: int = 0
    more: list[str] = field(default_factory=list)

    def marks(self, cites: Iterable[str]) -> str:
        # Peer-reviewed and verified sources first: the evidence a clinician weighs most.
        ordered = sorted(cites, key=lambda r: self.kb.reference(r).weight)
        return "".join(f"[{self.numbers.setdefault(r, len(self.numbers) + 1)}]" for r in ordered)

    def statement(self, statement: Statement, values: dict[str, str], prefix: str = "") -> None:
        text = statement.text.format_map(values)
        self.lines.append(f"{prefix}- {text} {self.marks(statement.cites)}")

    def heading(self, title: str) -> None:
        self.lines += ["", f"**{title}**", ""]

    def render(self, evidence: Sequence[str], notes_cut: int = 0) -> str:
        if self.more:
            named = self.more[:2]
            rest = len(self.more) - len(named)
            tail = f"; {rest} more" if rest > 0 else ""
            self.lines += ["", f"**Also found:** {'; '.join(named)}{tail}."]
        if notes_cut:
            # Said, never hidden: what was read is weighed, but the rest of the record was not.
            notes = "notes" if notes_cut != 1 else "note"
            self.lines += [
                "",
                f"**Not read in full:** {notes_cut} {notes} (too long); findings rest on what was read.",
            ]
        if evidence:
            # A few entries by name; a chart of many notes must not push the card off the screen.
            named = [inert(e) for e in evidence[:_MAX_EVIDENCE]]
            more = len(evidence) - len(named)
            based_on = ", ".join(named) + (f" and {more} more entries" if more > 0 else "")
            self.lines += ["", f"**Why this card:** based on {based_on}."]
        self.heading("References")
        for ref_id, number in self.numbers.items():
            self.lines.append(f"{number}. {_cited(self.kb.reference(ref_id))}")
        meta = self.kb.meta
        self.lines += [
            "",
            f"_Milia guidance {meta.content_version} ({meta.provenance}). "
            "Decision support, not a diagnosis._",
        ]
        return "\n".join(self.lines).strip()


#: Findings a card lists (red flags, look-alikes, causes together); the rest are counted.
_MAX_ITEMS = 2
#: Record entries "Why this card" names, and how much of the record's words a finding quotes.
_MAX_EVIDENCE = 2
_QUOTE = 40


def _cited(ref: Reference) -> str:
    """A reference as the card lists it: its short label and how far it was verified. Links are
    the card's own links and the guidance page's full citations, so nothing unverified is linked
    as if it were the paper."""
    if ref.verification == "verified":
        return ref.short
    if ref.verification == "partly-verified":
        return f"{ref.short} (seen, not confirmed)"
    return f"{ref.short} (citation not verified)"


def _what_was_read(notes: int, coded: int) -> str:
    """What the assessment rests on, in words: "3 notes and 2 coded entries"."""
    parts = []
    if notes:
        parts.append(f"{notes} note" + ("s" if notes != 1 else ""))
    if coded:
        parts.append(f"{coded} coded entr" + ("ies" if coded != 1 else "y"))
    return " and ".join(parts) or "the record sent"


class CardRenderer:
    def __init__(self, kb: KnowledgeBase, base_url: str) -> None:
        self.kb = kb
        self.base_url = base_url
        src = kb.meta.source
        topic = Coding(system=src.topic.system, code=src.topic.code, display=src.topic.display)
        # Without a URL of its own, the source points to the guidance page: the whole content,
        # its version, status and references.
        self.source = Source(label=src.label, url=src.url or base_url + GUIDANCE_PATH, topic=topic)
        reasons = kb.override_reasons
        self.override_reasons = [
            OverrideReason(system=reasons.system, code=r.code, display=r.display)
            for r in reasons.reasons
        ]

    def placeholders(self, a: Assessment) -> dict[str, str]:
        kb = self.kb
        flags = [kb.red_flag(h.id).short for h in a.red_flags]
        if not flags:  # escalated by a look-alike that may be malignant: name what was seen
            flags = [f for h in a.mimics if h.id in a.malignant_mimics for f in h.features]
            flags = flags or [kb.mimic(m).name.lower() for m in a.malignant_mimics]
        mimics = [kb.mimic(h.id).name.lower() for h in a.mimics]
        triggers = [kb.trigger(h.id).short for h in a.triggers]
        cautions = [kb.caution(h.id).short for h in a.cautions]
        variant = kb.condition(a.variants[0]).name if a.variants else "milia"
        values = {
            "red_flags": _join(flags, PLACEHOLDERS["red_flags"]) if flags else "",
            "mimics": _join(mimics, PLACEHOLDERS["mimics"], " or ") if mimics else "",
            "trigger": _join(triggers, PLACEHOLDERS["trigger"]) if triggers else "",
            "caution": _join(cautions, PLACEHOLDERS["caution"], "; ") if cautions else "",
            "variant": _shorten(variant, PLACEHOLDERS["variant"]),
            "read": _shorten(_what_was_read(a.notes_read, a.coded_read), PLACEHOLDERS["read"]),
        }
        return values

    @staticmethod
    def _listing(
        detail: _Detail,
        title: str,
        entries: Sequence[tuple[str, str, Sequence[Statement]]],
        values: dict[str, str],
    ) -> None:
        """A heading, then one line per (name, what was found, statements): the name, what the
        record says (quoted), and what to do now (the first statement); the rest is on the
        guidance page the card links to."""
        if not entries:
            return
        if detail.items < _MAX_ITEMS:
            detail.heading(title)
        for name, found, statements in entries:
            if detail.items >= _MAX_ITEMS:
                detail.more.append(name)
                continue
            # What was found quotes the record: inert, so it cannot render as markup.
            line = f"- **{name}**" + (f" ({inert(found, _QUOTE)})" if found else "")
            if statements and detail.items == 0:
                # What to do now, for the first finding; the others are named, and what to do
                # for each is one click away on the guidance page.
                first = statements[0]
                line += f": {first.text.format_map(values)} {detail.marks(first.cites)}"
            detail.lines.append(line)
            detail.items += 1

    def _sections(
        self, sections: Sequence[str], a: Assessment, detail: _Detail, values: dict[str, str]
    ) -> None:
        kb = self.kb
        for section in sections:
            if section == "red-flags":
                flags = [(kb.red_flag(h.id), h) for h in a.red_flags]
                entries = [(f.name, h.detail, f.escalation) for f, h in flags]
                self._listing(detail, "Red flags in the record", entries, values)
            elif section == "mimics":
                mimics = [(kb.mimic(h.id), h) for h in a.mimics]
                entries = [
                    (
                        m.name,
                        "recorded: " + ", ".join(h.features) if h.features else "",
                        [*m.action, *m.differs],
                    )
                    for m, h in mimics
                ]
                self._listing(detail, "Look-alikes to rule out", entries, values)
            elif section == "triggers":
                triggers = [(kb.trigger(h.id), h) for h in a.triggers]
                entries = [(t.name, h.detail, t.advice) for t, h in triggers]
                self._listing(detail, "Possible cause in the record", entries, values)
            elif section == "neonatal":
                detail.heading("For the parents")
                told = [s for s in kb.management.neonatal if a.fits(s.patient)]
                for s in told[: kb.card_choice.short_list]:
                    detail.statement(s, values)
            elif section == "cautions":
                cautions = [(kb.caution(h.id), h) for h in a.cautions]
                entries = [(c.name, "", c.statements) for c, h in cautions]
                self._listing(detail, "Cautions for this order", entries, values)

    def _variants(self, a: Assessment, detail: _Detail, values: dict[str, str]) -> None:
        shown = [self.kb.condition(v).name for v in a.variants[:_MAX_ITEMS]]
        if shown:
            detail.lines += ["", f"**The record fits:** {', '.join(shown)}."]

    def _management(
        self, parts: Sequence[str], a: Assessment, detail: _Detail, values: dict[str, str]
    ) -> None:
        """The next steps by name (the steps this patient may be offered, at most a few) and the
        first thing not to do; every step, caution and prevention tip is on the guidance page."""
        kb = self.kb
        if "steps" in parts and a.steps:
            steps = [
                kb.step(step_id).name + (f" ({limit})" if limit else "")
                for step_id, limit in a.steps[: kb.card_choice.short_list]
            ]
            more = len(a.steps) - len(steps)
            tail = f"; +{more} in the guidance" if more > 0 else ""
            numbered = "; ".join(f"{n}. {name}" for n, name in enumerate(steps, start=1))
            detail.lines += ["", f"**Next steps:** {numbered}{tail}."]
        lists = {"avoid": ("Do not", kb.management.avoid)}
        lists["prevention"] = ("Prevention", kb.management.prevention)
        for part in parts:
            if part in lists:
                title, statements = lists[part]
                for s in [s for s in statements if a.fits(s.patient)][:1]:
                    text = s.text.format_map(values)
                    detail.lines += ["", f"**{title}:** {text} {detail.marks(s.cites)}"]

    def _handout(self, a: Assessment) -> Handout:
        """The handout for this patient: the first for one of the record's variants, else the
        first whose patient filter fits, else the general one."""
        handouts = self.kb.handouts
        for handout in handouts:
            if set(handout.variants) & set(a.variants):
                return handout
        fitting = (h for h in handouts if h.patient is not None and a.fits(h.patient))
        return next(fitting, handouts[0])

    def _concept(self, codes: Sequence[Code], text: str) -> dict[str, Any]:
        coding = [
            {"system": c.system, "code": c.code, "display": c.display} for c in codes if c.verified
        ]
        return {"coding": coding, "text": text} if coding else {"text": text}

    def _suggestion(
        self,
        offer: SuggestionTemplate,
        suggestion_uuid: str,
        patient_id: str,
        evidence: Sequence[str],
        reason: str,
    ) -> Suggestion:
        subject = {"reference": f"Patient/{patient_id}"}
        milia = next(c for c in self.kb.conditions if c.kind == "milia")
        resource: dict[str, Any]
        if offer.kind == "service-request":
            resource = {
                "resourceType": "ServiceRequest",
                "status": "draft",
                "intent": "proposal",
                "code": self._concept(offer.codes, offer.text),
                "subject": subject,
                # Only codes that mean milia itself: a broader one (L72.0 "Epidermal cyst")
                # would file the request under a diagnosis the record may not hold.
                "reasonCode": [self._concept([c for c in milia.codes if not c.broader], reason)],
            }
            reasons = [
                {"reference": r} for r in evidence if r.startswith(("Condition/", "Observation/"))
            ]
            if reasons:
                resource["reasonReference"] = reasons
            if offer.performer_type:
                resource["performerType"] = self._concept(
                    offer.performer_codes, offer.performer_type
                )
        else:
            resource = {
                "resourceType": "Condition",
                "clinicalStatus": {
                    "coding": [{"system": f"{_HL7}/condition-clinical", "code": "active"}]
                },
                # The record is consistent with the condition: it is proposed, not diagnosed.
                "verificationStatus": {
                    "coding": [{"system": f"{_HL7}/condition-ver-status", "code": "provisional"}]
                },
                "category": [
                    {
                        "coding": [
                            {"system": f"{_HL7}/condition-category", "code": "problem-list-item"}
                        ]
                    }
                ],
                "code": self._concept(offer.codes, offer.text),
                "subject": subject,
            }
        action = Action(type="create", description=offer.label, resource=resource)
        return Suggestion(
            label=offer.label,
            uuid=suggestion_uuid,
            isRecommended=offer.recommended or None,
            actions=[action],
        )

    def render(self, kind: str, a: Assessment, patient_id: str, ids: CardIds) -> RenderedCard:
        template = self.kb.card_templates[kind]
        values = self.placeholders(a)
        detail = _Detail(self.kb)
        for statement in template.detail:
            detail.statement(statement, values)
        self._sections(template.sections, a, detail, values)
        if template.management:
            self._variants(a, detail, values)
            self._management(template.management, a, detail, values)
        links = []
        if template.guidance is not None:
            url = f"{self.base_url}{GUIDANCE_PATH}#{template.guidance.section}"
            links.append(Link(label=template.guidance.label, url=url, type="absolute"))
        links += [
            Link(label=ref.short, url=ref.link, type="absolute")
            for ref in (self.kb.reference(r) for r in template.links)
            if ref.link
        ]
        handout = self._handout(a)
        links.append(
            Link(
                label=f"Patient handout: {handout.title}",
                url=self.base_url + handout_path(self.kb, handout),
                type="absolute",
            )
        )
        summary = template.summary.format_map(values)
        evidence = _evidence(template.sections, a)
        card_uuid = ids.card(kind)
        offered = {
            ids.suggestion(card_uuid, s): s
            for s in template.suggestions
            if not (self.kb.suggestions[s].kind == "problem-list-entry" and a.on_problem_list)
        }
        suggestions = [
            self._suggestion(self.kb.suggestions[s], u, patient_id, evidence, summary)
            for u, s in offered.items()
        ]
        card = Card(
            uuid=card_uuid,
            summary=summary,
            detail=detail.render(evidence, a.notes_cut),
            indicator=template.indicator,
            source=self.source,
            suggestions=suggestions or None,
            selectionBehavior="at-most-one" if suggestions else None,
            overrideReasons=self.override_reasons,
            links=links,
        )
        return RenderedCard(kind, card_uuid, card, offered)

    def render_all(
        self, assessment: Assessment, hook: str, patient_id: str, ids: CardIds
    ) -> list[RenderedCard]:
        kinds = choose_kinds(assessment, self.kb.card_templates, self.kb.card_choice, hook)
        return [self.render(kind, assessment, patient_id, ids) for kind in kinds]


def _evidence(sections: Sequence[str], a: Assessment) -> list[str]:
    hits: list[Hit] = []
    if a.milia and "cautions" not in sections:
        hits.append(a.milia)
    by_section: dict[str, Sequence[Hit]] = {
        "red-flags": a.red_flags,
        "mimics": a.mimics,
        "triggers": a.triggers,
        "cautions": a.cautions,
    }
    hits += [hit for section in sections for hit in by_section.get(section, ())]
    # The entries in words and dates a clinician finds them by, not resource ids.
    described = dict(a.described)
    return list(dict.fromkeys(described.get(ref, ref) for hit in hits for ref in hit.evidence))


#: "If a guideline cannot fit on a single screen, clinicians are unlikely to use it" (Bates et al.,
#: JAMIA 2003): the most characters a card's detail may hold.
DETAIL_LIMIT = 1200


def longest_details(kb: KnowledgeBase) -> dict[str, int]:
    """The length of each card kind's detail rendered for the fullest record the content allows:
    every red flag, look-alike (with every feature), cause, variant and order caution found, every
    step offered, record quotes at their longest, many entries read, notes cut."""
    every = Assessment(
        milia=Hit("milia", tuple(f"Observation/{i}" for i in range(20))),
        variants=tuple(c.id for c in kb.conditions if c.kind == "variant"),
        red_flags=tuple(Hit(f.id, (), "x" * _QUOTE) for f in kb.red_flags),
        mimics=tuple(Hit(m.id, (), features=tuple(f.label for f in m.features)) for m in kb.mimics),
        malignant_mimics=tuple(m.id for m in kb.mimics if m.malignant_potential),
        triggers=tuple(Hit(t.id, (), "x" * _QUOTE) for t in kb.triggers),
        cautions=tuple(Hit(c.id, ()) for c in kb.order_cautions),
        steps=tuple(
            (s.id, step_limit(kb, s.patient) if s.patient and s.patient.ages else "")
            for s in kb.management.ladder
        ),
        notes_read=99,
        coded_read=99,
        notes_cut=99,
        described=tuple(
            (f"Observation/{i}", f"the medication statement of 2026-11-{i + 10}") for i in range(20)
        ),
    )
    renderer = CardRenderer(kb, "https://cds.example.org")
    ids = CardIds(b"longest", "patient", kb.meta.content_version)
    return {
        kind: len(renderer.render(kind, every, "p", ids).card.detail or "")
        for kind in kb.card_templates
    }
