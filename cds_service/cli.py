"""The ``cds-service`` command: serve, evaluate, check-content."""

from __future__ import annotations

import argparse
import gc
import logging
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from . import __version__, jsonio
from .clinical.loading import default_content_dir, validate_content
from .errors import CDSError, ConfigurationError, ContentError, describe_validation_error
from .logs import configure_logging, gunicorn_log_config
from .protocol import to_wire
from .settings import Settings

log = logging.getLogger("cds_service")


def _settings(**overrides: Any) -> Settings:
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        raise SystemExit(
            f"cds-service: invalid settings: {describe_validation_error(exc)}"
        ) from None
    except ConfigurationError as exc:
        raise SystemExit(f"cds-service: invalid settings: {exc.message}") from None


@contextmanager
def frozen_start_up() -> Iterator[None]:
    """Start-up with the collector off, what it built frozen after: start-up builds hundreds of
    thousands of objects that live as long as the process (spaCy, the matchers, the knowledge
    base), and collecting on the way costs a fifth of it. Frozen, they are outside every later
    collection (a full one would otherwise take ~10 ms, a tail on a request). The collector is on
    again afterwards, whatever happened."""
    gc.disable()
    try:
        yield
        gc.freeze()
    finally:
        gc.enable()


def cmd_serve(args: argparse.Namespace) -> int:
    with frozen_start_up():
        built = _serving_app(args)
    if isinstance(built, int):
        return built
    settings, app = built
    return _serve(settings, app)


def _serving_app(args: argparse.Namespace) -> int | tuple[Settings, Any]:
    """The settings and the app to serve, or the exit status when it cannot start."""
    import tempfile

    # Every gunicorn worker counts in /metrics: prometheus-client's multiprocess mode needs its
    # folder before it is first imported (by the app, below).
    os.environ.setdefault(
        "PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="cds-service-metrics-")
    )
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)

    from .app import create_app
    from .auth import TrustConfigError

    settings = _settings(host=args.host, port=args.port, workers=args.workers)
    configure_logging(settings.log_level, settings.log_format)
    try:
        app = create_app(settings)
    except ContentError as exc:
        print(f"cds-service: refusing to start on invalid content:\n{exc.message}", file=sys.stderr)
        return 2
    except TrustConfigError as exc:
        print(f"cds-service: refusing to start: {exc}", file=sys.stderr)
        return 2
    return settings, app


def _serve(settings: Settings, app: Any) -> int:
    from gunicorn.app.base import BaseApplication
    from prometheus_client import multiprocess

    store = app.extensions["cds"].store

    class Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", f"{settings.host}:{settings.port}")
            self.cfg.set("workers", settings.workers)
            # Threads with a read deadline per request: slow clients cannot starve the workers
            # (cds_service/serving.py).
            self.cfg.set("worker_class", "cds_service.serving.BoundedThreadWorker")
            self.cfg.set("threads", settings.threads)
            self.cfg.set("accesslog", None)
            self.cfg.set("loglevel", settings.log_level.lower())
            self.cfg.set(
                "logconfig_dict", gunicorn_log_config(settings.log_level, settings.log_format)
            )
            # Each worker opens its own database connections after the fork.
            self.cfg.set("post_fork", lambda _server, _worker: store.engine.dispose(close=False))
            self.cfg.set(
                "child_exit",
                lambda _server, worker: multiprocess.mark_process_dead(worker.pid),  # type: ignore[no-untyped-call]
            )

        def load(self) -> Any:
            return app

    from .serving import BoundedThreadWorker

    BoundedThreadWorker.read_timeout_s = settings.request_read_timeout_ms / 1000
    log.info(
        "serving on http://%s:%d with %d workers of %d threads",
        settings.host,
        settings.port,
        settings.workers,
        settings.threads,
    )
    Server().run()
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .app import create_app
    from .pipeline import answer_hook

    settings = _settings(database_url="sqlite://")
    configure_logging("WARNING")
    try:
        body = jsonio.decode(Path(args.request).read_bytes())
    except OSError as exc:
        print(f"cds-service: cannot read {args.request}: {exc.strerror}", file=sys.stderr)
        return 2
    except CDSError as exc:
        print(f"cds-service: {args.request}: {exc.message}", file=sys.stderr)
        return 2
    runtime = create_app(settings, serving=False).extensions["cds"]
    try:
        if args.service:
            service = runtime.services.get(args.service)
        else:
            hook = body.get("hook") if isinstance(body, dict) else None
            found = runtime.services.for_hook(str(hook))
            if found is None:
                print(f"cds-service: no service answers hook '{hook}'", file=sys.stderr)
                return 2
            service = found
        response = answer_hook(body, service, runtime).response
    except CDSError as exc:
        print(f"cds-service: {exc.status}: {exc.message}", file=sys.stderr)
        return 1
    sys.stdout.write(jsonio.encode(to_wire(response)).decode("utf-8") + "\n")
    return 0


