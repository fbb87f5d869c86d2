"""Findings: typed clinical facts read from the FHIR record, each pointing back to its resources."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from ..fhir.context import ClinicalRecord
from .knowledge import KnowledgeBase, iter_codes

Status = Literal["present", "historical"]

#: verificationStatus codes that mean the condition is not the patient's.
_NOT_PRESENT = {"refuted", "entered-in-error"}
_INACTIVE = {"inactive", "remission", "resolved"}
_VOID_OBSERVATION = {"entered-in-error", "cancelled"}


@dataclass(frozen=True)
class ConceptFinding:
    """The record mentions a concept of the knowledge base (milia, a variant, a mimic)."""

    concept_id: str
    status: Status
    #: Relative references of the resources it came from, e.g. ``Condition/123``.
    sources: tuple[str, ...]


@dataclass(frozen=True)
class Findings:
    concepts: tuple[ConceptFinding, ...] = ()

    def present(self, concept_id: str) -> list[ConceptFinding]:
        return [f for f in self.concepts if f.concept_id == concept_id and f.status == "present"]


def _codings(concept: Any) -> Iterator[tuple[str, str]]:
    for coding in getattr(concept, "coding", None) or ():
        if coding.system and coding.code:
            yield coding.system, coding.code


def _status_code(concept: Any) -> str:
    """A status code (clinical or verification); some EHRs leave out the fixed HL7 system."""
    return next((c.code for c in getattr(concept, "coding", None) or () if c.code), "")


def _reference(resource: Any) -> str:
    return (
        f"{resource.get_resource_type()}/{resource.id}"
        if resource.id
        else resource.get_resource_type()
    )


def _coded_concepts(record: ClinicalRecord) -> Iterator[tuple[Any, Status, Iterable[Any]]]:
    """Each resource with its status and the CodeableConcepts that may name a skin condition."""
    for condition in record.of_type("Condition"):
        if _status_code(condition.verificationStatus) in _NOT_PRESENT:
            continue
        status: Status = (
            "historical" if _status_code(condition.clinicalStatus) in _INACTIVE else "present"
        )
        yield condition, status, [condition.code]
    for observation in record.of_type("Observation"):
        if observation.status in _VOID_OBSERVATION:
            continue
        yield observation, "present", [observation.code, observation.valueCodeableConcept]


def extract_findings(record: ClinicalRecord, kb: KnowledgeBase) -> Findings:
    """Read the coded findings of the record that the knowledge base knows."""
    by_code = {
        (code.system, code.code): concept.id
        for concept, code in iter_codes(kb.conditions)
        if code.verified
    }
    found: dict[tuple[str, Status], list[str]] = {}
    for resource, status, concepts in _coded_concepts(record):
        for codeable in concepts:
            for key in _codings(codeable):
                concept_id = by_code.get(key)
                if concept_id is not None:
                    refs = found.setdefault((concept_id, status), [])
                    if _reference(resource) not in refs:
                        refs.append(_reference(resource))
    return Findings(
        tuple(ConceptFinding(cid, status, tuple(refs)) for (cid, status), refs in found.items())
    )
