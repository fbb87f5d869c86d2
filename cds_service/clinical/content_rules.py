"""Rules of the knowledge base that span records: the checks behind ``cds-service check-content``.

Each rule yields ``(location, message)``; the loader turns the location into ``file:line``.
"""

from __future__ import annotations

import string
from collections.abc import Iterator
from datetime import date
from typing import Any

from pydantic import BaseModel

from .codes import CODE_SYSTEMS
from .knowledge import (
    PLACEHOLDERS,
    CardWhen,
    Code,
    DrugClass,
    Handout,
    KnowledgeBase,
    LesionRule,
    OrderCaution,
    PatientFilter,
    Recognition,
    Site,
    Statement,
    Topic,
    VariantCriteria,
)
from .terms import TermError, parse
from .yamlfile import Location

#: Longest summary a card may have: "One-sentence, <140-character" (CDS Hooks 2.0).
SUMMARY_LIMIT = 140

Problem = tuple[Location, str]


def walk(value: Any, here: Location = ()) -> Iterator[tuple[Location, Any]]:
    """Every model, list item and mapping value under ``value``, with its location."""
    yield here, value
    if isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from walk(getattr(value, name), (*here, name))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from walk(item, (*here, index))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from walk(item, (*here, str(key)))


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def _code_problems(kb: KnowledgeBase) -> Iterator[Problem]:
    for where, node in walk(kb):
        if isinstance(node, Code | Topic):
            system = CODE_SYSTEMS.get(node.system)
            if system is None:
                yield (*where, "system"), f"unknown code system '{node.system}'"
                continue
            if isinstance(node, Code) and node.match == "prefix":
                continue  # a class code (ATC D07AC) is a prefix of well-formed codes
            problem = system.problem(node.code)
            if problem is not None:
                yield (*where, "code"), problem


def _unique_ids(kb: KnowledgeBase) -> Iterator[Problem]:
    collections: dict[str, list[Any]] = {
        "references": kb.references,
        "conditions": kb.conditions,
        "mimics": kb.mimics,
        "red_flags": kb.red_flags,
        "triggers": kb.triggers,
        "order_cautions": kb.order_cautions,
        "age_bands": kb.age_bands,
        "patient_states": kb.patient_states,
        "drug_classes": kb.drug_classes,
        "handouts": kb.handouts,
    }
    for name, items in collections.items():
        seen: set[str] = set()
        for index, item in enumerate(items):
            if item.id in seen:
                yield (name, index, "id"), f"duplicate id '{item.id}' in {name}"
            seen.add(item.id)
    steps = [s.id for s in kb.management.ladder]
    for index, step_id in enumerate(steps):
        if steps.index(step_id) != index:
            yield ("management", "ladder", index, "id"), f"duplicate step id '{step_id}'"
    codes = [r.code for r in kb.override_reasons.reasons]
    for index, code in enumerate(codes):
        if codes.index(code) != index:
            yield ("override_reasons", "reasons", index, "code"), f"duplicate reason '{code}'"


def _dangling(kb: KnowledgeBase) -> Iterator[Problem]:
    refs = {r.id for r in kb.references}
    mimics = {m.id for m in kb.mimics}
    steps = {s.id for s in kb.management.ladder}
    for where, node in walk(kb):
        if isinstance(node, Statement):
            for k, cited in enumerate(node.cites):
                if cited not in refs:
                    yield (*where, "cites", k), f"cites unknown reference '{cited}'"
    for i, flag in enumerate(kb.red_flags):
        for k, target in enumerate(flag.points_to):
            if target not in mimics:
                yield ("red_flags", i, "points_to", k), f"points to unknown mimic '{target}'"
    for i, condition in enumerate(kb.conditions):
        for k, step in enumerate(condition.management):
            if step not in steps:
                yield ("conditions", i, "management", k), f"unknown management step '{step}'"
    for name, template in kb.card_templates.items():
        for k, linked in enumerate(template.links):
            if linked not in refs:
                yield ("card_templates", name, "links", k), f"links unknown reference '{linked}'"
        for k, offered in enumerate(template.suggestions):
            if offered not in kb.suggestions:
                yield ("card_templates", name, "suggestions", k), f"unknown suggestion '{offered}'"
        recommended = [
            s for s in template.suggestions if s in kb.suggestions and kb.suggestions[s].recommended
        ]
        if len(recommended) > 1:
            yield (
                ("card_templates", name, "suggestions"),
                "at most one suggestion of a card may be recommended",
            )


