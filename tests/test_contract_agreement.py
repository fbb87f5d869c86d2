"""openapi.yaml and the pydantic wire models (cds_service/protocol.py) describe the same contract, in
both directions: every wire model has its schema and every schema of a wire object has its model,
with the same fields and the same required fields. (Values are checked against the contract by
every test client, tests/conftest.py, and by the schema-driven fuzzing.)"""

from __future__ import annotations

import inspect
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from cds_service import protocol
from tests.conftest import OPENAPI_PATH

SCHEMAS: dict[str, Any] = yaml.safe_load(OPENAPI_PATH.read_text())["components"]["schemas"]

#: Wire models whose schema is written inline in another schema, by where it is.
INLINE = {
    "AcceptedSuggestion": ("FeedbackEntry", "acceptedSuggestions", "items"),
    "OverrideReasonFeedback": ("FeedbackEntry", "overrideReason"),
    "FeedbackReason": ("FeedbackEntry", "overrideReason", "reason"),
}
#: Schemas that are not wire models of protocol.py: shared types, and documents other modules build.
NOT_MODELS = {
    "NonEmptyString",
    "StoredId",
    "Extension",
    "FhirResource",
    "Readiness",
    "OperationOutcome",
}


def wire_models() -> dict[str, type[BaseModel]]:
    return {
        name: model
        for name, model in inspect.getmembers(protocol, inspect.isclass)
        if issubclass(model, BaseModel)
        and model.__module__ == protocol.__name__
        and not name.startswith("_")
    }


def resolve(schema: dict[str, Any]) -> dict[str, Any]:
    """A schema with its $ref and allOf parts merged: properties and required fields."""
    if "$ref" in schema:
        return resolve(SCHEMAS[schema["$ref"].rsplit("/", 1)[-1]])
    properties = dict(schema.get("properties", {}))
    required = set(schema.get("required", []))
    for part in schema.get("allOf", []):
        merged = resolve(part)
        properties.update(merged["properties"])
        required |= merged["required"]
    return {"properties": properties, "required": required}


def schema_of(name: str) -> dict[str, Any]:
    if name in INLINE:
        owner, *path = INLINE[name]
        schema = resolve(SCHEMAS[owner])
        node: dict[str, Any] = schema
        for step in path:
            node = resolve(node)["properties"][step] if step != "items" else node["items"]
        return resolve(node)
    return resolve(SCHEMAS[name])


def test_every_wire_model_has_a_schema_and_every_schema_a_model() -> None:
    models = set(wire_models())
    documented = (set(SCHEMAS) - NOT_MODELS) | set(INLINE)
    assert models - documented == set(), "wire models missing from openapi.yaml"
    assert documented - models == set(), "openapi.yaml schemas with no wire model"


@pytest.mark.parametrize("name", sorted(wire_models()))
def test_a_model_and_its_schema_have_the_same_fields(name: str) -> None:
    model = wire_models()[name]
    schema = schema_of(name)
    fields = {field.alias or key for key, field in model.model_fields.items()}
    required = {
        field.alias or key for key, field in model.model_fields.items() if field.is_required()
    }
    assert set(schema["properties"]) == fields
    assert schema["required"] == required
