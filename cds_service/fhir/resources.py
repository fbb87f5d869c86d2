"""Parsing FHIR R4 JSON into fhir.resources models.

R4 payloads are parsed with ``fhir.resources.R4B``: R4B kept R4's resource shapes for everything this
service reads, while the package's default R5 models reject R4 MedicationRequests.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
from fhir.resources.R4B import get_fhir_model_class
from fhir_core.fhirabstractmodel import FHIRAbstractModel
from pydantic import ValidationError

from ..errors import InvalidRequest, describe_validation_error, named
from ..memory import Memory

#: Validated resources remembered per worker (about 6 KB each).
_REMEMBERED = 1024

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


def _model_for(data: dict[str, Any], where: str) -> type[FHIRAbstractModel]:
    """The model ``data`` is validated with; what no model can validate is the caller's error."""
    resource_type = data.get("resourceType")
    if not isinstance(resource_type, str):
        raise InvalidRequest(f"{where}: resourceType is missing")
    try:
        model = get_fhir_model_class(resource_type)
    except (KeyError, ValueError):
        raise InvalidRequest(
            f"{where}: unknown FHIR R4 resourceType {named(resource_type)}"
        ) from None
    if _too_deep(data):
        raise InvalidRequest(f"{where}: nested more than {MAX_DEPTH} levels deep")
    return model


def parse_resource(data: dict[str, Any], where: str) -> FHIRAbstractModel:
    """Validate one resource; an invalid one is the caller's error, named by ``where``."""
    model = _model_for(data, where)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        detail = describe_validation_error(exc, where)
        raise InvalidRequest(f"invalid FHIR R4 {data['resourceType']}: {detail}") from None


#: Elements a draft order is read for: without them it is no order worth reading.
_ESSENTIAL = frozenset(
    {"resourceType", "medicationCodeableConcept", "medicationReference", "code", "status"}
)


def parse_leniently(
    data: dict[str, Any], where: str, rounds: int = 3
) -> tuple[FHIRAbstractModel | None, tuple[str, ...]]:
    """A resource read without the top-level elements that fail validation (a note given as a
    string, a vendor's own field, a negative number of repeats), and the names of those left
    out; None when an essential element fails (:data:`_ESSENTIAL`) or the repairs run out."""
    try:
        model = _model_for(data, where)
    except InvalidRequest:
        return None, ()
    left_out: list[str] = []
    for _ in range(rounds + 1):
        try:
            return model.model_validate(data), tuple(left_out)
        except ValidationError as exc:
            failing = {str(error["loc"][0]) for error in exc.errors() if error["loc"]}
            if not failing or failing & _ESSENTIAL:
                return None, ()
            data = {k: v for k, v in data.items() if k not in failing}
            left_out += sorted(failing)
    return None, ()


class ValidatedResources:
    """:func:`parse_resource` with a memory of what it validated, by a digest of the JSON.

    Strict validation costs about 120 µs a resource, most of a heavy chart's kept findings; the
    same resources come again with every hook of a visit (patient-view, then each order-select)
    and with every chart opened again. A digest of the whole resource as sent is the key, so a
    resource that differs in any byte is validated afresh. The models are read, never changed,
    so the worker's threads share them. Only valid resources are remembered: an invalid one is
    named afresh in its own call's error.
    """

    def __init__(self, size: int = _REMEMBERED) -> None:
        self._models: Memory[bytes, FHIRAbstractModel] = Memory(size)

    def parse(self, data: dict[str, Any], where: str) -> FHIRAbstractModel:
        try:
            key = hashlib.blake2b(orjson.dumps(data), digest_size=16).digest()
        except (orjson.JSONEncodeError, TypeError):
            return parse_resource(data, where)  # too deep or too large a number: it says why
        model = self._models.get(key)
        if model is None:
            model = parse_resource(data, where)
            self._models.put(key, model)
        return model


#: The worker's memory of validated resources (validation does not depend on settings).
validated = ValidatedResources()
