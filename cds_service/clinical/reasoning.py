"""Reasoning: findings weighed against the knowledge base, giving an Assessment. No FHIR, no I/O."""

from __future__ import annotations

from dataclasses import dataclass

from .findings import Findings
from .knowledge import KnowledgeBase


@dataclass(frozen=True)
class Assessment:
    """What the record is consistent with, and the card kinds that follow, most urgent first."""

    card_kinds: tuple[str, ...] = ()
    #: The record entries each card kind rests on, for its "why this card" line.
    evidence: dict[str, tuple[str, ...]] | None = None


def assess(findings: Findings, kb: KnowledgeBase) -> Assessment:
    milia = findings.present("milia")
    if not milia:
        return Assessment()
    sources = tuple(ref for f in milia for ref in f.sources)
    return Assessment(card_kinds=("likely-milia",), evidence={"likely-milia": sources})
