"""Trust: the EHR's JWT, verified as CDS Hooks 2.0 asks. Keys are served by a real local HTTP server."""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import AppFactory, build_app, load_fixture, searchset, with_prefetch

#: Left out of make check: many token cases against key servers.
pytestmark = pytest.mark.slow

BASE = "http://127.0.0.1:8080"
EHR = "https://ehr.example.org"
TENANTED = "https://tenanted.example.org"
SANDBOX = "https://sandbox.cds-hooks.org"
SANDBOX_KID = "44823f3d-0b01-4a6c-a80e-b9d3e8a7226f"
SANDBOX_JKU = "https://sandbox.cds-hooks.org/.well-known/jwks.json"

EC_KEY = ec.generate_private_key(ec.SECP384R1())
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_EC_KEY = ec.generate_private_key(ec.SECP384R1())
SANDBOX_KEY = ec.generate_private_key(ec.SECP384R1())  # stands in for the sandbox's key pair


def jwk(private: Any, kid: str, alg: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        jwt.algorithms.get_default_algorithms()[alg].to_jwk(private.public_key())
    )
    return {**data, "kid": kid, "alg": alg, "use": "sig"}


class KeyServer:
    """A JWKS over HTTP on 127.0.0.1, counting what it is asked."""

    def __init__(self, documents: dict[str, Any]) -> None:
        self.documents = documents
        self.hits: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.hits.append(self.path)
                body = outer.documents.get(self.path)
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(json.dumps(body or {}).encode())

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def ehr_keys() -> KeyServer:
    return KeyServer(
        {"/jwks.json": {"keys": [jwk(EC_KEY, "ec-1", "ES384"), jwk(RSA_KEY, "rsa-1", "RS384")]}}
    )


@pytest.fixture
def keys() -> Iterator[KeyServer]:
    """A key server of the test's own, for tests that count its requests or stop it."""
    server = ehr_keys()
    yield server
    server.stop()


@pytest.fixture
def stranger() -> Iterator[KeyServer]:
    server = KeyServer({"/jwks.json": {"keys": [jwk(OTHER_EC_KEY, "ec-1", "ES384")]}})
    yield server
    server.stop()


def issuers_file(tmp_path: Path, keys: KeyServer, fhir: list[str] | None = None) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "sandbox-jwks.json").write_text(
        json.dumps({"keys": [jwk(SANDBOX_KEY, SANDBOX_KID, "ES384")]})
    )
    config = {
        "issuers": [
            {"iss": EHR, "jwks_url": f"{keys.url}/jwks.json", "fhir_servers": fhir or []},
            {"iss": TENANTED, "jwks_url": f"{keys.url}/jwks.json", "tenants": ["hospital-a"]},
            # Keys exchanged out of band (offline), while its tokens still name its public jku.
            {
                "iss": SANDBOX,
                "jwks_url": SANDBOX_JKU,
                "jwks_file": "sandbox-jwks.json",
                "algorithms": ["ES384"],
            },
        ]
    }
    path = tmp_path / "issuers.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def auth_app(tmp_path: Path, keys: KeyServer, database: str | None = None, **extra: Any) -> Flask:
    return build_app(
        database_url=database or f"sqlite:///{tmp_path / 'auth.sqlite3'}",
        auth_mode=extra.pop("auth_mode", "required"),
        trusted_issuers_file=issuers_file(tmp_path, keys, extra.pop("fhir", None)),
        public_base_url=BASE,
        **extra,
    )


@pytest.fixture
def client(tmp_path: Path, keys: KeyServer) -> FlaskClient:
    return auth_app(tmp_path, keys).test_client()


def default_claims(path: str, **claims: Any) -> dict[str, Any]:
    """The claims an EHR sends to ``path``, with ``claims`` overriding them."""
    now = int(time.time())
    return {
        "iss": EHR,
        "aud": BASE + path,
        "exp": now + 300,
        "iat": now,
        "jti": str(uuid.uuid4()),
        **claims,
    }


def token(
    path: str,
    *,
    key: Any = EC_KEY,
    alg: str = "ES384",
    kid: str = "ec-1",
    iss: str = EHR,
    header: dict[str, Any] | None = None,
    **claims: Any,
) -> str:
    payload = {k: v for k, v in default_claims(path, iss=iss, **claims).items() if v is not None}
    headers = {"typ": "JWT", "kid": kid, **(header or {})}
    return jwt.encode(payload, key, algorithm=alg, headers=headers)