def _templates(kb: KnowledgeBase) -> Iterator[Problem]:
    choice = kb.card_choice
    for field in ("order", "alone"):
        for k, kind in enumerate(getattr(choice, field)):
            if kind not in kb.card_templates:
                yield ("card_choice", field, k), f"unknown card kind '{kind}'"
    for kind in kb.card_templates:
        if kind not in choice.order:
            yield ("card_choice", "order"), f"card kind '{kind}' has no place in the order"
    # Safety: a card that escalates comes before every other card and stands alone, so no
    # reassuring card can appear beside a red flag whatever else the content changes.
    escalating = [k for k, t in kb.card_templates.items() if t.when.escalate]
    if not escalating:
        yield (
            ("card_templates",),
            "no card kind has when: {escalate: true}: red flags would not show",
        )
    known = [k for k in choice.order if k in kb.card_templates]
    for kind in escalating:
        if kind not in choice.alone:
            yield ("card_choice", "alone"), f"card kind '{kind}' escalates and must stand alone"
        template = kb.card_templates[kind]
        if template.indicator == "info":
            yield ("card_templates", kind, "indicator"), "a card that escalates cannot be 'info'"
        before = known[: known.index(kind)] if kind in known else []
        for other in before:
            calm = kb.card_templates[other].when
            if not calm.escalate and calm.hook == template.when.hook:
                yield (
                    ("card_choice", "order"),
                    f"card kind '{other}' comes before '{kind}', which escalates: a reassuring "
                    "card would show beside or instead of the red flags",
                )
    for name, template in kb.card_templates.items():
        if template.indicator == "critical" and not template.when.escalate:
            yield ("card_templates", name, "indicator"), "critical is only for cards that escalate"
    for name, template in kb.card_templates.items():
        texts: list[tuple[Location, str]] = [
            (("card_templates", name, "summary"), template.summary)
        ]
        texts += [
            (("card_templates", name, "detail", j, "text"), s.text)
            for j, s in enumerate(template.detail)
        ]
        for where, text in texts:
            try:
                unknown = _fields(text) - set(PLACEHOLDERS)
            except ValueError as exc:
                yield where, f"malformed placeholder: {exc}"
                continue
            for field in sorted(unknown):
                listed = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
                yield where, f"unknown placeholder {{{field}}}; known: {listed}"
        try:
            longest = template.summary.format_map({k: "x" * n for k, n in PLACEHOLDERS.items()})
        except (KeyError, ValueError):
            continue  # reported above
        if len(longest) >= SUMMARY_LIMIT:
            yield (
                ("card_templates", name, "summary"),
                f"summary can reach {len(longest)} characters with the longest placeholders; "
                f"it must stay under {SUMMARY_LIMIT}",
            )
    meta = kb.meta
    if meta.edited > date.today():
        yield ("meta", "edited"), "edited is in the future"
    if meta.status != "draft" and meta.sign_off is None:
        yield ("meta", "status"), f"status '{meta.status}' needs a sign_off (role and date)"
    if meta.sign_off is not None and meta.sign_off.date > date.today():
        yield ("meta", "sign_off", "date"), "the sign-off date is in the future"
    if meta.sign_off is not None and meta.sign_off.date < meta.edited:
        yield (
            ("meta", "sign_off", "date"),
            "the sign-off is older than the last edit: review this version, or set status: draft",
        )


def _verified_codes_to_match(kb: KnowledgeBase) -> Iterator[Problem]:
    milia = [c for c in kb.conditions if c.kind == "milia"]
    if len(milia) != 1:
        yield ("conditions",), "exactly one condition must be of kind 'milia'"
    elif not any(code.verified for code in milia[0].codes):
        yield ("conditions", kb.conditions.index(milia[0]), "codes"), "milia needs a verified code"


def _site_ids(sites: list[Site]) -> Iterator[str]:
    for site in sites:
        yield site.id
        yield from _site_ids(site.parts)


