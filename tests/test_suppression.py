"""Feedback that acts: stable card ids, snoozes per override reason, accepted suggestions, and a new
red flag that always breaks a snooze. Patients are stored only as keyed hashes."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import update

from cds_service.clinical.loading import default_content_dir, load_knowledge
from cds_service.settings import Settings
from cds_service.store import Store, snoozes_table
from tests.conftest import AppFactory, build_app, overridden, scenario_request

PV = "/cds-services/milia-patient-view"
FEEDBACK = PV + "/feedback"


def cards(client: FlaskClient, request: dict[str, Any]) -> list[dict[str, Any]]:
    response = client.post(PV, json=request)
    assert response.status_code == 200
    result: list[dict[str, Any]] = response.get_json()["cards"]
    return result


def override(client: FlaskClient, card: str, reason: str | None = "patient-declines") -> None:
    assert client.post(FEEDBACK, json=overridden(card, reason)).status_code == 200


def accept(client: FlaskClient, card: str, suggestion: str) -> None:
    entry = {
        "card": card,
        "outcome": "accepted",
        "acceptedSuggestions": [{"id": suggestion}],
        "outcomeTimestamp": "2026-11-26T10:00:00Z",
    }
    assert client.post(FEEDBACK, json={"feedback": [entry]}).status_code == 200


def test_card_ids_are_stable_per_patient_and_kind(client: FlaskClient) -> None:
    request = scenario_request("03-text-only-milia")
    first, again = cards(client, request)[0], cards(client, request)[0]
    assert first["uuid"] == again["uuid"]
    assert first["suggestions"][0]["uuid"] == again["suggestions"][0]["uuid"]
    other = scenario_request("02-icd10-milia")
    assert cards(client, other)[0]["uuid"] != first["uuid"]


def test_an_override_with_a_reason_snoozes_that_card_for_that_patient(client: FlaskClient) -> None:
    request = scenario_request("03-text-only-milia")
    card = cards(client, request)[0]
    override(client, card["uuid"], "already-evaluated-by-dermatology")
    assert cards(client, request) == []
    assert len(cards(client, scenario_request("02-icd10-milia"))) == 1  # another patient


def test_a_dismissal_without_a_reason_quiets_the_card_briefly(
    client: FlaskClient, settings: Settings
) -> None:
    request = scenario_request("03-text-only-milia")
    override(client, cards(client, request)[0]["uuid"], reason=None)
    assert cards(client, request) == []
    store = Store(settings.database_url)
    with store.engine.begin() as conn:
        until = conn.execute(snoozes_table.select()).one().until
    # Briefly: the content's snooze for an unlisted reason (a day), not a listed reason's months.
    days = load_knowledge(default_content_dir()).override_reasons.unlisted_snooze_days
    remaining = until.replace(tzinfo=UTC) - datetime.now(UTC)
    assert timedelta(days=days) - timedelta(minutes=5) < remaining <= timedelta(days=days)


def test_an_accepted_referral_holds_the_card_back_until_a_new_red_flag(client: FlaskClient) -> None:
    request = scenario_request("12-red-flag-bleeding")
    card = cards(client, request)[0]
    referral = next(s for s in card["suggestions"] if s.get("isRecommended"))
    accept(client, card["uuid"], referral["uuid"])
    assert cards(client, request) == []  # the referral is pending

    note = request["prefetch"]["skinObservations"]["entry"][0]["resource"]
    note["valueString"] += " It is now ulcerated."
    again = cards(client, request)
    assert [c["indicator"] for c in again] == ["warning"]
    assert "Ulceration" in again[0]["detail"]


def test_snoozes_expire_on_their_own(client: FlaskClient, settings: Settings) -> None:
    request = scenario_request("03-text-only-milia")
    override(client, cards(client, request)[0]["uuid"], "not-relevant")
    assert cards(client, request) == []
    store = Store(settings.database_url)
    with store.engine.begin() as conn:
        conn.execute(update(snoozes_table).values(until=snoozes_table.c.created_at))
    assert len(cards(client, request)) == 1


def test_feedback_on_an_unknown_card_is_stored_without_effect(client: FlaskClient) -> None:
    override(client, "not-a-card-of-ours")
    assert len(cards(client, scenario_request("03-text-only-milia"))) == 1


def test_no_patient_identifier_is_stored_in_clear(client: FlaskClient, settings: Settings) -> None:
    request = scenario_request("03-text-only-milia")
    override(client, cards(client, request)[0]["uuid"])
    database = Path(settings.database_url.removeprefix("sqlite:///"))
    stored = b"".join(p.read_bytes() for p in database.parent.glob(database.name + "*"))
    assert request["context"]["patientId"].encode() not in stored


def test_feedback_report_counts_per_card_kind_and_version(
    client: FlaskClient, settings: Settings
) -> None:
    request = scenario_request("03-text-only-milia")
    card = cards(client, request)[0]
    cards(client, scenario_request("02-icd10-milia"))
    override(client, card["uuid"], "patient-declines")
    result = subprocess.run(
        [sys.executable, "-m", "cds_service.cli", "feedback-report"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "CDS_DATABASE_URL": settings.database_url},
    )
    assert result.returncode == 0, result.stderr
    line = next(row for row in result.stdout.splitlines() if row.startswith("likely-milia"))
    # version, shown, silent (withheld in silent mode), accepted, overridden
    assert line.split()[1:6] == ["2026.11.0", "2", "0", "0", "1"]
    assert "patient-declines 1" in line


@pytest.mark.parametrize("secret", ["one-secret", "another-secret"])
def test_card_ids_depend_on_the_secret(make_app: AppFactory, secret: str) -> None:
    def card_id(key: str) -> str:
        app = make_app(secret_key=key)
        response = app.test_client().post(PV, json=scenario_request("03-text-only-milia"))
        uuid: str = response.get_json()["cards"][0]["uuid"]
        return uuid

    assert card_id(secret) == card_id(secret)
    assert card_id(secret) != card_id(secret + "!")


def test_a_locked_sqlite_file_does_not_hold_hook_calls(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "locked.sqlite3"
    app = build_app(database_url=f"sqlite:///{path}")
    client = app.test_client()
    request = scenario_request("07-secondary-steroid")
    card = client.post(PV, json=request).get_json()["cards"][0]
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        response = client.post(PV, json=request)
        assert response.status_code == 200 and response.get_json()["cards"]
        feedback = {
            "feedback": [
                {
                    "card": card["uuid"],
                    "outcome": "overridden",
                    "overrideReason": {"userComment": "seen"},
                    "outcomeTimestamp": "2026-11-26T10:00:00Z",
                }
            ]
        }
        assert client.post(PV + "/feedback", json=feedback).status_code == 503
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    # What bounds the wait is the store's budget on every connection (CDS_DATABASE_TIMEOUT_MS).
    with app.extensions["cds"].store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 300
    app.extensions["cds"].store.engine.dispose()


def test_snoozes_hold_while_another_process_writes_to_the_sqlite_file(tmp_path: Path) -> None:
    """A hook call only reads the snoozes (its count is written later, off the call), so a write
    lock held elsewhere, another worker's transaction, neither delays it nor lets a snoozed card
    through."""
    import sqlite3

    path = tmp_path / "busy.sqlite3"
    app = build_app(database_url=f"sqlite:///{path}")
    client = app.test_client()
    request = scenario_request("03-text-only-milia")
    override(client, cards(client, request)[0]["uuid"], "already-evaluated-by-dermatology")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # the file's write lock, as another worker takes it
    try:
        assert cards(client, request) == []
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        app.extensions["cds"].store.engine.dispose()


def test_feedback_to_another_instance_a_moment_after_the_card_snoozes_it(
    make_app: AppFactory, tmp_path: Path
) -> None:
    """Counts of cards shown are written in batches; feedback arriving at another worker or
    instance before the batch is written still finds its card."""
    url = f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    showing, receiving = make_app(database_url=url), make_app(database_url=url)
    request = scenario_request("03-text-only-milia")
    card = cards(showing.test_client(), request)[0]
    override(receiving.test_client(), card["uuid"], "already-evaluated-by-dermatology")
    assert cards(showing.test_client(), request) == []