PV = "/cds-services/milia-patient-view"
FEEDBACK = PV + "/feedback"


def hook_body() -> dict[str, Any]:
    return with_prefetch(
        load_fixture("spec-examples/patient-view.json"),
        patient={"resourceType": "Patient", "id": "1288992"},
        conditions=searchset(),
        skinObservations=searchset(),
    )


FEEDBACK_BODY = {
    "feedback": [
        {"card": "c-1", "outcome": "overridden", "outcomeTimestamp": "2026-11-26T10:00:00Z"}
    ]
}


def call(client: FlaskClient, path: str, bearer: str | None) -> Any:
    headers = {"Authorization": f"Bearer {bearer}"} if bearer is not None else {}
    if path == "/cds-services":
        return client.get(path, headers=headers)
    body = FEEDBACK_BODY if path.endswith("/feedback") else hook_body()
    return client.post(path, json=body, headers=headers)


@pytest.mark.parametrize("path", ["/cds-services", PV, FEEDBACK])
@pytest.mark.parametrize(
    "make",
    [
        lambda p: token(p, header={"jku": None}),
        lambda p: token(p, key=RSA_KEY, alg="RS384", kid="rsa-1"),
        # Exactly as the sandbox builds them: ES384, its header (kid, jku) and claims, no sub.
        lambda p: token(
            p, key=SANDBOX_KEY, kid=SANDBOX_KID, iss=SANDBOX, header={"jku": SANDBOX_JKU}
        ),
        # The sandbox's iat can be half a second ahead of our clock.
        lambda p: token(p, iat=time.time() + 0.5),
        lambda p: token(p, aud=BASE + p + "/"),
        lambda p: token(p, aud=["https://other.example.org", BASE + p]),
    ],
    ids=["ES384", "RS384", "sandbox-style", "iat-slightly-ahead", "aud-trailing-slash", "aud-list"],
)
def test_valid_tokens_pass_on_every_endpoint(
    client: FlaskClient, path: str, make: Callable[[str], str]
) -> None:
    response = call(client, path, make(path))
    assert response.status_code == 200, response.get_json()


def hs256_with_public_key(path: str) -> str:
    # The classic confusion attack: the public key used as an HMAC secret.
    public = EC_KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    payload = default_claims(path)
    signing = jwt.algorithms.HMACAlgorithm(jwt.algorithms.HMACAlgorithm.SHA256)
    header = {"alg": "HS256", "typ": "JWT", "kid": "ec-1"}
    segments = [jwt.utils.base64url_encode(json.dumps(x).encode()) for x in (header, payload)]
    signature = signing.sign(b".".join(segments), public)
    return b".".join([*segments, jwt.utils.base64url_encode(signature)]).decode()


def raw_token(path: str, header: dict[str, Any] | None = None, **claims: Any) -> str:
    """An ES384 token signed by the EHR's key, built by hand: PyJWT refuses to encode the wrong
    types an attacker can still send (a list for iss, a number for kid)."""
    payload = default_claims(path, **claims)
    head = {"alg": "ES384", "typ": "JWT", "kid": "ec-1", **(header or {})}
    segments = [jwt.utils.base64url_encode(json.dumps(x).encode()) for x in (head, payload)]
    signing = jwt.algorithms.ECAlgorithm(jwt.algorithms.ECAlgorithm.SHA384)
    signature = signing.sign(b".".join(segments), EC_KEY)
    return b".".join([*segments, jwt.utils.base64url_encode(signature)]).decode()


def alg_none(path: str) -> str:
    payload = default_claims(path)
    return jwt.encode(payload, None, algorithm="none", headers={"kid": "ec-1", "typ": "JWT"})  # type: ignore[arg-type]


