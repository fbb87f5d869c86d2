"""Durable, shared state through SQLAlchemy: SQLite file by default, PostgreSQL to scale out.

What lives here is what every worker and host must agree on: feedback, the cards shown (so that
feedback maps back to a patient and card kind), snoozes, and the token ids seen (replay guard).
Patients appear only as keyed hashes. The schema is managed by Alembic migrations, run at start-up.
Every write is one transaction, and inserts are idempotent (ON CONFLICT DO NOTHING), so concurrent
and repeated writers store a row exactly once. Snoozes and token ids expire on their own.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Connection,
    DateTime,
    Engine,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    create_engine,
    delete,
    event,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from . import metrics
from .errors import DatabaseUnavailable
from .protocol import FeedbackEntry

log = logging.getLogger(__name__)

metadata = MetaData()

feedback_table = Table(
    "feedback",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    #: SHA-256 of the entry's content: the idempotency key.
    Column("entry_key", String(64), nullable=False, unique=True),
    Column("service_id", String(200), nullable=False),
    Column("card_uuid", String(200), nullable=False, index=True),
    Column("card_kind", String(100), nullable=True),
    Column("content_version", String(50), nullable=True),
    Column("outcome", String(16), nullable=False),
    Column("outcome_timestamp", DateTime(timezone=True), nullable=False),
    Column("accepted_suggestions", JSON, nullable=True),
    Column("override_system", String(500), nullable=True),
    Column("override_code", String(200), nullable=True),
    # The free-text userComment may name the patient: only its presence is kept.
    Column("has_comment", Boolean, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
)

shown_cards_table = Table(
    "shown_cards",
    metadata,
    Column("card_uuid", String(36), primary_key=True),
    Column("patient_key", String(64), nullable=False, index=True),
    Column("card_kind", String(100), nullable=False),
    Column("content_version", String(50), nullable=False),
    Column("red_flags", JSON, nullable=False),
    #: suggestion uuid -> suggestion id (in cards/), so accepted suggestions map back.
    Column("suggestions", JSON, nullable=False),
    Column("first_shown", DateTime(timezone=True), nullable=False),
    Column("last_shown", DateTime(timezone=True), nullable=False),
    Column("times_shown", Integer, nullable=False),
    #: Silent mode: times the card was computed and recorded but withheld from the clinician.
    Column("times_silent", Integer, nullable=False, server_default=text("0")),
)

snoozes_table = Table(
    "snoozes",
    metadata,
    Column("patient_key", String(64), primary_key=True),
    Column("card_kind", String(100), primary_key=True),
    Column("until", DateTime(timezone=True), nullable=False, index=True),
    #: The red flags present when the card was snoozed: a new one breaks the snooze.
    Column("red_flags", JSON, nullable=False),
    Column("reason", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

#: A patient's snoozes in force, read on every hook call that has cards: built once (building a
#: statement costs more than SQLite takes to answer it).
_SNOOZES_IN_FORCE = select(snoozes_table).where(
    (snoozes_table.c.patient_key == bindparam("patient_key"))
    & (snoozes_table.c.until > bindparam("now"))
)

#: Token ids seen (hashed with their issuer), kept until the token expires: the replay guard.
seen_tokens_table = Table(
    "seen_tokens",
    metadata,
    Column("token_key", String(64), primary_key=True),
    Column("expires_at", DateTime(timezone=True), nullable=False, index=True),
)

#: Who called and what was answered, per hook and feedback call: issuer, tenant and client (the
#: token's ``sub``), card kinds and content version. No patient identifier and no text.
audit_table = Table(
    "audit_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("recorded_at", DateTime(timezone=True), nullable=False, index=True),
    #: hook-call or feedback
    Column("action", String(20), nullable=False),
    Column("service_id", String(200), nullable=False),
    Column("hook_instance", String(100), nullable=True),
    Column("issuer", String(500), nullable=True),
    Column("tenant", String(200), nullable=True),
    Column("client", String(200), nullable=True),
    #: The HTTP status answered.
    Column("status", Integer, nullable=False),
    Column("silent", Boolean, nullable=False),
    Column("card_kinds", JSON, nullable=False),
    #: feedback: outcome -> count
    Column("feedback_outcomes", JSON, nullable=False),
    Column("content_version", String(50), nullable=False),
    Column("duration_ms", Float, nullable=False),
)

#: How often a process deletes expired snoozes and token ids (seconds).
_PURGE_INTERVAL_S = 60.0
#: Any PostgreSQL advisory-lock key of this service: serialises concurrent migrations.
_MIGRATION_LOCK = 7240114
#: One migration at a time in the process: Alembic keeps its migration context in module globals.
_ALEMBIC = threading.Lock()


@dataclass(frozen=True)
class ShownCard:
    card_uuid: str
    patient_key: str
    card_kind: str
    content_version: str
    red_flags: tuple[str, ...]
    suggestions: dict[str, str]


@dataclass(frozen=True)
class Showing:
    """A card shown to a clinician (or withheld from one, in silent mode), to be counted."""

    card: ShownCard
    at: datetime
    silent: bool = False


@dataclass(frozen=True)
class Snooze:
    card_kind: str
    until: datetime
    red_flags: tuple[str, ...]
    reason: str


@dataclass(frozen=True)
class AuditRecord:
    """One row of the audit trail (see :data:`audit_table`)."""

    action: str
    service_id: str
    status: int
    content_version: str
    duration_ms: float
    hook_instance: str | None = None
    issuer: str | None = None
    tenant: str | None = None
    client: str | None = None
    silent: bool = False
    card_kinds: tuple[str, ...] = ()
    feedback_outcomes: tuple[tuple[str, int], ...] = ()
    recorded_at: datetime | None = None
    #: The row's number, once stored.
    id: int | None = None


#: Given a new feedback entry and the card it is about (when the service showed it), the snooze
#: that should follow, if any.
SnoozeRule = Callable[[FeedbackEntry, ShownCard], Snooze | None]


def _entry_key(service_id: str, entry: FeedbackEntry) -> str:
    reason = entry.overrideReason.reason if entry.overrideReason else None
    canonical = {
        "service": service_id,
        "card": entry.card,
        "outcome": entry.outcome,
        "at": entry.outcomeTimestamp.isoformat(),
        "accepted": sorted(s.id for s in entry.acceptedSuggestions or ()),
        "reason": [reason.system, reason.code] if reason else None,
    }
    return hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()


def _aware(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything here is UTC.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


#: The execution option of write transactions (BEGIN IMMEDIATE on SQLite).
_IMMEDIATE = "cds_write"


def _sqlite_begin(conn: Connection) -> None:
    conn.exec_driver_sql(
        "BEGIN IMMEDIATE" if conn.get_execution_options().get(_IMMEDIATE) else "BEGIN"
    )


class Store:
    def __init__(self, database_url: str, timeout_ms: int = 300) -> None:
        # A database that does not answer, or a lock held on a table or the file, must not hold a
        # hook call: every connection, lock wait and statement has a budget.
        connect_args: dict[str, Any] = {}
        if database_url.startswith("postgresql"):
            connect_args["connect_timeout"] = max(1, round(timeout_ms / 1000))
            connect_args["options"] = (
                f"-c lock_timeout={timeout_ms} -c statement_timeout={timeout_ms}"
            )
        elif database_url.startswith("sqlite"):
            connect_args["timeout"] = timeout_ms / 1000
        self.timeout_ms = timeout_ms
        # SQLite is a file on this machine: nothing to ping before each use.
        self.engine: Engine = create_engine(
            database_url,
            pool_pre_ping=not database_url.startswith("sqlite"),
            connect_args=connect_args,
        )
        #: On SQLite, the worker's threads take turns to write (see :meth:`_writing`).
        self._write_turn: threading.Lock | None = None
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", self._sqlite_pragmas)
            event.listen(self.engine, "begin", _sqlite_begin)
            self._write_turn = threading.Lock()
        self._writer = self.engine.execution_options(**{_IMMEDIATE: True})
        self._schema_ready = False
        #: One thread at a time tries to reach and migrate the database (see :meth:`ensure_schema`).
        self._schema_attempt = threading.Lock()
        self._last_purge = 0.0
        self._upsert: Any = None

    @property
    def in_memory(self) -> bool:
        """An in-memory SQLite database: it lives on one connection, seen by one thread only."""
        url = self.engine.url
        return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")

    def _sqlite_pragmas(self, dbapi_connection: Any, _record: Any) -> None:
        # WAL lets the gunicorn workers read while one writes; the busy timeout waits out a
        # writer's lock, within the budget.
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # In WAL mode NORMAL never corrupts the file and survives a crash of the service; only a
        # power loss can drop the last commits. It spares an fsync per hook call.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={int(self.timeout_ms)}")
        cursor.close()
        # SQLAlchemy, not the driver, begins transactions (_sqlite_begin says how).
        dbapi_connection.isolation_level = None

    @contextmanager
    def _writing(self) -> Iterator[Connection]:
        """A write transaction within the database budget.

        On SQLite, a writer that finds the file locked sleeps in SQLite's busy handler (1, 2, 5,
        ... 100 ms) before it tries again, so threads of one worker that met on the lock waited
        far longer than the write takes, some past the budget. Here they queue on a lock in
        process, woken as soon as it is free. Each transaction takes the file's write lock as it
        begins (BEGIN IMMEDIATE): the snoozes are read in the transaction that counts the card,
        and a transaction that began by reading could not become a writer once another worker
        had written.
        """
        turn = self._write_turn
        if turn is None:
            with self.engine.begin() as conn:
                yield conn
            return
        if not turn.acquire(timeout=self.timeout_ms / 1000):
            raise PoolTimeout("the worker's other threads held the database for its budget")
        try:
            with self._writer.begin() as conn:
                yield conn
        finally:
            turn.release()

    # ------------------------------------------------------------------------------ schema

    def migrate(self) -> None:
        """Bring the schema to the latest Alembic revision (several instances may start at once)."""
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
        with _ALEMBIC, self.engine.begin() as conn:
            if self.engine.dialect.name == "postgresql":
                # Another instance may be migrating: wait for it, whatever the hook budget.
                conn.execute(text("SET LOCAL lock_timeout = 0"))
                conn.execute(text("SET LOCAL statement_timeout = 0"))
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
            config.attributes["connection"] = conn
            command.upgrade(config, "head")

    def ensure_schema(self) -> bool:
        """Migrate if needed; False (logged) when the database cannot be reached.

        The service starts without its database (hook calls do not need it) and migrates on first
        use once the database is back, so no restart is needed.
        """
        if self._schema_ready:
            return True
        if self._schema_attempt.acquire(blocking=False):
            try:
                if not self._schema_ready:  # a neighbour may have finished as this thread came
                    self.migrate()
                    self._schema_ready = True
            except SQLAlchemyError as exc:
                log.error("database unreachable: %s", type(exc).__name__)
            finally:
                self._schema_attempt.release()
        else:
            # A neighbour thread is trying: its answer is ours. During an outage, the threads
            # that queued behind it would otherwise each wait out a connection timeout in turn.
            with self._schema_attempt:
                pass
        return self._schema_ready

    def _require(self) -> None:
        if not self.ensure_schema():
            raise DatabaseUnavailable("the database is unavailable; retry later")

    def ping(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return self.ensure_schema()
        except SQLAlchemyError:
            return False

    # --------------------------------------------------------------------------- feedback

    def record_feedback(
        self, service_id: str, entries: Sequence[FeedbackEntry], rule: SnoozeRule | None = None
    ) -> int:
        """Store the entries not seen before and the snoozes they call for, in one transaction;
        return how many entries were new. Nothing is half-written: all or nothing."""
        self._require()
        now = datetime.now(UTC)
        try:
            with self._writing() as conn:
                stored = 0
                for key, entry in {_entry_key(service_id, e): e for e in entries}.items():
                    shown = self._shown(conn, entry.card)
                    row = _feedback_row(key, service_id, entry, shown, now)
                    if self._insert_unique(conn, feedback_table, row, "entry_key") != 1:
                        continue
                    stored += 1
                    snooze = rule(entry, shown) if (rule and shown) else None
                    if shown is not None and snooze is not None:
                        self._snooze(conn, shown.patient_key, snooze, now)
                return stored
        except SQLAlchemyError as exc:
            raise _unavailable("feedback", exc) from None

    def _shown(self, conn: Any, card_uuid: str) -> ShownCard | None:
        row = conn.execute(
            select(shown_cards_table).where(shown_cards_table.c.card_uuid == card_uuid)
        ).first()
        if row is None:
            return None
        return ShownCard(
            row.card_uuid,
            row.patient_key,
            row.card_kind,
            row.content_version,
            tuple(row.red_flags),
            dict(row.suggestions),
        )

    def _snooze(self, conn: Any, patient_key: str, snooze: Snooze, now: datetime) -> None:
        key = (snoozes_table.c.patient_key == patient_key) & (
            snoozes_table.c.card_kind == snooze.card_kind
        )
        row = {
            "patient_key": patient_key,
            "card_kind": snooze.card_kind,
            "until": snooze.until,
            "red_flags": list(snooze.red_flags),
            "reason": snooze.reason,
            "created_at": now,
        }
        if self._insert_unique(conn, snoozes_table, row, ["patient_key", "card_kind"]) == 0:
            existing = conn.execute(select(snoozes_table.c.until).where(key)).scalar_one()
            if _aware(existing) < snooze.until:
                conn.execute(update(snoozes_table).where(key).values(**row))

    # -------------------------------------------------------------------- shown and snoozed

    def snoozes(self, patient_key: str) -> dict[str, Snooze]:
        """The patient's snoozes in force, by card kind: a read, which takes no write lock (on
        SQLite in WAL mode readers never wait for a writer). Raises when the database is down."""
        asked = {"patient_key": patient_key, "now": datetime.now(UTC)}
        return {
            r.card_kind: Snooze(r.card_kind, _aware(r.until), tuple(r.red_flags), r.reason)
            for r in self._read("snoozes", _SNOOZES_IN_FORCE, asked)
        }

    def count_shown(self, showings: Sequence[Showing]) -> None:
        """Count cards shown (withheld, in silent mode), a batch in one transaction: one row per
        card, its counters raised by as many showings as the batch holds."""
        self._require()
        rows: dict[str, dict[str, Any]] = {}
        for showing in showings:
            row = _shown_row(showing)
            earlier = rows.get(showing.card.card_uuid)
            if earlier is not None:
                row["first_shown"] = earlier["first_shown"]
                row["times_shown"] += earlier["times_shown"]
                row["times_silent"] += earlier["times_silent"]
            rows[showing.card.card_uuid] = row
        try:
            with self._writing() as conn:
                self._purge(conn)
                conn.execute(self._shown_upsert(), list(rows.values()))
        except SQLAlchemyError as exc:
            raise _unavailable("cards shown", exc) from None

    def unknown_cards(self, card_uuids: Sequence[str]) -> set[str]:
        """The cards of ``card_uuids`` never counted as shown."""
        query = select(shown_cards_table.c.card_uuid).where(
            shown_cards_table.c.card_uuid.in_(set(card_uuids))
        )
        return set(card_uuids) - {r.card_uuid for r in self._read("cards shown", query)}

    def _shown_upsert(self) -> Any:
        """INSERT ... ON CONFLICT DO UPDATE adding a batch's showings to a card's counters (built
        once per store)."""
        if self._upsert is None:
            module = postgresql if self.engine.dialect.name == "postgresql" else sqlite
            statement = module.insert(shown_cards_table)
            shown, silent = shown_cards_table.c.times_shown, shown_cards_table.c.times_silent
            self._upsert = statement.on_conflict_do_update(
                index_elements=["card_uuid"],
                set_={
                    "last_shown": statement.excluded.last_shown,
                    "times_shown": shown + statement.excluded.times_shown,
                    "times_silent": silent + statement.excluded.times_silent,
                    "red_flags": statement.excluded.red_flags,
                    "suggestions": statement.excluded.suggestions,
                },
            )
        return self._upsert

    # ------------------------------------------------------------------------ audit trail

    def record_audits(self, records: Sequence[AuditRecord]) -> None:
        """Append audit rows in one transaction. Raises :class:`DatabaseUnavailable` when it
        cannot."""
        self._require()
        rows = [_audit_row(record) for record in records]
        try:
            with self._writing() as conn:
                conn.execute(insert(audit_table), rows)
        except SQLAlchemyError as exc:
            raise _unavailable("audit", exc) from None

    def audit_records(self, since: datetime | None = None, limit: int = 1000) -> list[AuditRecord]:
        """The audit trail, oldest first, from ``since`` on."""
        query = select(audit_table).order_by(audit_table.c.id).limit(limit)
        if since is not None:
            query = query.where(audit_table.c.recorded_at >= since)
        return [
            AuditRecord(
                action=r.action,
                service_id=r.service_id,
                status=r.status,
                content_version=r.content_version,
                duration_ms=r.duration_ms,
                hook_instance=r.hook_instance,
                issuer=r.issuer,
                tenant=r.tenant,
                client=r.client,
                silent=r.silent,
                card_kinds=tuple(r.card_kinds),
                feedback_outcomes=tuple(sorted(dict(r.feedback_outcomes).items())),
                recorded_at=_aware(r.recorded_at),
                id=r.id,
            )
            for r in self._read("audit", query)
        ]

    # ------------------------------------------------------------------------ token ids

    def remember_token(self, token_key: str, expires_at: datetime) -> bool:
        """Record a token id; False when it was already recorded (a replay). Raises when the
        database cannot be reached, so the caller can decide how to fail."""
        self._require()
        try:
            with self._writing() as conn:
                self._purge(conn)
                row = {"token_key": token_key, "expires_at": expires_at}
                return self._insert_unique(conn, seen_tokens_table, row, "token_key") == 1
        except SQLAlchemyError as exc:
            raise _unavailable("token ids", exc) from None

    # --------------------------------------------------------------------------- helpers

    def _read(
        self, what: str, query: Any, parameters: dict[str, Any] | None = None
    ) -> Sequence[Any]:
        """The rows of a read-only query; raises :class:`DatabaseUnavailable` (naming ``what``)
        when the database cannot answer."""
        self._require()
        try:
            with self.engine.connect() as conn:
                return conn.execute(query, parameters).all()
        except SQLAlchemyError as exc:
            raise _unavailable(what, exc) from None

    def _purge(self, conn: Any) -> None:
        now = time.monotonic()
        if now - self._last_purge < _PURGE_INTERVAL_S:
            return
        self._last_purge = now
        moment = datetime.now(UTC)
        conn.execute(delete(seen_tokens_table).where(seen_tokens_table.c.expires_at < moment))
        conn.execute(delete(snoozes_table).where(snoozes_table.c.until < moment))

    def _insert_unique(
        self, conn: Any, table: Table, row: dict[str, Any], key: str | list[str]
    ) -> int:
        """Insert unless a row with the same key exists; 1 when inserted. Atomic on SQLite and
        PostgreSQL (ON CONFLICT DO NOTHING), so concurrent writers store a row exactly once."""
        keys = [key] if isinstance(key, str) else key
        dialect = self.engine.dialect.name
        if dialect in {"sqlite", "postgresql"}:
            module = sqlite if dialect == "sqlite" else postgresql
            statement = module.insert(table).values(row).on_conflict_do_nothing(index_elements=keys)
            # RETURNING says whether the row went in (rowcount is not reliable across drivers).
            inserted = conn.execute(statement.returning(table.c[keys[0]])).first()
            return 0 if inserted is None else 1
        match = [table.c[k] == row[k] for k in keys]
        if conn.execute(select(table.c[keys[0]]).where(*match)).first():
            return 0
        conn.execute(insert(table).values(row))
        return 1

    def feedback_count(self) -> int:
        try:
            with self.engine.connect() as conn:
                query = select(func.count()).select_from(feedback_table)
                return int(conn.execute(query).scalar_one())
        except SQLAlchemyError as exc:
            raise _unavailable("feedback", exc) from None

    def report_rows(self) -> tuple[list[Any], list[Any]]:
        """(shown and withheld per kind and version, feedback per kind, version, outcome and reason)."""
        self._require()
        try:
            return self._report_rows()
        except SQLAlchemyError as exc:
            raise _unavailable("feedback report", exc) from None

    def _report_rows(self) -> tuple[list[Any], list[Any]]:
        with self.engine.connect() as conn:
            shown = conn.execute(
                select(
                    shown_cards_table.c.card_kind,
                    shown_cards_table.c.content_version,
                    func.sum(shown_cards_table.c.times_shown),
                    func.sum(shown_cards_table.c.times_silent),
                ).group_by(shown_cards_table.c.card_kind, shown_cards_table.c.content_version)
            ).all()
            outcomes = conn.execute(
                select(
                    feedback_table.c.card_kind,
                    feedback_table.c.content_version,
                    feedback_table.c.outcome,
                    feedback_table.c.override_code,
                    func.count(),
                ).group_by(
                    feedback_table.c.card_kind,
                    feedback_table.c.content_version,
                    feedback_table.c.outcome,
                    feedback_table.c.override_code,
                )
            ).all()
        return list(shown), list(outcomes)


def _shown_row(showing: Showing) -> dict[str, Any]:
    card = showing.card
    return {
        "card_uuid": card.card_uuid,
        "patient_key": card.patient_key,
        "card_kind": card.card_kind,
        "content_version": card.content_version,
        "red_flags": list(card.red_flags),
        "suggestions": card.suggestions,
        "first_shown": showing.at,
        "last_shown": showing.at,
        "times_shown": 0 if showing.silent else 1,
        "times_silent": 1 if showing.silent else 0,
    }


def _audit_row(record: AuditRecord) -> dict[str, Any]:
    return {
        "recorded_at": record.recorded_at or datetime.now(UTC),
        "action": record.action,
        "service_id": record.service_id[:200],
        "hook_instance": record.hook_instance,
        "issuer": record.issuer[:500] if record.issuer else None,
        "tenant": record.tenant[:200] if record.tenant else None,
        "client": record.client[:200] if record.client else None,
        "status": record.status,
        "silent": record.silent,
        "card_kinds": list(record.card_kinds),
        "feedback_outcomes": dict(record.feedback_outcomes),
        "content_version": record.content_version,
        "duration_ms": round(record.duration_ms, 1),
    }


def _feedback_row(
    key: str, service_id: str, entry: FeedbackEntry, shown: ShownCard | None, now: datetime
) -> dict[str, Any]:
    override = entry.overrideReason
    reason = override.reason if override else None
    return {
        "entry_key": key,
        "service_id": service_id,
        "card_uuid": entry.card,
        "card_kind": shown.card_kind if shown else None,
        "content_version": shown.content_version if shown else None,
        "outcome": entry.outcome,
        "outcome_timestamp": entry.outcomeTimestamp,
        "accepted_suggestions": [s.id for s in entry.acceptedSuggestions or ()] or None,
        "override_system": reason.system if reason else None,
        "override_code": reason.code if reason else None,
        "has_comment": bool(override and override.userComment),
        "received_at": now,
    }


def _unavailable(what: str, exc: SQLAlchemyError) -> DatabaseUnavailable:
    """The store's one error for "the database did not do it": down, locked past the budget, or
    refusing the statement. Logged by class only (a message may quote the data)."""
    log.error("database error on %s: %s", what, type(exc).__name__)
    metrics.DATABASE_ERRORS.labels(metrics.label_value(what)).inc()
    return DatabaseUnavailable(f"the database could not record {what}; retry later")
