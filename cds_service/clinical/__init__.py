"""Clinical logic: the knowledge base, findings from FHIR, and reasoning. No I/O beyond loading content."""
