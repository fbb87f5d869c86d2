"""The hooks this service answers, each with its context as a pydantic model (CDS Hooks Library
1.0.1): ``patient-view``, ``order-select``, ``order-sign``.

A context field typed :data:`ContextString` may appear in a prefetch template as
``{{context.<name>}}``: only first-level fields with primitive values qualify (CDS Hooks 2.0
§Prefetch tokens). Fields the hook does not define are tolerated, as the spec asks of services.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)

from .errors import InvalidRequest


@dataclass(frozen=True)
class Expected:
    """What a context field must be, said to the EHR when it is not; and whether a prefetch
    template may name it."""

    description: str
    prefetch_token: bool = False


def _bundle(value: dict[str, Any]) -> dict[str, Any]:
    if value.get("resourceType") != "Bundle":
        raise ValueError("not a Bundle")
    return value


ContextString = Annotated[
    str,
    StringConstraints(min_length=1, strict=True),
    Expected("must be a non-empty string", prefetch_token=True),
]
StringList = Annotated[
    list[Annotated[str, StringConstraints(min_length=1, strict=True)]],
    Field(min_length=1),
    Expected("must be a non-empty array of strings"),
]
FhirBundle = Annotated[dict[str, Any], AfterValidator(_bundle), Expected("must be a FHIR Bundle")]


class _Context(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    userId: ContextString
    patientId: ContextString
    encounterId: ContextString | None = None


class PatientViewContext(_Context):
    """The chart is opened."""


class OrderSelectContext(_Context):
    """Orders are selected: ``selections`` names the new ones among ``draftOrders``."""

    selections: StringList
    draftOrders: FhirBundle


class OrderSignContext(_Context):
    """Orders are about to be signed."""

    draftOrders: FhirBundle


def _expected(model: type[BaseModel], name: str) -> Expected | None:
    field = model.model_fields.get(name)
    metadata = list(field.metadata) if field else []
    # An optional field keeps its type's metadata one level down.
    for arg in getattr(field.annotation, "__args__", ()) if field else ():
        metadata += list(getattr(arg, "__metadata__", ()))
    return next((m for m in metadata if isinstance(m, Expected)), None)


@dataclass(frozen=True)
class HookDefinition:
    name: str
    context: type[BaseModel]

    @property
    def token_fields(self) -> frozenset[str]:
        return frozenset(
            name
            for name in self.context.model_fields
            if (expected := _expected(self.context, name)) and expected.prefetch_token
        )

    def check_context(self, context: Mapping[str, Any]) -> None:
        """Raise :class:`InvalidRequest` naming the first context field that breaks the hook."""
        try:
            self.context.model_validate(context)
        except ValidationError as exc:
            error = exc.errors()[0]
            name = str(error["loc"][0])
            if error["type"] == "missing":
                raise InvalidRequest(
                    f"context.{name} is required by the {self.name} hook"
                ) from None
            expected = _expected(self.context, name)
            problem = expected.description if expected else "is not valid"
            raise InvalidRequest(f"context.{name} {problem}") from None


HOOKS: dict[str, HookDefinition] = {
    "patient-view": HookDefinition("patient-view", PatientViewContext),
    "order-select": HookDefinition("order-select", OrderSelectContext),
    "order-sign": HookDefinition("order-sign", OrderSignContext),
}