NEGATIVE: list[tuple[str, Callable[[str], str | None], str]] = [
    ("no token", lambda p: None, "no bearer token"),
    ("malformed", lambda p: "not.a.jwt", "malformed token"),
    ("alg none", alg_none, "is never accepted"),
    ("HS256 with the public key", hs256_with_public_key, "is never accepted"),
    ("unknown kid", lambda p: token(p, kid="ec-9"), "unknown kid"),
    ("unknown iss", lambda p: token(p, iss="https://evil.example.com"), "unknown issuer"),
    (
        "wrong aud",
        lambda p: token(p, aud="https://other-host.example.org" + p),
        "aud is not the URL called",
    ),
    (
        "aud of another endpoint",
        lambda p: token(p, aud=BASE + "/cds-services/other"),
        "aud is not the URL called",
    ),
    (
        "expired",
        lambda p: token(p, exp=int(time.time()) - 60, iat=int(time.time()) - 400),
        "expired",
    ),
    ("iat far in the future", lambda p: token(p, iat=int(time.time()) + 600), "not yet valid"),
    ("nbf in the future", lambda p: token(p, nbf=int(time.time()) + 600), "not yet valid"),
    ("wrong tenant", lambda p: token(p, iss=TENANTED, tenant="hospital-b"), "tenant not allowed"),
    ("no tenant for a tenanted issuer", lambda p: token(p, iss=TENANTED), "tenant not allowed"),
    ("signed by another key", lambda p: token(p, key=OTHER_EC_KEY), "bad signature"),
    ("no jti", lambda p: token(p, jti=None), "invalid claims"),
    ("typ not JWT", lambda p: token(p, header={"typ": "at+jwt"}), "typ is not JWT"),
    ("no kid", lambda p: jwt.encode({"iss": EHR}, EC_KEY, algorithm="ES384"), "no kid"),
    (
        "RS384 not accepted for the sandbox",
        lambda p: token(p, key=RSA_KEY, alg="RS384", kid="rsa-1", iss=SANDBOX),
        "not accepted for this issuer",
    ),
    (
        "lifetime over an hour",
        lambda p: token(p, exp=int(time.time()) + 7200),
        "longer than an hour",
    ),
    # Claims of the wrong JSON type: refused like any other bad token, never a 500.
    ("exp is text", lambda p: token(p, exp="tomorrow"), ""),
    ("iat is text", lambda p: token(p, iat="now"), ""),
    ("iss is a list", lambda p: raw_token(p, iss=[EHR]), ""),
    ("aud is a number", lambda p: token(p, aud=42), ""),
    ("jti is an object", lambda p: token(p, jti={"a": 1}), ""),
    ("tenant is a list", lambda p: token(p, iss=TENANTED, tenant=["hospital-a"]), ""),
    ("kid is a number", lambda p: raw_token(p, header={"kid": 7}), ""),
    ("exp is huge", lambda p: token(p, exp=10**30), ""),
    # A number written as text: PyJWT takes it, RFC 7519 does not (it was a 500).
    ("exp is a number as text", lambda p: token(p, exp=str(int(time.time()) + 300)), "exp is not"),
    ("iat is a number as text", lambda p: token(p, iat=str(int(time.time()))), "iat is not"),
    ("nbf is a boolean", lambda p: token(p, nbf=True), "nbf is not"),
]


