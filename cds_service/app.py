"""create_app(settings): wires everything; the only module that knows all the parts."""

from __future__ import annotations

import logging
import secrets

import requests
from flask import Flask
from flask_cors import CORS

from . import api, metrics
from .audit import AuditWriter
from .auth import Authenticator, JwksCache, ReplayGuard, load_trust
from .card_ids import CardIdentity
from .cards import CardRenderer
from .clinical import inflections
from .clinical.findings import ReadingLimits, RecordReader
from .clinical.knowledge import KnowledgeBase
from .clinical.loading import default_content_dir, load_knowledge
from .clinical.selection import RelevanceFilter
from .clinical.text import text_reader
from .clinical.vocabulary import Vocabulary
from .fhir.client import FetchLimits, FhirFetcher
from .guidance import render_guidance
from .handout import render_handouts
from .pipeline import Runtime
from .services import ServiceRegistry
from .settings import Settings
from .store import Store
from .suppression import Suppression

log = logging.getLogger(__name__)


def init_cors(app: Flask, settings: Settings) -> None:
    """Browser clients (the public sandbox) send a preflight on every CDS path: answer it."""
    CORS(
        app,
        resources={r"/cds-services*": {"origins": settings.cors_origins}},
        methods=["GET", "POST", "OPTIONS"],
        allow_headers=["Authorization", "Content-Type"],
        allow_private_network=True,
        max_age=86400,
    )


def init_auth(app: Flask, settings: Settings, store: Store, serving: bool = True) -> Authenticator:
    """Who may call: the trusted issuers, their keys, the replay guard. Only a served app warns
    of how calls will be trusted (``cds-service evaluate`` takes none)."""
    development = settings.auth_mode == "development"
    trust = load_trust(settings.trusted_issuers_file, development)
    if serving and development:
        log.warning(
            "DEVELOPMENT MODE: calls without a token are accepted; the public CDS Hooks sandbox "
            "(whose private key is public) is trusted. Never run like this with real patient data."
        )
    elif serving and not trust.issuers:
        log.error("no trusted issuers configured (CDS_TRUSTED_ISSUERS_FILE): every call gets 401")
    jwks = JwksCache(
        requests.Session(),
        timeout_s=settings.jwks_timeout_ms / 1000,
        refresh_interval_s=settings.jwks_refresh_interval_s,
    )
    auth = Authenticator(
        trust, jwks, ReplayGuard(store), settings.base_url, development, settings.jwt_leeway_s
    )
    app.extensions["cds.auth"] = auth
    return auth


def _secret(settings: Settings, serving: bool = True) -> bytes:
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value().encode()
    if serving:
        log.warning(
            "CDS_SECRET_KEY is not set: a random key is used, so card ids and snoozes last only until "
            "restart and differ between instances. Set one shared key for every instance."
        )
    return secrets.token_bytes(32)


def fetch_limits(settings: Settings) -> FetchLimits:
    return FetchLimits(
        allowlist=tuple(settings.fhir_server_allowlist),
        request_timeout_s=settings.fhir_request_timeout_ms / 1000,
        hook_budget_s=settings.fhir_hook_budget_ms / 1000,
        max_pages=settings.fhir_max_pages,
        max_resources=settings.fhir_max_resources,
        max_bytes=settings.fhir_max_bytes,
        concurrency=settings.fhir_concurrency,
    )


def reading_limits(settings: Settings) -> ReadingLimits:
    return ReadingLimits(
        settings.text_max_chars_per_note,
        settings.text_max_chars_per_request,
        settings.text_cpu_budget_ms,
    )


def init_knowledge(app: Flask, settings: Settings) -> KnowledgeBase:
    """The knowledge base, validated (the service refuses to start on invalid content), and the
    pages built from it."""
    knowledge = load_knowledge(settings.content_dir or default_content_dir())
    app.extensions["cds.knowledge"] = knowledge
    app.extensions["cds.handouts"] = render_handouts(knowledge)
    app.extensions["cds.guidance"] = render_guidance(knowledge)
    return knowledge


def init_store(app: Flask, settings: Settings) -> Store:
    """The shared state, migrated (or migrated on first use once the database answers)."""
    store = Store(settings.database_url, settings.database_timeout_ms)
    store.ensure_schema()
    app.extensions["cds.store"] = store
    return store


def init_fallback(app: Flask, settings: Settings) -> FhirFetcher:
    """The FHIR client for keys the EHR did not prefetch (only to allowlisted servers)."""
    fetcher = FhirFetcher(fetch_limits(settings))
    app.extensions["cds.fallback"] = fetcher
    return fetcher


def init_audit(app: Flask, store: Store) -> AuditWriter:
    """The audit trail's writer: records queued by the calls, written in batches off the request."""
    writer = AuditWriter(store)
    app.extensions["cds.audit"] = writer
    return writer


def init_metrics(knowledge: KnowledgeBase) -> None:
    """The content served, as an info metric (the counters register themselves)."""
    metrics.CONTENT.labels(knowledge.meta.content_version, knowledge.meta.status).set(1)


def create_app(settings: Settings | None = None, serving: bool = True) -> Flask:
    """The service; ``serving=False`` for in-process use that takes no calls (``cds-service
    evaluate``, the gallery), which is spared the warnings about trust and the secret key."""
    settings = settings or Settings()
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.body_limit_bytes
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["cds.settings"] = settings
    knowledge = init_knowledge(app, settings)
    store = init_store(app, settings)
    auth = init_auth(app, settings, store, serving)
    fetcher = init_fallback(app, settings)
    init_audit(app, store)
    init_metrics(knowledge)
    vocabulary = Vocabulary(knowledge)
    missing = inflections.missing()
    reader = text_reader(knowledge, frozenset(vocabulary.phrases()))
    if inflections.missing() > missing:
        log.warning(
            "%d word(s) of the content are not in the inflections table: lemminflect answered "
            "(slower start-up, more memory); `cds-service inflections` writes them",
            inflections.missing() - missing,
        )
    # The pipeline's parts, built once: what a hook call needs (pipeline.Runtime).
    app.extensions["cds"] = Runtime(
        knowledge=knowledge,
        services=ServiceRegistry(),
        store=store,
        reader=RecordReader(vocabulary, reader, reading_limits(settings)),
        renderer=CardRenderer(knowledge, settings.base_url),
        auth=auth,
        suppression=Suppression(store, knowledge),
        card_ids=CardIdentity(_secret(settings, serving), knowledge.meta.content_version),
        relevant=RelevanceFilter(vocabulary, reader, reading_limits(settings)),
        fetcher=fetcher,
    )
    init_cors(app, settings)
    api.init_app(app)
    log.info(
        "ready: content %s (%s), database %s",
        knowledge.meta.content_version,
        knowledge.meta.provenance,
        store.engine.dialect.name,
    )
    return app
