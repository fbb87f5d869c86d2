"""Where findings can live in a FHIR resource: one declaration for the reader and the pre-filter.

The relevance pre-filter (:mod:`.selection`) looks at raw JSON before validation; the reader
(:mod:`.findings`) reads validated fhir.resources models. Both take the fields below from here, so a
field the reader reads is a field the pre-filter looks at (``tests/test_selection.py`` checks that
anything the pre-filter drops would have given no finding).

Paths are dotted; ``[]`` walks every item of a list ("note[].text"). :func:`values` follows a path in
a raw JSON object or in a model alike.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
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
    # The first step on its own: most paths stop there (a resource has few of the fields).
    name = steps[0][0]
    value = node.get(name) if isinstance(node, dict) else getattr(node, name, None)
    if value is None:
        return []
    current = [v for v in value if v is not None] if isinstance(value, list) else [value]
    for name, _ in steps[1:]:
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


def walker(path: str) -> Callable[[dict[str, Any]], Sequence[Any]]:
    """:func:`values` for raw JSON, compiled for one path: the pre-filter walks every resource
    of a prefetch, so a path of one field, or of a field and one of its own, is two look-ups.
    What it gives may hold None and values of any type: the caller checks each."""
    steps = _steps(path)
    name = steps[0][0]
    if len(steps) == 1:

        def one(node: dict[str, Any]) -> Sequence[Any]:
            value = node.get(name)
            return () if value is None else value if isinstance(value, list) else (value,)

        return one
    if len(steps) == 2 and not steps[0][1]:
        inner = steps[1][0]

        def two(node: dict[str, Any]) -> Sequence[Any]:
            parent = node.get(name)
            if not isinstance(parent, dict):  # missing, or a list where R4 has one value
                return () if parent is None else values(node, path)
            value = parent.get(inner)
            return () if value is None else value if isinstance(value, list) else (value,)

        return two
    return lambda node: values(node, path)


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