@pytest.mark.parametrize("path", ["/cds-services", PV, FEEDBACK])
@pytest.mark.parametrize(("case", "make", "reason"), NEGATIVE, ids=[n[0] for n in NEGATIVE])
def test_every_bad_token_is_401_with_no_detail(
    client: FlaskClient,
    caplog: pytest.LogCaptureFixture,
    path: str,
    case: str,
    make: Any,
    reason: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    bearer = make(path)
    response = call(client, path, bearer)
    assert response.status_code == 401
    assert response.get_json()["issue"][0]["diagnostics"] == "unauthorized"
    assert response.headers["WWW-Authenticate"] == "Bearer"
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert reason in logged  # the reason is for the operator ...
    if bearer:
        assert bearer not in logged  # ... the token never is
        signature = bearer.split(".")[-1]
        assert not signature or signature not in logged


def test_a_jku_not_allowlisted_is_refused_and_never_fetched(
    client: FlaskClient, stranger: KeyServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    bearer = token(PV, key=OTHER_EC_KEY, header={"jku": f"{stranger.url}/jwks.json"})
    response = call(client, PV, bearer)
    assert response.status_code == 401
    assert stranger.hits == []
    assert "jku not allowlisted" in caplog.text


def test_a_replayed_token_is_refused(client: FlaskClient) -> None:
    bearer = token(PV)
    assert call(client, PV, bearer).status_code == 200
    assert call(client, PV, bearer).status_code == 401


def test_a_token_replayed_to_another_instance_sharing_the_database_is_refused(
    tmp_path: Path, keys: KeyServer
) -> None:
    shared = f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    first = auth_app(tmp_path / "a", keys, database=shared).test_client()
    second = auth_app(tmp_path / "b", keys, database=shared).test_client()
    bearer = token(PV)
    assert call(first, PV, bearer).status_code == 200
    assert call(second, PV, bearer).status_code == 401


def test_cached_keys_keep_working_when_the_jwks_server_is_down(
    client: FlaskClient, keys: KeyServer
) -> None:
    assert call(client, PV, token(PV)).status_code == 200
    fetches = len(keys.hits)
    keys.stop()
    assert call(client, PV, token(PV)).status_code == 200
    assert call(client, PV, token(PV, key=RSA_KEY, alg="RS384", kid="rsa-1")).status_code == 200
    assert fetches == 1


def test_unknown_kids_refresh_the_jwks_at_most_once_per_interval(
    client: FlaskClient, keys: KeyServer
) -> None:
    assert call(client, PV, token(PV)).status_code == 200
    for _ in range(3):
        assert call(client, PV, token(PV, kid="rotated-away")).status_code == 401
    assert len(keys.hits) == 1  # the first fetch; unknown kids within the interval fetch nothing


def test_a_rotated_key_is_found_by_refreshing(tmp_path: Path, keys: KeyServer) -> None:
    client = auth_app(tmp_path, keys, jwks_refresh_interval_s=0).test_client()
    assert call(client, PV, token(PV)).status_code == 200
    keys.documents["/jwks.json"]["keys"].append(jwk(OTHER_EC_KEY, "ec-2", "ES384"))
    assert call(client, PV, token(PV, key=OTHER_EC_KEY, kid="ec-2")).status_code == 200


def test_health_handout_and_preflight_need_no_token(client: FlaskClient) -> None:
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200
    assert client.get("/handouts/milia").status_code == 200
    preflight = client.options(
        PV,
        headers={
            "Origin": "https://sandbox.cds-hooks.org",
            "Access-Control-Request-Method": "POST",
        },
    )
    assert preflight.status_code == 200


def test_development_mode_accepts_calls_without_token_but_not_bad_tokens(
    tmp_path: Path, keys: KeyServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    client = auth_app(tmp_path, keys, auth_mode="development").test_client()
    assert "DEVELOPMENT MODE" in caplog.text
    assert call(client, PV, None).status_code == 200
    assert call(client, PV, token(PV, key=OTHER_EC_KEY)).status_code == 401
    assert call(client, PV, token(PV)).status_code == 200


def test_required_mode_without_any_issuer_refuses_everything(make_app: AppFactory) -> None:
    app = make_app(auth_mode="required")
    response = app.test_client().get("/cds-services")
    assert response.status_code == 401


def test_an_issuer_may_name_its_own_fhir_servers(tmp_path: Path, keys: KeyServer) -> None:
    trusted = "http://127.0.0.1:9/fhir"  # nothing listens there: reaching it proves it was allowed
    client = auth_app(tmp_path, keys, fhir=[trusted]).test_client()
    body = load_fixture("spec-examples/patient-view.json")
    body["fhirServer"] = trusted
    response = client.post(PV, json=body, headers={"Authorization": f"Bearer {token(PV)}"})
    assert response.status_code == 412
    assert "unreachable" in response.get_json()["issue"][0]["diagnostics"]
    body["fhirServer"] = "http://127.0.0.1:9/other"
    response = client.post(PV, json=body, headers={"Authorization": f"Bearer {token(PV)}"})
    assert "not allowed" in response.get_json()["issue"][0]["diagnostics"]


def test_a_key_set_that_is_not_a_json_object_is_401_not_500(
    tmp_path: Path, keys: KeyServer
) -> None:
    keys.documents["/jwks.json"] = [jwk(EC_KEY, "ec-1", "ES384")]  # a list, not a JWK Set
    client = auth_app(tmp_path, keys).test_client()
    assert call(client, PV, token(PV)).status_code == 401
