"""Which prefetched resources can matter, decided on the raw JSON before any FHIR validation.

Most of a real prefetch is vital signs and labs that cannot concern milia, and validating a resource
with fhir.resources costs about 150 µs (performance.md), a hundred times what it costs to look at a
few of its fields. A resource is kept when one of its codings is a code the knowledge base knows, or
when its text holds the first word of a phrase the knowledge base knows (or a word that makes a
measurement a lesion's size). Kept resources are then validated strictly and read in full, so a false
positive only costs time; the look is cheap enough to run on every resource.
"""

from __future__ import annotations

import re
from typing import Any

from .findings import LESION_WORDS
from .vocabulary import Vocabulary

_WORD = re.compile(r"[a-z0-9]+")
#: Fields that hold CodeableConcepts (single or lists) in the resources the service reads.
_CONCEPTS = (
    "code",
    "valueCodeableConcept",
    "medicationCodeableConcept",
    "interpretation",
    "bodySite",
)


def _first_word(phrase: str) -> str | None:
    match = _WORD.search(phrase.lower())
    return match.group(0) if match else None


class RelevanceFilter:
    def __init__(self, vocabulary: Vocabulary) -> None:
        self._exact: set[tuple[str, str]] = set()
        prefixes: dict[str, set[str]] = {}
        for entry in vocabulary.entries:
            for code in entry.codes:
                if not code.verified:
                    continue
                if code.match == "prefix":
                    prefixes.setdefault(code.system, set()).add(code.code)
                else:
                    self._exact.add((code.system, code.code))
        self._prefixes = {system: tuple(codes) for system, codes in prefixes.items()}
        # Phrases by their first word: a word lookup first, then the whole phrase is looked for.
        self._phrases: dict[str, list[str]] = {}
        for phrase, _ in vocabulary.phrases():
            first = _first_word(phrase)
            if first:
                self._phrases.setdefault(first, []).append(phrase.lower())
        for word in LESION_WORDS:
            self._phrases.setdefault(word, []).append(word)

    def __call__(self, resource: dict[str, Any]) -> bool:
        # Written as plain loops over the few fields that matter: this runs on every resource.
        texts: list[str] = []
        concepts: list[Any] = []
        for key in _CONCEPTS:
            value = resource.get(key)
            if isinstance(value, list):
                concepts.extend(value)
            elif value is not None:
                concepts.append(value)
        for component in resource.get("component") or ():
            if isinstance(component, dict):
                concepts.append(component.get("code"))
                concepts.append(component.get("valueCodeableConcept"))
                texts.append(component.get("valueString") or "")
        exact, classes = self._exact, self._prefixes
        for concept in concepts:
            if not isinstance(concept, dict):
                continue
            texts.append(concept.get("text") or "")
            for coding in concept.get("coding") or ():
                if not isinstance(coding, dict):
                    continue
                system, code = coding.get("system"), coding.get("code")
                if (system, code) in exact:
                    return True
                prefixes = classes.get(system) if isinstance(system, str) else None
                if prefixes and isinstance(code, str) and code.startswith(prefixes):
                    return True
                texts.append(coding.get("display") or "")
        texts.append(resource.get("valueString") or "")
        for note in resource.get("note") or ():
            if isinstance(note, dict):
                texts.append(note.get("text") or "")
        for dosage in resource.get("dosageInstruction") or resource.get("dosage") or ():
            if isinstance(dosage, dict):
                texts.append(dosage.get("text") or "")
        narrative = resource.get("text")
        if isinstance(narrative, dict):
            texts.append(narrative.get("div") or "")
        text = " ".join(t for t in texts if isinstance(t, str)).lower()
        phrases = self._phrases
        for word in phrases.keys() & set(_WORD.findall(text)):
            if any(phrase in text for phrase in phrases[word]):
                return True
        return False
