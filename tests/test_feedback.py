"""Feedback is validated, stored durably and idempotently, and a down database is a 503."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient

from cds_service.settings import Settings
from cds_service.store import Store
from tests.conftest import AppFactory

FEEDBACK = "/cds-services/milia-patient-view/feedback"

ACCEPTED = {
    "card": "9368d37b-283f-44a0-93ea-547cebab93ed",
    "outcome": "accepted",
    "acceptedSuggestions": [{"id": "e56e1945-20b3-4393-8503-a1a20fd73152"}],
    "outcomeTimestamp": "2020-12-11T00:00:00Z",
}
OVERRIDDEN = {
    "card": "9368d37b-283f-44a0-93ea-547cebab93ed",
    "outcome": "overridden",
    # As the sandbox sends it: a reason coding without display.
    "overrideReason": {"reason": {"code": "already-evaluated", "system": "https://example.org/r"}},
    "outcomeTimestamp": "2020-12-11T00:01:00Z",
}


def post(client: FlaskClient, *entries: dict[str, Any]) -> Any:
    return client.post(FEEDBACK, json={"feedback": list(entries)})


def test_feedback_is_acknowledged_and_stored(client: FlaskClient, settings: Settings) -> None:
    response = post(client, ACCEPTED, OVERRIDDEN)
    assert response.status_code == 200
    assert response.get_json() == {"received": 2, "stored": 2, "duplicates": 0}
    assert Store(settings.database_url).feedback_count() == 2


def test_repeats_are_stored_once(client: FlaskClient, settings: Settings) -> None:
    post(client, ACCEPTED)
    response = post(client, ACCEPTED, ACCEPTED, OVERRIDDEN)
    assert response.get_json() == {"received": 3, "stored": 1, "duplicates": 2}
    assert Store(settings.database_url).feedback_count() == 2


def test_feedback_survives_a_restart(make_app: AppFactory, tmp_path: Path) -> None:
    durable = f"sqlite:///{tmp_path / 'durable.sqlite3'}"
    post(make_app(database_url=durable).test_client(), ACCEPTED)
    again = make_app(database_url=durable).test_client()
    assert post(again, ACCEPTED).get_json() == {"received": 1, "stored": 0, "duplicates": 1}


def test_user_comments_are_not_kept(client: FlaskClient, settings: Settings) -> None:
    entry = {**OVERRIDDEN, "overrideReason": {"userComment": "Jane Doe prefers to wait"}}
    assert post(client, entry).status_code == 200
    # The database file and its write-ahead log, as they are on disk.
    database = Path(settings.database_url.removeprefix("sqlite:///"))
    files = [p for p in database.parent.iterdir() if p.name.startswith(database.name)]
    dump = b"".join(p.read_bytes() for p in files)
    assert b"Jane" not in dump and b"prefers to wait" not in dump
    # The comment's presence is kept, not its text.
    with Store(settings.database_url).engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT has_comment FROM feedback").scalar_one()


def test_invalid_feedback_is_400_naming_the_entry(client: FlaskClient) -> None:
    response = post(client, {**ACCEPTED, "acceptedSuggestions": None})
    assert response.status_code == 400
    assert "feedback.0" in response.get_json()["issue"][0]["diagnostics"]
    response = post(client, {**OVERRIDDEN, "outcomeTimestamp": "12/11/2020"})
    assert "feedback.0.outcomeTimestamp" in response.get_json()["issue"][0]["diagnostics"]
    response = client.post(FEEDBACK, json={"feedback": []})
    assert response.status_code == 400


def test_database_down_is_503_and_readyz_says_so(make_app: AppFactory, tmp_path: Path) -> None:
    # It starts without its database: hook calls do not need it.
    app = make_app(database_url=f"sqlite:///{tmp_path / 'missing-dir' / 'x.sqlite3'}")
    client = app.test_client()
    response = post(client, ACCEPTED)
    assert response.status_code == 503
    assert "retry" in response.get_json()["issue"][0]["diagnostics"]
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.get_json()["database"] == "unreachable"
    # Back up: works without a restart.
    (tmp_path / "missing-dir").mkdir()
    assert post(client, ACCEPTED).status_code == 200
    assert client.get("/readyz").status_code == 200


def test_a_feedback_call_is_a_few_entries_and_short_comments(client: FlaskClient) -> None:
    entry = {
        "card": "c",
        "outcome": "overridden",
        "overrideReason": {"userComment": "seen"},
        "outcomeTimestamp": "2026-11-26T10:00:00Z",
    }
    many = {"feedback": [{**entry, "card": f"card-{i}"} for i in range(101)]}
    response = client.post("/cds-services/milia-patient-view/feedback", json=many)
    assert response.status_code == 400
    assert "feedback" in response.get_json()["issue"][0]["diagnostics"]
    long_comment = {"feedback": [{**entry, "overrideReason": {"userComment": "x" * 5000}}]}
    response = client.post("/cds-services/milia-patient-view/feedback", json=long_comment)
    assert response.status_code == 400


def test_threads_that_first_need_the_database_together_all_find_it_migrated(
    tmp_path: Path,
) -> None:
    # A request and the process's writer threads can each be the first to need the schema (CI saw
    # a feedback call fail with a 500 as the audit writer migrated beside it): Alembic keeps its
    # migration context in one module global, so two upgrades at once break each other.
    for attempt in range(5):
        store = Store(f"sqlite:///{tmp_path / f'fresh-{attempt}.sqlite3'}")
        start = threading.Barrier(6)

        def first_use(store: Store = store, start: threading.Barrier = start) -> bool:
            start.wait()
            return store.ensure_schema()

        with ThreadPoolExecutor(6) as pool:
            results = list(pool.map(lambda _: first_use(), range(6)))
        assert results == [True] * 6
        assert store.feedback_count() == 0
        store.engine.dispose()
