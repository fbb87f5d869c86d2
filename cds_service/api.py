"""HTTP, in three Blueprints: ``cds`` (``/cds-services``: discovery, hook calls, feedback; it owns
authentication, the call log and the audit trail), ``health`` (``/healthz``, ``/readyz``, ``/metrics``)
and ``pages`` (the guidance page and the handouts). Thin: each route makes one pipeline call.

Every error is answered by :func:`render_error` as a FHIR OperationOutcome naming the problem.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections import Counter
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, request
from gunicorn.http.errors import ParseException
from werkzeug.exceptions import HTTPException, NotFound, RequestEntityTooLarge

from . import jsonio, metrics
from .auth import ANONYMOUS
from .errors import (
    CDSError,
    InvalidRequest,
    PayloadTooLarge,
    Unauthorized,
    UnsupportedMediaType,
    operation_outcome,
)
from .fhir import lean_body
from .guidance import GUIDANCE_PATH
from .handout import HANDOUT_PATH
from .pipeline import Runtime, answer_feedback, answer_hook
from .protocol import to_wire
from .store import AuditRecord

log = logging.getLogger(__name__)

cds = Blueprint("cds", __name__, url_prefix="/cds-services")
health = Blueprint("health", __name__)
pages = Blueprint("pages", __name__)


def runtime() -> Runtime:
    value: Runtime = current_app.extensions["cds"]
    return value


def _json(value: Any, status: int = 200) -> Response:
    return Response(jsonio.encode(value), status=status, mimetype="application/json")


def _body() -> Any:
    return _noted(jsonio.decode(_body_bytes()))


def _noted(body: Any) -> Any:
    """The body, its hookInstance noted for the call's log line and audit record."""
    if isinstance(body, dict) and isinstance(body.get("hookInstance"), str):
        g.hook_instance = body["hookInstance"]
    return body


def _body_bytes() -> bytes:
    mimetype = request.mimetype or ""
    if mimetype != "application/json" and not mimetype.endswith("+json"):
        shown = mimetype or "none"
        raise UnsupportedMediaType(f"Content-Type must be application/json, not {shown}")
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    try:
        # One byte more than the limit: a chunked body has no length to check beforehand, and
        # must be refused when too long, never cut silently.
        if request.content_length is None:  # chunked: the server's own input stream
            data: bytes = request.environ["wsgi.input"].read(limit + 1)
        else:
            data = request.stream.read(limit + 1)
    except RequestEntityTooLarge:
        raise _too_large() from None
    except (ParseException, OSError) as exc:  # gunicorn's body reader: a broken chunk, a reset
        raise InvalidRequest(f"the request body could not be read ({type(exc).__name__})") from None
    if len(data) > limit:
        raise _too_large()
    return jsonio.without_bom(data)


def _too_large() -> PayloadTooLarge:
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    return PayloadTooLarge(f"the request body is larger than the limit of {limit} bytes")


@cds.get("")
def discovery() -> Response:
    return _json(to_wire(runtime().services.discovery()))


@cds.post("/<service_id>")
def call_service(service_id: str) -> Response:
    rt = runtime()
    service = rt.services.get(service_id)
    g.service_id = service.id
    keep = rt.relevance_for_call()
    body = _noted(lean_body.decode(_body_bytes(), keep))
    answer = answer_hook(body, service, rt, g.get("caller", ANONYMOUS), keep=keep)
    g.answer = answer
    return _json(to_wire(answer.response))


@cds.post("/<service_id>/feedback")
def feedback(service_id: str) -> Response:
    rt = runtime()
    service = rt.services.get(service_id)
    g.service_id = service.id
    answer = answer_feedback(_body(), service, rt)
    g.feedback_outcomes = answer.outcomes
    return _json(to_wire(answer.ack))


@pages.get(HANDOUT_PATH)
@pages.get(HANDOUT_PATH + "/<handout_id>")
def handout(handout_id: str | None = None) -> Response:
    path = HANDOUT_PATH + (f"/{handout_id}" if handout_id else "")
    page = current_app.extensions["cds.handouts"].get(path)
    if page is None:
        raise NotFound()
    return Response(page, mimetype="text/html")


@pages.get(GUIDANCE_PATH)
def guidance() -> Response:
    return Response(current_app.extensions["cds.guidance"], mimetype="text/html")


@health.get("/metrics")
def prometheus() -> Response:
    body, content_type = metrics.exposition()
    return Response(body, content_type=content_type)


@health.get("/healthz")
def healthz() -> Response:
    return _json({"status": "alive"})


@health.get("/readyz")
def readyz() -> Response:
    rt = runtime()
    meta = rt.knowledge.meta
    database = rt.store.ping()
    body = {
        "status": "ready" if database else "not-ready",
        "knowledgeBase": {
            "contentVersion": meta.content_version,
            "edited": meta.edited.isoformat(),
            "status": meta.status,
            "provenance": meta.provenance,
        },
        "database": "ok" if database else "unreachable",
    }
    return _json(body, 200 if database else 503)


# ---------------------------------------------------------------------------------------- errors


def _safe_trace(exc: BaseException) -> str:
    # Frames only: an exception's message or arguments may hold patient data.
    frames = traceback.extract_tb(exc.__traceback__)
    return " <- ".join(
        f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno} {f.name}" for f in reversed(frames)
    )


