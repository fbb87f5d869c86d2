"""Two service instances (gunicorn) sharing one PostgreSQL database behind nginx, all real, on
127.0.0.1: what one instance learns, the other knows."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from typing import Any

import pytest
import requests

from tests.conftest import overridden, scenario_request
from tests.issuer import TestIssuer
from tests.postgres import fresh_database, query, sqlalchemy_url
from tests.servers import free_port, nginx, service_instance

#: Left out of make check: needs PostgreSQL, nginx and gunicorn.
pytestmark = pytest.mark.external

PV = "/cds-services/milia-patient-view"
FEEDBACK = PV + "/feedback"
ISSUER = TestIssuer()


class Cluster:
    def __init__(self, balancer: str, instances: list[str], database: str) -> None:
        self.balancer = balancer
        self.instances = instances
        self.database = database

    def token(self, path: str) -> str:
        return ISSUER.token(self.balancer + path)

    def post(
        self, base: str, path: str, body: dict[str, Any], bearer: str | None = None
    ) -> requests.Response:
        headers = {"Authorization": f"Bearer {bearer or self.token(path)}"}
        return requests.post(base + path, json=body, headers=headers, timeout=30)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    directory = tmp_path_factory.mktemp("cluster")
    issuers = ISSUER.issuers_file(directory)
    ports = [free_port(), free_port()]
    # nginx's port is known before the instances start: it is their public base URL (JWT aud).
    nginx_port = free_port()
    with ExitStack() as stack:
        database = stack.enter_context(fresh_database())
        env = {
            "CDS_DATABASE_URL": sqlalchemy_url(database),
            "CDS_SECRET_KEY": "the-cluster-shares-this-secret",
            "CDS_AUTH_MODE": "required",
            "CDS_TRUSTED_ISSUERS_FILE": str(issuers),
            "CDS_PUBLIC_BASE_URL": f"http://127.0.0.1:{nginx_port}",
            "CDS_LOG_LEVEL": "WARNING",
        }
        instances = [stack.enter_context(service_instance(p, env, directory)) for p in ports]
        balancer = stack.enter_context(
            nginx([f"127.0.0.1:{p}" for p in ports], directory, nginx_port)
        )
        yield Cluster(balancer, instances, database)


def test_the_balancer_answers_health_checks_from_both_instances(cluster: Cluster) -> None:
    for base in (cluster.balancer, *cluster.instances):
        assert requests.get(base + "/readyz", timeout=10).json()["status"] == "ready"


def test_feedback_through_one_instance_snoozes_the_card_on_the_other(cluster: Cluster) -> None:
    first, second = cluster.instances
    request = scenario_request("01-coded-milia-adult")
    shown = cluster.post(first, PV, request).json()["cards"]
    assert len(shown) == 1
    # The same card id comes from the other instance: ids are derived from the shared secret.
    assert cluster.post(second, PV, request).json()["cards"][0]["uuid"] == shown[0]["uuid"]
    assert (
        cluster.post(
            first, FEEDBACK, overridden(shown[0]["uuid"], "already-evaluated-by-dermatology")
        ).status_code
        == 200
    )
    assert cluster.post(second, PV, request).json()["cards"] == []
    for _ in range(2):  # and through the balancer, whichever instance answers
        assert cluster.post(cluster.balancer, PV, request).json()["cards"] == []


def test_a_token_replayed_to_the_other_instance_is_rejected(cluster: Cluster) -> None:
    first, second = cluster.instances
    request = scenario_request("02-icd10-milia")
    bearer = cluster.token(PV)
    assert cluster.post(first, PV, request, bearer).status_code == 200
    assert cluster.post(second, PV, request, bearer).status_code == 401


def test_concurrent_feedback_for_one_card_is_stored_once(cluster: Cluster) -> None:
    request = scenario_request("03-text-only-milia")
    card = cluster.post(cluster.balancer, PV, request).json()["cards"][0]["uuid"]
    body = overridden(card, "already-evaluated-by-dermatology")
    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(
            pool.map(
                lambda _: cluster.post(cluster.balancer, FEEDBACK, body).status_code, range(32)
            )
        )
    assert statuses == [200] * 32
    assert query(cluster.database, f"SELECT count(*) FROM feedback WHERE card_uuid = '{card}'") == [
        (1,)
    ]
    assert query(cluster.database, "SELECT count(*) FROM snoozes") >= [(1,)]
