"""What an EHR administrator enters to register the service (``cds-service registration``): the
discovery URL, each service with its hook and prefetch templates, what the service expects of the
EHR's tokens, the domains the cards link to, and the FHIR scopes the fallback needs."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from .auth import TrustConfig
from .clinical.knowledge import KnowledgeBase
from .services import ServiceRegistry


def registration(
    base_url: str, services: ServiceRegistry, trust: TrustConfig, kb: KnowledgeBase
) -> dict[str, Any]:
    descriptors = services.all
    resource_types = sorted({p.resource_type for s in descriptors for p in s.prefetch.values()})
    # The cards' own links: the guidance page and handouts here, and the references templates link.
    linked = {r for t in kb.card_templates.values() for r in t.links}
    domains = {urlsplit(base_url).netloc}
    domains |= {urlsplit(link).netloc for r in linked if (link := kb.reference(r).link)}
    return {
        "discovery": f"{base_url}/cds-services",
        "services": [
            {
                "id": s.id,
                "hook": s.hook,
                "title": s.title,
                "endpoint": f"{base_url}/cds-services/{s.id}",
                "prefetch": {key: p.template for key, p in s.prefetch.items()},
            }
            for s in descriptors
        ],
        "token": {
            "aud": f"{base_url}/cds-services/<service id> (the URL called, exactly)",
            "issuers": [
                {
                    "iss": i.iss,
                    "jwks": i.jwks_url or i.jku_list_url or "configured out of band",
                    "alg": i.algorithms,
                    "jku": i.jku_allowlist,
                    "sub": i.sub_allowlist,
                    "tenants": i.tenants,
                    "silent": "all calls"
                    if i.silent
                    else ", ".join(f"tenant {t}" for t in i.silent_tenants) or "no",
                }
                for i in trust.issuers
            ],
            "claims": "iss, aud, exp, iat, jti (a token lives at most an hour and is used once)",
        },
        "cardLinkDomains": sorted(d for d in domains if d),
        "fhirScopesForTheFallback": [f"patient/{t}.read" for t in resource_types],
    }


def as_text(info: dict[str, Any]) -> str:
    lines = [f"Discovery URL: {info['discovery']}", "", "Services:"]
    for service in info["services"]:
        lines.append(f"  {service['id']} ({service['hook']}): {service['endpoint']}")
        for key, template in service["prefetch"].items():
            lines.append(f"    prefetch {key}: {template}")
    token = info["token"]
    lines += [
        "",
        "Token the service expects:",
        f"  aud: {token['aud']}",
        f"  claims: {token['claims']}",
    ]
    for issuer in token["issuers"]:
        lines.append(
            f"  trusted issuer: {issuer['iss']} (keys: {issuer['jwks']}; {', '.join(issuer['alg'])})"
        )
        for key, label in (
            ("jku", "jku allowed"),
            ("sub", "sub (client) allowed"),
            ("tenants", "tenants allowed"),
        ):
            if issuer[key]:
                lines.append(f"    {label}: {', '.join(issuer[key])}")
        lines.append(f"    silent mode (cards recorded, not shown): {issuer['silent']}")
    if not token["issuers"]:
        lines.append("  no trusted issuer yet: add the EHR to CDS_TRUSTED_ISSUERS_FILE")
    lines += ["", "Domains the cards link to (allow them where the EHR filters links):"]
    lines += [f"  {d}" for d in info["cardLinkDomains"]]
    lines += ["", "FHIR scopes the fallback needs (only when prefetch is not sent):"]
    lines += [f"  {s}" for s in info["fhirScopesForTheFallback"]]
    return "\n".join(lines)
