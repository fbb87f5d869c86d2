"""The service catalogue: each service's metadata and prefetch templates, and the discovery document.

Prefetch keys are split into *required* data (without it the service cannot judge the record, so a call
that cannot obtain it is answered 412) and *optional* data (without it the cards are built from what is
known and the gap is logged).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import ConfigurationError, UnknownService
from .fhir.prefetch import Prefetch
from .fhir.templates import template_problems
from .hooks import HOOKS, HookDefinition
from .protocol import DiscoveryResponse, ServiceDescriptor

_EXAM = "http://terminology.hl7.org/CodeSystem/observation-category|exam"


PATIENT = Prefetch("Patient/{{context.patientId}}", True, "Patient")
CONDITIONS = Prefetch("Condition?patient={{context.patientId}}", True, "Condition")
SKIN_OBSERVATIONS = Prefetch(
    "Observation?patient={{context.patientId}}&category=" + _EXAM, True, "Observation"
)
MEDICATION_REQUESTS = Prefetch(
    "MedicationRequest?patient={{context.patientId}}&status=active,on-hold,completed,stopped",
    False,
    "MedicationRequest",
)
MEDICATION_STATEMENTS = Prefetch(
    "MedicationStatement?patient={{context.patientId}}", False, "MedicationStatement"
)
#: The patient's pregnancy status (LOINC 82810-3): order cautions apply to pregnancy whatever the
#: site of the order.
PREGNANCY_STATUS = Prefetch(
    "Observation?patient={{context.patientId}}&code=http://loinc.org|82810-3", False, "Observation"
)
PROCEDURES = Prefetch(
    "Procedure?patient={{context.patientId}}&status=completed", False, "Procedure"
)


@dataclass(frozen=True)
class ServiceDefinition:
    id: str
    hook: str
    title: str
    description: str
    usage_requirements: str
    prefetch: dict[str, Prefetch] = field(default_factory=dict)

    @property
    def hook_definition(self) -> HookDefinition:
        return HOOKS[self.hook]

    def descriptor(self) -> ServiceDescriptor:
        return ServiceDescriptor(
            hook=self.hook,
            id=self.id,
            title=self.title,
            description=self.description,
            prefetch={key: p.template for key, p in self.prefetch.items()} or None,
            usageRequirements=self.usage_requirements,
        )


#: What every service asks of the EHR before anything else (the README's onboarding sections).
_TRUST_USAGE = (
    "Register the EHR with the service first: every call carries a JWT signed by an issuer on its "
    "trusted-issuers list (ES384 or RS384; jku only from that list). "
)

_ORDER_USAGE = _TRUST_USAGE + (
    "Send the draft orders in context.draftOrders (R4 MedicationRequest or ServiceRequest). "
    "Prefetch the patient, the patient's Conditions and pregnancy status (LOINC 82810-3), or "
    "grant read access to them on fhirServer."
)

SERVICES: tuple[ServiceDefinition, ...] = (
    ServiceDefinition(
        id="milia-patient-view",
        hook="patient-view",
        title="Milia and look-alike skin lesions",
        description=(
            "Reads the skin findings in the chart and advises on milia: what the record is consistent "
            "with, red flags that call for examination or referral (such as a growing, bleeding or "
            "pearly lesion that may be basal cell carcinoma), look-alikes to rule out, and "
            "management. Silent when nothing in the record concerns milia."
        ),
        usage_requirements=_TRUST_USAGE
        + (
            "Prefetch (or read access on fhirServer) to the patient, the patient's Conditions and "
            "exam-category Observations is required; MedicationRequests, MedicationStatements and "
            "Procedures are used when available."
        ),
        prefetch={
            "patient": PATIENT,
            "conditions": CONDITIONS,
            "skinObservations": SKIN_OBSERVATIONS,
            "medicationRequests": MEDICATION_REQUESTS,
            "medicationStatements": MEDICATION_STATEMENTS,
            "procedures": PROCEDURES,
        },
    ),
    ServiceDefinition(
        id="milia-order-select",
        hook="order-select",
        title="Milia-aware cautions while selecting orders",
        description=(
            "When a selected order concerns milia or the skin around them (topical retinoids near the "
            "eyes, potent topical corticosteroids on the face for long periods), shows the guidance's "
            "cautions. Unrelated orders get no card."
        ),
        usage_requirements=_ORDER_USAGE,
        prefetch={
            "patient": PATIENT,
            "conditions": CONDITIONS,
            "pregnancyStatus": PREGNANCY_STATUS,
        },
    ),
    ServiceDefinition(
        id="milia-order-sign",
        hook="order-sign",
        title="Milia-aware cautions before signing orders",
        description=(
            "Before orders are signed, shows the guidance's cautions for orders that concern milia "
            "(topical retinoids near the eyes, potent topical corticosteroids on the face for long "
            "periods). Unrelated orders get no card."
        ),
        usage_requirements=_ORDER_USAGE,
        prefetch={
            "patient": PATIENT,
            "conditions": CONDITIONS,
            "pregnancyStatus": PREGNANCY_STATUS,
        },
    ),
)


class ServiceRegistry:
    """Looks services up by id and serves the discovery document, sorted so it is deterministic."""

    def __init__(self, services: tuple[ServiceDefinition, ...] = SERVICES) -> None:
        problems = [
            f"service {s.id}, prefetch {key}: {problem}"
            for s in services
            for key, p in s.prefetch.items()
            for problem in template_problems(p.template, s.hook_definition)
        ]
        if problems:
            raise ConfigurationError("; ".join(problems))
        self._services = {s.id: s for s in sorted(services, key=lambda s: s.id)}

    def get(self, service_id: str) -> ServiceDefinition:
        try:
            return self._services[service_id]
        except KeyError:
            raise UnknownService(f"no CDS service with id '{service_id}'") from None

    @property
    def all(self) -> list[ServiceDefinition]:
        return list(self._services.values())

    def for_hook(self, hook: str) -> ServiceDefinition | None:
        """The service answering ``hook`` (one per hook here)."""
        return next((s for s in self._services.values() if s.hook == hook), None)

    def discovery(self) -> DiscoveryResponse:
        return DiscoveryResponse(services=[s.descriptor() for s in self._services.values()])
