"""The knowledge base's vocabulary: every item it can recognise, with its codes and phrases.

Items are labelled ``kind:id`` (``condition:milia``, ``mimic:syringoma``, ``feature:basal-cell-
carcinoma/pearly``, ``red-flag:bleeding-or-crusting``, ``trigger:burns``, ``variant:milia-en-plaque``,
``caution:topical-retinoid-periocular``, ``state:pregnancy``, ``drug-class:topical-retinoids``); a
sub-rule adds its path (``red-flag:x/all_of.0``). Findings label what they find in the record with these, and
reasoning looks them up by the same labels: no disease name appears in Python.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from .knowledge import Code, KnowledgeBase, Recognition


@dataclass(frozen=True)
class Entry:
    label: str
    codes: tuple[Code, ...]
    phrases: tuple[str, ...]
    #: Concepts of the lexicon whose terms recognise the item.
    concepts: tuple[str, ...] = ()
    #: Whose mentions the item's rule counts (Recognition.scope); None for an item with no rule.
    scope: str | None = None


def label(kind: str, item_id: str) -> str:
    return f"{kind}:{item_id}"


def feature_label(mimic_id: str, feature_id: str) -> str:
    return f"feature:{mimic_id}/{feature_id}"


def part_label(item_label: str, path: str) -> str:
    """The label of a sub-rule of an item's recognition ("red-flag:x/all_of.0")."""
    return f"{item_label}/{path}"


def _entries(item_label: str, recognition: Recognition) -> Iterator[Entry]:
    """The item's own entry and one per sub-rule (all_of, any_of, none_of), each with its label."""
    yield Entry(
        item_label,
        tuple(recognition.codes),
        tuple(recognition.text),
        tuple(recognition.concepts),
        recognition.scope,
    )
    for path, part in recognition.parts:
        yield from _entries(part_label(item_label, path), part)


def entries(kb: KnowledgeBase) -> Iterator[Entry]:
    for condition in kb.conditions:
        yield Entry(
            label("condition", condition.id), tuple(condition.codes), tuple(condition.synonyms)
        )
        if condition.criteria is not None:
            criteria = condition.criteria
            yield Entry(label("variant", condition.id), tuple(criteria.codes), tuple(criteria.text))
            if criteria.rule is not None:
                yield from _entries(label("variant-rule", condition.id), criteria.rule)
    for mimic in kb.mimics:
        yield Entry(label("mimic", mimic.id), tuple(mimic.codes), tuple(mimic.synonyms))
        for feature in mimic.features:
            yield from _entries(feature_label(mimic.id, feature.id), feature.recognise)
    for flag in kb.red_flags:
        yield from _entries(label("red-flag", flag.id), flag.recognise)
    for trigger in kb.triggers:
        yield from _entries(label("trigger", trigger.id), trigger.recognise)
    for caution in kb.order_cautions:
        yield from _entries(label("caution", caution.id), caution.drug)
    for state in kb.patient_states:
        yield from _entries(label("state", state.id), state.recognise)
    for drugs in kb.drug_classes:
        yield Entry(label("drug-class", drugs.id), tuple(drugs.codes), (), tuple(drugs.concepts))


def recognitions(kb: KnowledgeBase) -> Iterator[Recognition]:
    """Every recognition rule of the content, sub-rules included."""

    def walk(recognition: Recognition) -> Iterator[Recognition]:
        yield recognition
        for _, part in recognition.parts:
            yield from walk(part)

    roots = [f.recognise for f in kb.red_flags] + [t.recognise for t in kb.triggers]
    roots += [feature.recognise for m in kb.mimics for feature in m.features]
    roots += [c.drug for c in kb.order_cautions] + [s.recognise for s in kb.patient_states]
    roots += [c.criteria.rule for c in kb.conditions if c.criteria and c.criteria.rule]
    for root in roots:
        yield from walk(root)


class Vocabulary:
    """Code look-up and text phrases for every item of the knowledge base."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self.entries = [e for e in entries(kb) if e.codes or e.phrases or e.concepts]
        self._exact: dict[tuple[str, str], list[str]] = {}
        #: (system, code, label) of codes broader than the item they are listed under.
        self._broader: set[tuple[str, str, str]] = set()
        self._classes: list[tuple[str, str, str]] = []
        for entry in self.entries:
            for code in entry.codes:
                if not code.verified:
                    continue  # listed for reviewers, never matched
                if code.broader:
                    self._broader.add((code.system, code.code, entry.label))
                if code.match == "prefix":
                    self._classes.append((code.system, code.code, entry.label))
                else:
                    self._exact.setdefault((code.system, code.code), []).append(entry.label)

        prefixes: dict[str, set[str]] = {}
        for system, prefix, _ in self._classes:
            prefixes.setdefault(system, set()).add(prefix)
        self._prefixes = {system: tuple(found) for system, found in prefixes.items()}

    def knows_code(self, system: str, code: str) -> bool:
        """Whether any item can be recognised by this code (the pre-filter's question: a set
        look-up and one ``startswith``, no list built)."""
        if (system, code) in self._exact:
            return True
        prefixes = self._prefixes.get(system)
        return prefixes is not None and code.startswith(prefixes)

    def labels_for_code(self, system: str, code: str) -> list[str]:
        found = list(self._exact.get((system, code), ()))
        found += [
            lbl for sys, prefix, lbl in self._classes if sys == system and code.startswith(prefix)
        ]
        return found

    def is_broader(self, system: str, code: str, item_label: str) -> bool:
        """The code means more than the item (it needs the item's words beside it)."""
        return (system, code, item_label) in self._broader

    def lesion_bound(self) -> frozenset[str]:
        """Labels whose rule counts a mention only when it is said of the milia-like lesion
        (scope lesion or milia): a mention said of another lesion under these alone counts for
        nothing ("throat mildly erythematous" is no inflamed milium)."""
        return frozenset(e.label for e in self.entries if e.scope in ("lesion", "milia"))

    def named_concepts(self) -> set[str]:
        """Concepts rules refer to by name (needs_concepts, uncertain_concepts)."""
        found: set[str] = set()
        for recognition in recognitions(self.kb):
            found |= set(recognition.needs_concepts) | set(recognition.uncertain_concepts)
        return found

    def phrases(self) -> Iterator[tuple[str, str]]:
        """(term, label) for every term that recognises an item: its own phrases and the terms of
        the lexicon concepts it names."""
        terms = {c.id: c.terms for c in self.kb.lexicon.concepts}
        # A concept is its own label only where a rule asks for it by name ("a steroid is named",
        # "a skin cancer is considered"); elsewhere its terms stand for the items that use it.
        for concept in sorted(self.named_concepts()):
            for term in terms.get(concept, ()):
                yield term.lower(), label("concept", concept)
        for entry in self.entries:
            for phrase in entry.phrases:
                yield phrase.lower(), entry.label
            for concept in entry.concepts:
                for term in terms.get(concept, ()):
                    yield term.lower(), entry.label
