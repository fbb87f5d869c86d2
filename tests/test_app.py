"""Wiring (cds_service/app.py): create_app registers each part once, under its own key, and the
pipeline uses those same parts; the Blueprints decide what needs a token."""

from __future__ import annotations

from cds_service.app import create_app
from cds_service.settings import Settings
from tests.conftest import AppFactory


def test_each_part_is_registered_once_and_the_pipeline_uses_it(make_app: AppFactory) -> None:
    app = make_app()
    parts = app.extensions
    runtime = parts["cds"]
    assert runtime.knowledge is parts["cds.knowledge"]
    assert runtime.store is parts["cds.store"]
    assert runtime.auth is parts["cds.auth"]
    assert runtime.fetcher is parts["cds.fallback"]
    assert isinstance(parts["cds.settings"], Settings)
    assert "Milia" in parts["cds.guidance"]
    assert parts["cds.handouts"], "the handout pages are built at start-up"


def test_only_the_cds_blueprint_asks_for_a_token(make_app: AppFactory) -> None:
    client = make_app(auth_mode="required").test_client()
    assert client.get("/cds-services").status_code == 401
    assert client.post("/cds-services/milia-patient-view", json={}).status_code == 401
    for page in ("/healthz", "/guidance/milia", "/handouts/milia", "/metrics"):
        assert client.get(page).status_code == 200, page


def test_without_a_secret_card_ids_do_not_survive_a_restart() -> None:
    # Each start draws its own key: two apps give the same patient's card different ids.
    ids = [
        create_app(Settings(database_url="sqlite://"))
        .extensions["cds"]
        .card_ids.for_patient(None, None, "p1")
        .card("likely-milia")
        for _ in range(2)
    ]
    assert ids[0] != ids[1]