def _lexicon(kb: KnowledgeBase) -> Iterator[Problem]:
    """Every concept, site, cause and red flag a rule names exists; every term can be read."""
    concepts = {c.id: c.terms for c in kb.lexicon.concepts}
    site_ids = list(_site_ids(kb.sites))
    triggers = {t.id for t in kb.triggers}
    flags = {f.id for f in kb.red_flags}
    bands = {b.id for b in kb.age_bands}
    states = {s.id for s in kb.patient_states}
    drug_classes = {d.id for d in kb.drug_classes}
    conditions = {c.id for c in kb.conditions}
    for index, concept in enumerate(kb.lexicon.concepts):
        if list(concepts).index(concept.id) != index:
            yield ("lexicon", "concepts", index, "id"), f"duplicate concept id '{concept.id}'"
    for index, site in enumerate(site_ids):
        if site_ids.index(site) != index:
            yield ("sites",), f"duplicate site id '{site}'"
    shorts = [a.short.lower() for a in kb.abbreviations]
    for index, short in enumerate(shorts):
        if shorts.index(short) != index:
            yield ("abbreviations", index, "short"), f"duplicate abbreviation '{short}'"

    def words(text: str) -> list[str]:
        return text.replace("=", "").split()

    for i, concept in enumerate(kb.lexicon.concepts):
        for k, term in enumerate(concept.terms):
            try:
                parse(term, words, concepts)
            except TermError as exc:
                yield ("lexicon", "concepts", i, "terms", k), f"term '{term}': {exc}"
    site_set = set(site_ids)
    #: (kind of node, its field, the ids it may name, what they are)
    references: list[tuple[type, str, set[str], str]] = [
        *((Recognition, f, set(concepts), "lexicon concept") for f in _CONCEPT_FIELDS),
        *((Recognition, f, triggers, "trigger") for f in ("triggers", "needs_triggers")),
        (Recognition, "sites", site_set, "site"),
        (Recognition, "drug_classes", drug_classes, "drug class"),
        (OrderCaution, "sites", site_set, "site"),
        (LesionRule, "sites", site_set, "site"),
        (PatientFilter, "ages", bands, "age band"),
        (PatientFilter, "states", states, "patient state"),
        (PatientFilter, "not_states", states, "patient state"),
        (DrugClass, "concepts", set(concepts), "lexicon concept"),
        (CardWhen, "variants", conditions, "variant"),
        (VariantCriteria, "red_flags", flags, "red flag"),
        (Handout, "variants", conditions, "variant"),
    ]
    for where, node in walk(kb):
        for kind, field, known, what in references:
            if isinstance(node, kind):
                for k, name in enumerate(getattr(node, field)):
                    if name not in known:
                        yield (*where, field, k), f"unknown {what} '{name}'"
        if isinstance(node, Recognition) and not (
            node.routes or node.patient is not None or node.all_of
        ):
            yield where, "the rule lists no route and no gate: it can never hold"


_CONCEPT_FIELDS = ("concepts", "needs_concepts", "uncertain_concepts")


def _rule_shapes(kb: KnowledgeBase) -> Iterator[Problem]:
    """Rules that say something other than what they seem to (a reviewer's traps)."""
    for where, node in walk(kb):
        if isinstance(node, LesionRule) and not (
            node.size_mm_over is not None or node.solitary is not None or node.sites
        ):
            yield where, "an empty lesion rule would match any lesion"
        if isinstance(node, PatientFilter) and node.unknown_age == "applies" and not node.ages:
            yield (
                (*where, "unknown_age"),
                "unknown_age needs ages: it says what an unknown age means",
            )
        if (
            isinstance(node, Recognition)
            and node.duration_days_over is not None
            and not node.duration_from
        ):
            yield (*where, "duration_from"), "duration_from is empty: the duration is never read"
        if isinstance(node, DrugClass) and not (node.codes or node.concepts):
            yield where, "a drug class needs codes or concepts"
        if isinstance(node, OrderCaution):
            if node.min_duration_days is None and (
                node.long_when_refills_at_least or node.long_when_quantity_at_least
            ):
                yield where, "long_when_* needs min_duration_days: it says what counts as long"
            if node.drug.gates:
                yield (
                    (*where, "drug"),
                    "a drug rule cannot hold gates: put `patient` on the caution",
                )
        if isinstance(node, CardWhen) and node.variants and node.milia is not True:
            yield (*where, "variants"), "a card for a variant needs milia: true"
    for index, trigger in enumerate(kb.triggers):
        if trigger.kind == "drug" and trigger.recognise.gates:
            yield (
                ("triggers", index, "recognise"),
                "a drug cause cannot hold gates: the medication list is read by drug and route",
            )
    for index, band in enumerate(kb.age_bands):
        if band.days_under is not None and band.days_under <= band.days_at_least:
            yield (
                ("age_bands", index),
                f"age band '{band.id}' is empty (days_under <= days_at_least)",
            )
    for name, template in kb.card_templates.items():
        when = template.when
        others = (when.mimics, when.milia, when.triggers, when.cautions)
        if when.escalate and (
            any(v is not None for v in others) or when.variants or when.hook != "patient-view"
        ):
            yield (
                ("card_templates", name, "when"),
                "a card that escalates must apply on escalate alone: any other condition could "
                "hide a red flag",
            )


def semantic_problems(kb: KnowledgeBase) -> Iterator[Problem]:
    yield from _unique_ids(kb)
    yield from _lexicon(kb)
    yield from _code_problems(kb)
    yield from _dangling(kb)
    yield from _templates(kb)
    yield from _verified_codes_to_match(kb)
    yield from _rule_shapes(kb)
