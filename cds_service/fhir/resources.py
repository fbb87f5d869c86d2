"""Parsing FHIR R4 JSON into fhir.resources models.

R4 payloads are parsed with ``fhir.resources.R4B``: R4B kept R4's resource shapes for everything this
service reads, while the package's default R5 models reject R4 MedicationRequests.
"""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from fhir_core.fhirabstractmodel import FHIRAbstractModel
from pydantic import ValidationError

from ..errors import InvalidRequest, describe_validation_error

#: Deeper than any real resource (a nested extension is about 6 levels); the models validate
#: recursively, so a deeper one would exhaust the stack rather than fail validation.
MAX_DEPTH = 48


def _too_deep(data: Any, limit: int = MAX_DEPTH) -> bool:
    level: list[Any] = [data]
    for _ in range(limit):
        level = [
            child
            for node in level
            for child in (node.values() if isinstance(node, dict) else node)
            if isinstance(child, dict | list)
        ]
        if not level:
            return False
    return True


def parse_resource(data: dict[str, Any], where: str) -> FHIRAbstractModel:
    """Validate one resource; an invalid one is the caller's error, named by ``where``."""
    resource_type = data.get("resourceType")
    if not isinstance(resource_type, str):
        raise InvalidRequest(f"{where}: resourceType is missing")
    try:
        model = get_fhir_model_class(resource_type)
    except (KeyError, ValueError):
        raise InvalidRequest(f"{where}: unknown FHIR R4 resourceType '{resource_type}'") from None
    if _too_deep(data):
        raise InvalidRequest(f"{where}: nested more than {MAX_DEPTH} levels deep")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        detail = describe_validation_error(exc, where)
        raise InvalidRequest(f"invalid FHIR R4 {resource_type}: {detail}") from None
