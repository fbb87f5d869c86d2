"""Durable state through SQLAlchemy: SQLite file by default, any database URL in settings.

Feedback is written in one transaction per request, and each entry has a content key so a client that
repeats an entry (the spec allows it) stores it once.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    delete,
    event,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from .errors import ServiceUnavailable
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
    Column("outcome", String(16), nullable=False),
    Column("outcome_timestamp", DateTime(timezone=True), nullable=False),
    Column("accepted_suggestions", JSON, nullable=True),
    Column("override_system", String(500), nullable=True),
    Column("override_code", String(200), nullable=True),
    # The free-text userComment may name the patient: only its presence is kept.
    Column("has_comment", Boolean, nullable=False, default=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
)


#: Token ids seen (hashed with their issuer), kept until the token expires: the replay guard.
seen_tokens_table = Table(
    "seen_tokens",
    metadata,
    Column("token_key", String(64), primary_key=True),
    Column("expires_at", DateTime(timezone=True), nullable=False, index=True),
)

#: How often a process deletes expired token ids (seconds).
_PURGE_INTERVAL_S = 60.0


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


def _row(service_id: str, entry: FeedbackEntry, now: datetime) -> dict[str, Any]:
    override = entry.overrideReason
    reason = override.reason if override else None
    return {
        "entry_key": _entry_key(service_id, entry),
        "service_id": service_id,
        "card_uuid": entry.card,
        "outcome": entry.outcome,
        "outcome_timestamp": entry.outcomeTimestamp,
        "accepted_suggestions": [s.id for s in entry.acceptedSuggestions or ()] or None,
        "override_system": reason.system if reason else None,
        "override_code": reason.code if reason else None,
        "has_comment": bool(override and override.userComment),
        "received_at": now,
    }


class Store:
    def __init__(self, database_url: str) -> None:
        self.engine: Engine = create_engine(database_url, pool_pre_ping=True)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._schema_ready = False
        self._last_purge = 0.0

    def ensure_schema(self) -> bool:
        """Create the tables if needed; False (logged) when the database cannot be reached.

        The service starts without its database (hook calls do not need it) and creates the schema
        on first use once the database is back, so no restart is needed.
        """
        if not self._schema_ready:
            try:
                metadata.create_all(self.engine)
                self._schema_ready = True
            except SQLAlchemyError as exc:
                log.error("database unreachable: %s", type(exc).__name__)
        return self._schema_ready

    def ping(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except SQLAlchemyError:
            return False

    def record_feedback(self, service_id: str, entries: Sequence[FeedbackEntry]) -> int:
        """Store the entries not seen before, all in one transaction; return how many were new."""
        now = datetime.now(UTC)
        rows = {row["entry_key"]: row for row in (_row(service_id, e, now) for e in entries)}
        if not self.ensure_schema():
            raise ServiceUnavailable("feedback could not be stored; retry later")
        try:
            with self.engine.begin() as conn:
                return sum(self._insert_new(conn, row) for row in rows.values())
        except SQLAlchemyError as exc:
            log.error("feedback not stored: database error %s", type(exc).__name__)
            raise ServiceUnavailable("feedback could not be stored; retry later") from None

    def _insert_new(self, conn: Any, row: dict[str, Any]) -> int:
        return self._insert_unique(conn, feedback_table, row, "entry_key")

    def _insert_unique(self, conn: Any, table: Table, row: dict[str, Any], key: str) -> int:
        """Insert unless a row with the same ``key`` exists; 1 when inserted. Atomic on SQLite and
        PostgreSQL (ON CONFLICT DO NOTHING), so concurrent writers store a row exactly once."""
        dialect = self.engine.dialect.name
        if dialect in {"sqlite", "postgresql"}:
            module = sqlite if dialect == "sqlite" else postgresql
            statement = module.insert(table).values(row)
            result = conn.execute(statement.on_conflict_do_nothing(index_elements=[key]))
            return int(result.rowcount or 0)
        if conn.execute(select(table.c[key]).where(table.c[key] == row[key])).first():
            return 0
        conn.execute(insert(table).values(row))
        return 1

    def remember_token(self, token_key: str, expires_at: datetime) -> bool:
        """Record a token id; False when it was already recorded (a replay). Raises when the
        database cannot be reached, so the caller can decide how to fail."""
        if not self.ensure_schema():
            raise ServiceUnavailable("database unreachable")
        now = time.monotonic()
        with self.engine.begin() as conn:
            if now - self._last_purge > _PURGE_INTERVAL_S:
                self._last_purge = now
                conn.execute(
                    delete(seen_tokens_table).where(
                        seen_tokens_table.c.expires_at < datetime.now(UTC)
                    )
                )
            row = {"token_key": token_key, "expires_at": expires_at}
            return self._insert_unique(conn, seen_tokens_table, row, "token_key") == 1

    def feedback_count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(feedback_table)).scalar_one())


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the gunicorn workers read while one writes; the timeout waits out a writer's lock.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()