def cmd_gallery(args: argparse.Namespace) -> int:
    from .app import create_app
    from .gallery import anchor_time, build_gallery

    configure_logging("ERROR")
    # In-process, no network: the gallery calls no endpoint, so no issuer needs trusting.
    settings = _settings(database_url="sqlite://", auth_mode="development")
    runtime = create_app(settings, serving=False).extensions["cds"]
    scenarios = Path(args.scenarios)
    if not scenarios.is_dir():
        print(f"cds-service: no scenarios folder at {scenarios}", file=sys.stderr)
        return 2
    results = build_gallery(scenarios, Path(args.directory), runtime, anchor_time(args.as_of))
    matching = sum(1 for r in results if r.matches)
    print(
        f"gallery written to {args.directory}: {matching} of {len(results)} scenarios as expected"
    )
    return 0


def cmd_registration(args: argparse.Namespace) -> int:
    from .auth import TrustConfigError, load_trust
    from .clinical.loading import load_knowledge
    from .registration import as_text, registration
    from .services import ServiceRegistry

    settings = _settings()
    try:
        trust = load_trust(settings.trusted_issuers_file, settings.auth_mode == "development")
    except TrustConfigError as exc:
        print(f"cds-service: {exc}", file=sys.stderr)
        return 2
    kb = load_knowledge(settings.content_dir or default_content_dir())
    info = registration(settings.base_url, ServiceRegistry(), trust, kb)
    print(jsonio.encode(info).decode() if args.json else as_text(info))
    return 0


def cmd_healthcheck(args: argparse.Namespace) -> int:
    """Exit 0 when the local server answers /healthz: the container's HEALTHCHECK (slim images
    carry no curl)."""
    import urllib.error
    import urllib.request

    settings = _settings()
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
    url = f"http://{host}:{settings.port}{args.path}"
    try:
        with urllib.request.urlopen(url, timeout=args.timeout) as response:
            healthy = response.status == 200
    except (urllib.error.URLError, OSError):
        healthy = False
    print(f"{url}: {'healthy' if healthy else 'unhealthy'}")
    return 0 if healthy else 1


def cmd_check_content(args: argparse.Namespace) -> int:
    from .cards import DETAIL_LIMIT, longest_details

    directory = Path(args.directory) if args.directory else default_content_dir()
    kb, problems = validate_content(directory)
    if kb is not None:
        # A card fits one screen, even for the fullest record the content allows.
        problems += [
            f"{directory / 'templates.yaml'}: card_templates.{kind}: the detail can reach "
            f"{length} characters; at most {DETAIL_LIMIT}"
            for kind, length in longest_details(kb).items()
            if length > DETAIL_LIMIT
        ]
        kb = None if problems else kb
    for problem in problems:
        print(problem)
    if kb is None:
        print(f"{len(problems)} problem(s) in {directory}", file=sys.stderr)
        return 1
    meta = kb.meta
    print(f"content {meta.content_version} ({meta.provenance}) is valid")
    return 0


def cmd_feedback_report(args: argparse.Namespace) -> int:
    from .store import Store

    settings = _settings()
    store = Store(settings.database_url, settings.database_timeout_ms)
    try:
        shown, outcomes = store.report_rows()
    except CDSError as exc:
        print(f"cds-service: {exc.message}", file=sys.stderr)
        return 1

    def empty() -> dict[str, Any]:
        return {"shown": 0, "silent": 0, "accepted": 0, "overridden": 0, "reasons": {}}

    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for kind, version, times, withheld in shown:
        rows[(kind, version)] = {**empty(), "shown": int(times or 0), "silent": int(withheld or 0)}
    for kind, version, outcome, reason, count in outcomes:
        row = rows.setdefault((kind or "(unknown card)", version or "-"), empty())
        row[outcome] += count
        if outcome == "overridden":
            row["reasons"][reason or "(no reason)"] = (
                row["reasons"].get(reason or "(no reason)", 0) + count
            )
    # "silent": cards that would have been shown, computed for callers in silent mode.
    header = (
        f"{'card kind':22} {'version':12} {'shown':>7} {'silent':>7} {'accepted':>9} "
        f"{'overridden':>11}  reasons"
    )
    print(header)
    print("-" * len(header))
    for (kind, version), row in sorted(rows.items()):
        reasons = ", ".join(
            f"{r} {n}" for r, n in sorted(row["reasons"].items(), key=lambda x: -x[1])
        )
        print(
            f"{kind:22} {version:12} {row['shown']:>7} {row['silent']:>7} {row['accepted']:>9} "
            f"{row['overridden']:>11}  {reasons}"
        )
    if not rows:
        print("(no cards shown yet)")
    if any(row["silent"] for row in rows.values()):
        print(
            "\nsilent: would have been shown to callers in silent mode (withheld; see the README)"
        )
    return 0


