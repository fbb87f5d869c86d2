"""Where findings can live in a FHIR resource: one declaration for the reader and the pre-filter.

The relevance pre-filter (:mod:`.selection`) looks at raw JSON before validation; the reader
(:mod:`.findings`) reads validated fhir.resources models. Both take the fields below from here, so a
field the reader reads is a field the pre-filter looks at (``tests/test_selection.py`` checks that
anything the pre-filter drops would have given no finding).

Paths are dotted; ``[]`` walks every item of a list ("note[].text"). :func:`values` follows a path in
a raw JSON object or in a model alike.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

#: CodeableConcepts whose codes and displays are read, per resource type.
CONCEPT_PATHS: dict[str, tuple[str, ...]] = {
    "Condition": ("code", "bodySite[]"),
    "Observation": (
        "code",
        "valueCodeableConcept",
        "interpretation[]",
        "bodySite",
        "component[].code",
        "component[].valueCodeableConcept",
    ),
    "Procedure": ("code", "bodySite[]"),
    "MedicationRequest": ("medicationCodeableConcept",),
    "MedicationStatement": ("medicationCodeableConcept",),
}

#: Free text read by the clinical NLP reader, per resource type.
TEXT_PATHS: dict[str, tuple[str, ...]] = {
    "Condition": ("code.text", "note[].text", "text.div"),
    "Observation": (
        "valueString",
        "code.text",
        "valueCodeableConcept.text",
        "component[].valueString",
        "note[].text",
        "text.div",
    ),
    "Procedure": ("code.text", "note[].text", "text.div"),
    "MedicationRequest": (
        "medicationCodeableConcept.text",
        "dosageInstruction[].text",
        "dosageInstruction[].patientInstruction",
        "note[].text",
        "text.div",
    ),
    "MedicationStatement": (
        "medicationCodeableConcept.text",
        "dosage[].text",
        "dosage[].patientInstruction",
        "note[].text",
        "text.div",
    ),
}


@lru_cache(maxsize=256)
def _steps(path: str) -> tuple[tuple[str, bool], ...]:
    return tuple((part.removesuffix("[]"), part.endswith("[]")) for part in path.split("."))


def values(node: Any, path: str) -> list[Any]:
    """Every value at ``path`` in a raw JSON object or a model (missing parts give nothing).
    Written as a loop over the path's steps: the pre-filter runs it on every resource."""
    steps = _steps(path)
    if len(steps) == 1 and isinstance(node, dict):  # the common case, kept cheap
        value = node.get(steps[0][0])
        if value is None:
            return []
        return [v for v in value if v is not None] if isinstance(value, list) else [value]
    current = [node]
    for name, _ in steps:
        following: list[Any] = []
        for item in current:
            value = item.get(name) if isinstance(item, dict) else getattr(item, name, None)
            if value is None:
                continue
            # Some EHRs send a list where R4 has one value: read each.
            if isinstance(value, list):
                following.extend(v for v in value if v is not None)
            else:
                following.append(value)
        if not following:
            return []
        current = following
    return current


def texts(resource: Any, kind: str) -> list[str]:
    """The free texts of a resource of type ``kind`` that can hold a finding."""
    found = []
    for path in TEXT_PATHS.get(kind, ()):
        for value in values(resource, path):
            if value and isinstance(value, str):
                found.append(value)
    return found


def concepts(resource: Any, kind: str) -> list[Any]:
    """The CodeableConcepts of a resource of type ``kind`` that can hold a finding."""
    found = []
    for path in CONCEPT_PATHS.get(kind, ()):
        for value in values(resource, path):
            if not isinstance(value, str | int | float):
                found.append(value)
    return found
