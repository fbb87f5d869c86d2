"""The patient's FHIR data for one hook call, typed: what the clinical layer reads. It knows nothing
of HTTP, of the CDS Hooks request or of where the data came from beyond the missing keys."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fhir_core.fhirabstractmodel import FHIRAbstractModel


@dataclass(frozen=True)
class ClinicalRecord:
    """The patient's FHIR data for one call, typed, with where each part came from."""

    now: datetime
    patient: FHIRAbstractModel | None
    resources: dict[str, list[FHIRAbstractModel]] = field(default_factory=dict)
    #: Resources of ``context.draftOrders`` for the order hooks.
    draft_orders: list[FHIRAbstractModel] = field(default_factory=list)
    #: Optional prefetch keys that could not be obtained (cards are built from what is known).
    missing: tuple[str, ...] = ()
    #: Resources that could concern milia but were left unread: the call's validation budget
    #: ran out (the cards say the record was not read in full).
    unread: int = 0

    def of_type(self, resource_type: str) -> list[Any]:
        """The resources of one type (typed ``Any``: fhir.resources models are dynamic to mypy)."""
        return list(self.resources.get(resource_type, []))
