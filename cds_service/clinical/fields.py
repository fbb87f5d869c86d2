"""Where findings can live in a FHIR resource: one declaration for the reader and the pre-filter.

The relevance pre-filter (:mod:`.selection`) looks at raw JSON before validation; the reader
(:mod:`.findings`) reads validated fhir.resources models. Both take the fields below from here, so a
field the reader reads is a field the pre-filter looks at (``tests/test_selection.py`` checks that
anything the pre-filter drops would have given no finding).

Paths are dotted; ``[]`` walks every item of a list ("note[].text"). :func:`values` follows a path in
a raw JSON object or in a model alike.
"""

from __future__ import annotations

from collections.abc import Iterator
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


def _get(node: Any, name: str) -> Any:
    if isinstance(node, dict):
        return node.get(name)
    return getattr(node, name, None)


def values(node: Any, path: str) -> Iterator[Any]:
    """Every value at ``path`` in a raw JSON object or a model (missing parts give nothing)."""
    head, _, rest = path.partition(".")
    many = head.endswith("[]")
    value = _get(node, head.removesuffix("[]"))
    if value is None:
        return
    items = value if isinstance(value, list) else [value]
    if not many and isinstance(value, list):
        items = value  # some EHRs send a list where R4 has one value: read each
    for item in items:
        if item is None:
            continue
        if rest:
            yield from values(item, rest)
        else:
            yield item


def texts(resource: Any, kind: str) -> list[str]:
    """The free texts of a resource of type ``kind`` that can hold a finding."""
    found = []
    for path in TEXT_PATHS.get(kind, ()):
        found += [v for v in values(resource, path) if isinstance(v, str) and v]
    return found


def concepts(resource: Any, kind: str) -> list[Any]:
    """The CodeableConcepts of a resource of type ``kind`` that can hold a finding."""
    found = []
    for path in CONCEPT_PATHS.get(kind, ()):
        found += [v for v in values(resource, path) if not isinstance(v, str | int | float)]
    return found
