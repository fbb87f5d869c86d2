"""FHIR access: prefetch templates and values, and parsing into fhir.resources R4 models."""
