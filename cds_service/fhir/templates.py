"""Prefetch templates: the CDS Hooks 2.0 token grammar, checked at start-up and rendered per call."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from ..hooks import HookDefinition

_TOKEN = re.compile(r"\{\{(.*?)\}\}")
#: The 2.0 user tokens, each the bare id of ``context.userId`` when it is of that resource type.
USER_TOKENS: dict[str, str] = {
    "userPractitionerId": "Practitioner",
    "userPractitionerRoleId": "PractitionerRole",
    "userPatientId": "Patient",
    "userRelatedPersonId": "RelatedPerson",
}


def template_problems(template: str, hook: HookDefinition) -> list[str]:
    """Every token of ``template`` that CDS Hooks 2.0 does not allow for ``hook``."""
    problems = []
    for raw in _TOKEN.findall(template):
        token = raw.strip()
        if token in USER_TOKENS:
            continue
        if token.startswith("context."):
            name = token.removeprefix("context.")
            if name in hook.token_fields:
                continue
        problems.append(f"token {{{{{raw}}}}} is not a 2.0 prefetch token for {hook.name}")
    if "{{" in _TOKEN.sub("", template) or "}}" in _TOKEN.sub("", template):
        problems.append("unbalanced {{ }} in template")
    return problems


def render(template: str, context: Mapping[str, Any]) -> str | None:
    """Fill the tokens from the request's context; ``None`` when a token has no value in this call."""
    missing = False

    def value(match: re.Match[str]) -> str:
        nonlocal missing
        token = match.group(1).strip()
        found: Any
        if token in USER_TOKENS:
            kind, _, ident = str(context.get("userId", "")).partition("/")
            found = ident if kind == USER_TOKENS[token] else ""
        else:
            found = context.get(token.removeprefix("context."))
        if not isinstance(found, str):
            found = ""
        if not found:
            missing = True
        # Ids are [A-Za-z0-9-.]{1,64} in FHIR; quoting keeps anything else from changing the query.
        return quote(found, safe="-.")

    rendered = _TOKEN.sub(value, template)
    return None if missing else rendered