def cmd_audit_events(args: argparse.Namespace) -> int:
    from datetime import datetime

    from .audit import audit_bundle
    from .store import Store

    settings = _settings()
    since = None
    if args.since:
        try:
            since = datetime.fromisoformat(args.since)
        except ValueError:
            print(f"cds-service: --since is not an ISO date or time: {args.since}", file=sys.stderr)
            return 2
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
    store = Store(settings.database_url, settings.database_timeout_ms)
    try:
        records = store.audit_records(since, args.limit)
    except CDSError as exc:
        print(f"cds-service: {exc.message}", file=sys.stderr)
        return 1
    print(jsonio.encode(audit_bundle(records, settings.base_url)).decode())
    return 0


def cmd_eval_corpus(args: argparse.Namespace) -> int:
    from .clinical.findings import RecordReader
    from .clinical.loading import load_knowledge
    from .clinical.text import text_reader
    from .clinical.vocabulary import Vocabulary
    from .corpus import CorpusError, evaluate, format_report, load_corpus, targets_met

    kb = load_knowledge(default_content_dir())
    vocabulary = Vocabulary(kb)
    reader = RecordReader(vocabulary, text_reader(kb, frozenset(vocabulary.phrases())))
    try:
        items = load_corpus(Path(args.corpus), kb)
    except CorpusError as exc:
        print(f"cds-service: {exc}", file=sys.stderr)
        return 1
    report = evaluate(items, reader, kb)
    print(format_report(report, show_misses=args.misses))
    problems = targets_met(report)
    print()
    print("targets: " + ("met" if not problems else "NOT met: " + "; ".join(problems)))
    return 1 if problems and args.strict else 0


def cmd_inflections(args: argparse.Namespace) -> int:
    from .clinical.inflections import TABLE, table_for, write_table
    from .clinical.loading import load_knowledge
    from .clinical.text import TextReader
    from .clinical.vocabulary import Vocabulary

    kb = load_knowledge(default_content_dir())
    vocabulary = Vocabulary(kb)
    # A new reader, never the process's shared one: only building one asks for the words.
    table = table_for(lambda: TextReader(kb, frozenset(vocabulary.phrases())))
    write_table(table)
    counts = ", ".join(f"{len(words)} {kind}" for kind, words in table.items())
    print(f"{TABLE}: the inflections of {counts} words")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cds-service", description=__doc__)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="serve the CDS Hooks API with gunicorn")
    serve.add_argument("--host", help="bind address (CDS_HOST)")
    serve.add_argument("--port", type=int, help="port (CDS_PORT)")
    serve.add_argument("--workers", type=int, help="worker processes (CDS_WORKERS)")
    serve.set_defaults(func=cmd_serve)

    evaluate = sub.add_parser("evaluate", help="print the response to a hook request file")
    evaluate.add_argument("request", help="a CDS Hooks request as JSON")
    evaluate.add_argument("--service", help="service id (default: the service for its hook)")
    evaluate.set_defaults(func=cmd_evaluate)

    register = sub.add_parser(
        "registration", help="print what an EHR administrator enters to register the service"
    )
    register.add_argument("--json", action="store_true", help="as JSON")
    register.set_defaults(func=cmd_registration)

    gallery = sub.add_parser("gallery", help="write the reviewers' gallery (a static site)")
    gallery.add_argument("directory", help="the folder to write the site to")
    gallery.add_argument("--scenarios", default="fixtures/scenarios", help="the scenarios folder")
    gallery.add_argument(
        "--as-of", default="2026-11-26", help="the day the scenarios' dates are relative to"
    )
    gallery.set_defaults(func=cmd_gallery)

    health = sub.add_parser(
        "healthcheck", help="exit 0 when the local server is alive (the container's HEALTHCHECK)"
    )
    health.add_argument("--path", default="/healthz", help="the endpoint asked (default /healthz)")
    health.add_argument("--timeout", type=float, default=3.0, help="seconds to wait")
    health.set_defaults(func=cmd_healthcheck)

    check = sub.add_parser("check-content", help="validate the knowledge base")
    check.add_argument("directory", nargs="?", help="content folder (default: the packaged cards)")
    check.set_defaults(func=cmd_check_content)

    corpus = sub.add_parser("eval-corpus", help="score text reading on the annotated corpus")
    corpus.add_argument("corpus", nargs="?", default="fixtures/corpus", help="corpus folder")
    corpus.add_argument(
        "--misses", nargs="*", default=["dev", "heldout"], help="halves whose errors are listed"
    )
    corpus.add_argument("--strict", action="store_true", help="exit 1 when a target is not met")
    corpus.set_defaults(func=cmd_eval_corpus)

    inflections = sub.add_parser(
        "inflections", help="write the content's inflections table (after editing cards/)"
    )
    inflections.set_defaults(func=cmd_inflections)

    audit = sub.add_parser(
        "audit-events", help="print the audit trail as a FHIR R4 Bundle of AuditEvents"
    )
    audit.add_argument("--since", help="from this ISO date or time on (UTC unless stated)")
    audit.add_argument("--limit", type=int, default=1000, help="at most this many (default 1000)")
    audit.set_defaults(func=cmd_audit_events)

    report = sub.add_parser(
        "feedback-report", help="how often each card kind was shown, accepted and overridden"
    )
    report.set_defaults(func=cmd_feedback_report)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    raise SystemExit(main())