def render_error(exc: Exception) -> Response:
    headers: dict[str, str] = {}
    if isinstance(exc, CDSError):
        status, code, message = exc.status, exc.issue_code, exc.message
        if status == 401:
            message = "unauthorized"  # fail closed: the reason is in the log only
            headers["WWW-Authenticate"] = "Bearer"
    elif isinstance(exc, RequestEntityTooLarge):
        error = _too_large()
        status, code, message = error.status, error.issue_code, error.message
    elif isinstance(exc, HTTPException):
        status, code = exc.code or 500, "processing"
        message = exc.description or exc.name
        if status == 405 and (allow := exc.get_headers()):
            headers.update((k, v) for k, v in allow if k == "Allow")
            message = f"{request.method} is not allowed here; allowed: {headers.get('Allow', '')}"
        elif status == 404:
            code, message = "not-found", f"no resource at {request.path}"
    else:
        status, code, message = 500, "exception", "internal error; it has been logged"
        log.error(
            "internal error service=%s hookInstance=%s %s at %s",
            g.get("service_id", "-"),
            _printable(g.get("hook_instance", "-")),
            type(exc).__name__,
            _safe_trace(exc),
        )
    g.error_message = message
    response = _json(operation_outcome(status, code, message), status)
    response.headers.update(headers)
    return response


def _printable(value: str) -> str:
    return "".join(c for c in value[:64] if c.isprintable())


@cds.after_request
def _after_cds_call(response: Response) -> Response:
    """One log line per CDS call, and an audit row per hook and feedback call whose caller was
    verified. Neither holds a patient identifier, a token or text from the record."""
    elapsed = (time.perf_counter() - g.get("started", time.perf_counter())) * 1000
    caller = g.get("caller", ANONYMOUS)
    answer = g.get("answer")
    kinds: tuple[str, ...] = answer.card_kinds if answer else ()
    fields: dict[str, Any] = {
        "method": request.method,
        "route": request.url_rule.rule if request.url_rule else "-",
        "status": response.status_code,
        "service": g.get("service_id"),
        "hookInstance": _printable(g.get("hook_instance", "")) or None,
        "issuer": caller.iss,
        "tenant": caller.tenant,
        "ms": round(elapsed, 1),
    }
    if answer is not None:
        fields["cards"] = dict(Counter(kinds))
        fields["silent"] = answer.silent
        fields["stagesMs"] = answer.timings
    if g.get("feedback_outcomes") is not None:
        fields["feedback"] = dict(g.feedback_outcomes)
    text = " ".join(f"{key}={_text(value)}" for key, value in fields.items() if key != "route")
    log.info("%s %s", fields["route"], text, extra={"fields": fields})
    if response.status_code >= 400 and response.status_code != 401:
        log.info("answered %d: %s", response.status_code, g.get("error_message", "-"))
    if request.method == "POST" and g.get("service_id") and response.status_code != 401:
        current_app.extensions["cds.audit"].submit(
            AuditRecord(
                action="feedback" if request.endpoint == "cds.feedback" else "hook-call",
                service_id=g.service_id,
                status=response.status_code,
                content_version=runtime().knowledge.meta.content_version,
                duration_ms=elapsed,
                hook_instance=fields["hookInstance"],
                issuer=caller.iss,
                tenant=caller.tenant,
                client=caller.sub,
                silent=caller.silent,
                card_kinds=kinds,
                feedback_outcomes=tuple(sorted(g.get("feedback_outcomes", Counter()).items())),
            ),
        )
    return response


def _text(value: Any) -> str:
    if isinstance(value, dict):
        return ",".join(f"{k}:{v}" for k, v in value.items()) or "-"
    return "-" if value is None else str(value)


#: Pages are self-contained (inline style, no script, no image): nothing else may load, and no
#: other site may frame them.
_PAGE_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)


def _security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "no-referrer")
    if response.mimetype == "text/html":
        headers.setdefault("Content-Security-Policy", _PAGE_POLICY)
        headers.setdefault("X-Frame-Options", "DENY")
    else:
        # JSON answers: never rendered as a page, never framed, and cards (patient data) never
        # kept by a shared cache.
        headers.setdefault("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
        if request.path.startswith("/cds-services/"):
            headers.setdefault("Cache-Control", "no-store")
    return response


@cds.before_request
def _authenticate() -> None:
    """Every CDS call but the CORS preflight carries the EHR's JWT (CDS Hooks 2.0 §5)."""
    if request.method == "OPTIONS":
        return
    try:
        g.caller = runtime().auth.verify(request.headers.get("Authorization"), request.path)
    except Unauthorized as exc:
        log.warning("unauthorized %s %s: %s", request.method, request.path, exc.message)
        metrics.AUTH_FAILURES.labels(metrics.auth_reason(exc.message)).inc()
        raise


def init_app(app: Flask) -> None:
    app.before_request(lambda: setattr(g, "started", time.perf_counter()))
    for blueprint in (cds, health, pages):
        app.register_blueprint(blueprint)
    app.register_error_handler(Exception, render_error)
    app.after_request(_security_headers)
