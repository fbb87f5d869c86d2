"""The hooks this service answers and their context fields (CDS Hooks Library 1.0.1).

A field marked ``prefetch_token`` may appear in a prefetch template as ``{{context.<name>}}``: only
first-level fields with primitive values qualify (CDS Hooks 2.0 §Prefetch tokens).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from .errors import InvalidRequest

FieldKind = Literal["string", "array-of-strings", "bundle"]


@dataclass(frozen=True)
class ContextField:
    name: str
    kind: FieldKind
    required: bool
    prefetch_token: bool


@dataclass(frozen=True)
class HookDefinition:
    name: str
    fields: tuple[ContextField, ...]

    @property
    def token_fields(self) -> frozenset[str]:
        return frozenset(f.name for f in self.fields if f.prefetch_token)

    def check_context(self, context: Mapping[str, Any]) -> None:
        """Raise :class:`InvalidRequest` naming the first context field that breaks the hook."""
        for field in self.fields:
            value = context.get(field.name)
            where = f"context.{field.name}"
            if value is None:
                if field.required:
                    raise InvalidRequest(f"{where} is required by the {self.name} hook")
                continue
            if field.kind == "string" and not (isinstance(value, str) and value):
                raise InvalidRequest(f"{where} must be a non-empty string")
            if field.kind == "array-of-strings" and not (
                isinstance(value, list) and value and all(isinstance(v, str) and v for v in value)
            ):
                raise InvalidRequest(f"{where} must be a non-empty array of strings")
            if field.kind == "bundle" and not (
                isinstance(value, dict) and value.get("resourceType") == "Bundle"
            ):
                raise InvalidRequest(f"{where} must be a FHIR Bundle")


_USER = ContextField("userId", "string", required=True, prefetch_token=True)
_PATIENT = ContextField("patientId", "string", required=True, prefetch_token=True)
_ENCOUNTER = ContextField("encounterId", "string", required=False, prefetch_token=True)
_DRAFT_ORDERS = ContextField("draftOrders", "bundle", required=True, prefetch_token=False)

HOOKS: dict[str, HookDefinition] = {
    "patient-view": HookDefinition("patient-view", (_USER, _PATIENT, _ENCOUNTER)),
    "order-select": HookDefinition(
        "order-select",
        (
            _USER,
            _PATIENT,
            _ENCOUNTER,
            ContextField("selections", "array-of-strings", required=True, prefetch_token=False),
            _DRAFT_ORDERS,
        ),
    ),
    "order-sign": HookDefinition("order-sign", (_USER, _PATIENT, _ENCOUNTER, _DRAFT_ORDERS)),
}
