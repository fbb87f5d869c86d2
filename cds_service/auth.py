"""Trust: verify the EHR's signed JWT on every discovery, hook and feedback call (CDS Hooks 2.0 §5).

Checked, in order: a bearer token; header ``alg`` (an asymmetric algorithm the issuer is configured
for: never ``none`` or HMAC), ``typ`` JWT and ``kid``; the ``iss`` on the trusted-issuers list; a
``jku`` only when allowlisted for that issuer (never fetched otherwise); the signature with the key
named by ``kid``; ``aud`` equal to the URL called (computed from the public base URL, tolerant of a
trailing slash, not of another host); ``exp``, ``iat`` and ``nbf`` with a few seconds of leeway; the
``tenant`` when the issuer has a tenant list; ``jti`` never seen before, in the shared store so that
every worker and host agrees. Any failure is a 401 with no detail; the reason goes to the log, the
token never does.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

import jwt
import requests
import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from .errors import (
    ConfigurationError,
    DatabaseUnavailable,
    Unauthorized,
    describe_validation_error,
)
from .store import Store

log = logging.getLogger(__name__)
T = TypeVar("T")

Algorithm = Literal["ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512"]

DEFAULT_ALGORITHMS: tuple[Algorithm, ...] = ("ES384", "RS384")
SANDBOX_ISSUER = "https://sandbox.cds-hooks.org"
SANDBOX_JWKS = "https://sandbox.cds-hooks.org/.well-known/jwks.json"
#: Tokens living longer than this are refused: their jti would have to be remembered as long.
MAX_TOKEN_LIFETIME_S = 3600


class IssuerConfig(BaseModel):
    """One trusted CDS client (EHR): where its keys come from and what it may do."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    iss: str = Field(min_length=1)
    #: Its JWK Set URL: fetched (with a timeout, cached by kid) and accepted as a ``jku``.
    jwks_url: str | None = None
    #: Further ``jku`` URLs this issuer may name (one URL or a list); any other ``jku`` is refused,
    #: never fetched.
    jku_allowlist: list[str] = Field(default_factory=list)
    #: A URL publishing the ``jku`` URLs this issuer may name (Oracle Health publishes its list):
    #: a JSON list of URLs, or an object holding one. Fetched with the JWKS timeout when a token
    #: names a ``jku`` that is not listed above, at most once per refresh interval.
    jku_list_url: str | None = None
    #: Keys exchanged out of band: a JWKS file, or the JWKS inline.
    jwks_file: Path | None = None
    jwks: dict[str, Any] | None = None
    #: Accepted algorithms: asymmetric only (ES384 and RS384 are the spec's recommendation).
    algorithms: list[Algorithm] = Field(
        default_factory=lambda: list(DEFAULT_ALGORITHMS), min_length=1
    )
    #: When set, the token's ``tenant`` must be one of these.
    tenants: list[str] = Field(default_factory=list)
    #: When set, the token's ``sub`` (the client registered in the EHR: Epic's client id) must be
    #: one of these.
    sub_allowlist: list[str] = Field(default_factory=list)
    #: Silent mode: cards are computed and recorded (metrics, audit, feedback-report) but the
    #: answer is ``{"cards": []}``: for all of this issuer's calls, or for the tenants listed.
    silent: bool = False
    silent_tenants: list[str] = Field(default_factory=list)
    #: FHIR servers this issuer's calls may name as ``fhirServer`` (for the FHIR fallback).
    fhir_servers: list[str] = Field(default_factory=list)

    @field_validator("jku_allowlist", "sub_allowlist", "tenants", "silent_tenants", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    def is_silent(self, tenant: str | None) -> bool:
        return self.silent or (tenant is not None and tenant in self.silent_tenants)

    @model_validator(mode="after")
    def _has_keys(self) -> IssuerConfig:
        if not (
            self.jwks_url or self.jku_allowlist or self.jku_list_url or self.jwks_file or self.jwks
        ):
            raise ValueError(
                f"issuer {self.iss} needs keys: jwks_url, jku_allowlist, jku_list_url, jwks_file "
                "or jwks"
            )
        return self


class TrustConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    issuers: list[IssuerConfig] = Field(default_factory=list)

    def issuer(self, iss: str) -> IssuerConfig | None:
        return next((i for i in self.issuers if i.iss == iss), None)


class TrustConfigError(ConfigurationError):
    """The trusted-issuers file cannot be read or is invalid."""


def load_trust(path: Path | None, development: bool) -> TrustConfig:
    """The trusted issuers file (YAML or JSON); in development mode the sandbox issuer is added."""
    issuers: list[IssuerConfig] = []
    if path is not None:
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
            issuers = list(TrustConfig.model_validate(data or {}).issuers)
        except OSError as exc:
            raise TrustConfigError(
                f"cannot read trusted issuers file {path}: {exc.strerror}"
            ) from None
        except yaml.YAMLError as exc:
            raise TrustConfigError(f"{path}: invalid YAML: {exc}") from None
        except ValidationError as exc:
            raise TrustConfigError(f"{path}: {describe_validation_error(exc)}") from None
        base = path.parent
        issuers = [
            i.model_copy(update={"jwks_file": base / i.jwks_file})
            if i.jwks_file and not i.jwks_file.is_absolute()
            else i
            for i in issuers
        ]
    if development and not any(i.iss == SANDBOX_ISSUER for i in issuers):
        # Its private key is public: a development-mode trust, for trying the service only.
        issuers.append(
            IssuerConfig(iss=SANDBOX_ISSUER, jwks_url=SANDBOX_JWKS, algorithms=["ES384"])
        )
    return TrustConfig(issuers=issuers)


# ----------------------------------------------------------------------------------------- keys


class JwksCache:
    """Public keys by source and kid. Unknown kids trigger a refresh, at most once per interval per
    source; a JWKS server that is down never stalls a request whose key is already cached."""

    def __init__(
        self, session: requests.Session, timeout_s: float, refresh_interval_s: float
    ) -> None:
        self.session = session
        self.timeout_s = timeout_s
        self.refresh_interval_s = refresh_interval_s
        self._keys: dict[tuple[str, str], jwt.PyJWK] = {}
        self._fetched: dict[str, float] = {}
        self._jku_lists: dict[str, frozenset[str]] = {}
        self._lock = threading.Lock()

    def jku_listed(self, list_url: str, jku: str) -> bool:
        """Whether the list published at ``list_url`` names ``jku``; the list is fetched when the
        jku is not in the copy held, at most once per refresh interval."""
        held = self._jku_lists.get(list_url, frozenset())
        if jku in held or not self._due("jku-list:" + list_url):
            return jku in held
        listed = self._fetch(list_url, "jku list", _url_list)
        if listed is not None:
            with self._lock:
                self._jku_lists[list_url] = listed
        return listed is not None and jku in listed

    def add_static(self, source: str, jwks: Mapping[str, Any]) -> None:
        for kid, key in _parse_jwks(jwks).items():
            self._keys[(source, kid)] = key

    def get(self, source: str, kid: str, fetch_url: str | None) -> jwt.PyJWK | None:
        key = self._keys.get((source, kid))
        if key is not None or fetch_url is None or not self._due(source):
            return self._keys.get((source, kid))
        keys = self._fetch(fetch_url, "JWKS", _parse_jwks)
        with self._lock:
            for found_kid, found in (keys or {}).items():
                self._keys[(source, found_kid)] = found
        return self._keys.get((source, kid))

    def _due(self, source: str) -> bool:
        """Whether ``source`` may be fetched now (once per refresh interval); if so, marks it."""
        with self._lock:
            last = self._fetched.get(source, float("-inf"))
            if time.monotonic() - last < self.refresh_interval_s:
                return False
            self._fetched[source] = time.monotonic()
            return True

    def _fetch(self, url: str, what: str, parse: Callable[[Any], T]) -> T | None:
        """GET ``url`` (time-limited, no redirects) and parse its JSON; None, logged, on failure."""
        try:
            response = self.session.get(url, timeout=self.timeout_s, allow_redirects=False)
            response.raise_for_status()
            return parse(response.json())
        except (requests.RequestException, ValueError) as exc:
            log.warning("%s not fetched from %s: %s", what, url, type(exc).__name__)
            return None


def _url_list(document: Any) -> frozenset[str]:
    """The URLs of a published jku list: a JSON list of URLs, or an object with one list of URLs
    as a value (the format is the publisher's)."""
    if isinstance(document, dict):
        lists = [v for v in document.values() if isinstance(v, list)]
        document = lists[0] if len(lists) == 1 else []
    if not isinstance(document, list):
        raise ValueError("not a list of URLs")
    return frozenset(
        u for u in document if isinstance(u, str) and urlsplit(u).scheme in ("https", "http")
    )


def _parse_jwks(jwks: Mapping[str, Any]) -> dict[str, jwt.PyJWK]:
    if not isinstance(jwks, Mapping):
        raise ValueError("a JWK Set is a JSON object")
    keys = {}
    for raw in jwks.get("keys") or ():
        if not isinstance(raw, dict) or not raw.get("kid"):
            continue
        try:
            keys[str(raw["kid"])] = jwt.PyJWK(raw)
        except (jwt.PyJWKError, jwt.InvalidKeyError):
            log.warning("JWKS key %s skipped: not a usable public key", raw.get("kid"))
    return keys


# ---------------------------------------------------------------------------------------- replay


class ReplayGuard:
    """Remembers each token id until the token expires, in the shared store; a worker whose
    database is down keeps them in memory meanwhile (and says so)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._memory: dict[str, float] = {}
        self._lock = threading.Lock()

    def first_use(self, issuer: str, jti: str, expires_at: float) -> bool:
        digest = hashlib.sha256(json.dumps([issuer, jti]).encode()).hexdigest()
        expires = datetime.fromtimestamp(expires_at, UTC)
        try:
            return self.store.remember_token(digest, expires)
        except DatabaseUnavailable:
            log.warning("replay cache in memory: database unavailable")
        with self._lock:
            now = time.time()
            for key in [k for k, until in self._memory.items() if until < now]:
                del self._memory[key]
            if digest in self._memory:
                return False
            self._memory[digest] = expires_at
            return True


# -------------------------------------------------------------------------------- authenticator


@dataclass(frozen=True)
class Caller:
    """Who called: the verified issuer, tenant and client (or anonymous in development mode), and
    whether its cards are withheld (silent mode)."""

    iss: str | None = None
    tenant: str | None = None
    sub: str | None = None
    fhir_servers: tuple[str, ...] = field(default_factory=tuple)
    silent: bool = False


ANONYMOUS = Caller()


class Authenticator:
    def __init__(
        self,
        trust: TrustConfig,
        jwks: JwksCache,
        replay: ReplayGuard,
        base_url: str,
        development: bool = False,
        leeway_s: int = 5,
    ) -> None:
        self.trust = trust
        self.jwks = jwks
        self.replay = replay
        self.base_url = base_url.rstrip("/")
        self.development = development
        self.leeway_s = leeway_s
        for issuer in trust.issuers:
            if issuer.jwks is not None:
                jwks.add_static(f"inline:{issuer.iss}", issuer.jwks)
            if issuer.jwks_file is not None:
                try:
                    jwks.add_static(f"file:{issuer.iss}", json.loads(issuer.jwks_file.read_text()))
                except (OSError, ValueError) as exc:
                    raise TrustConfigError(f"JWKS file of {issuer.iss}: {exc}") from None

    def verify(self, authorization: str | None, path: str) -> Caller:
        """The verified caller of ``path``; :class:`Unauthorized` (reason for the log) otherwise."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            if self.development and not authorization:
                return ANONYMOUS
            raise Unauthorized("no bearer token")
        token = token.strip()
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise Unauthorized("malformed token") from None
        alg, kid, typ = header.get("alg"), header.get("kid"), header.get("typ")
        if not isinstance(alg, str) or alg.lower() == "none" or alg.upper().startswith("HS"):
            raise Unauthorized(f"algorithm {alg!r} is never accepted")
        if not isinstance(typ, str) or typ.upper() != "JWT":
            raise Unauthorized("typ is not JWT")
        if not isinstance(kid, str) or not kid:
            raise Unauthorized("no kid")
        iss = unverified.get("iss")
        issuer = self.trust.issuer(iss) if isinstance(iss, str) else None
        if issuer is None:
            raise Unauthorized("unknown issuer")
        if alg not in issuer.algorithms:
            raise Unauthorized(f"algorithm {alg} not accepted for this issuer")
        key = self._key(issuer, header.get("jku"), kid)
        if key.algorithm_name and key.algorithm_name != alg:
            raise Unauthorized("the key's algorithm does not match the token's")
        try:
            claims = jwt.decode(
                token,
                key=key.key,
                algorithms=[alg],
                issuer=issuer.iss,
                leeway=self.leeway_s,
                options={"require": ["iss", "aud", "exp", "iat", "jti"], "verify_aud": False},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized("expired") from None
        except jwt.ImmatureSignatureError:
            raise Unauthorized("not yet valid (iat or nbf in the future)") from None
        except jwt.InvalidSignatureError:
            raise Unauthorized("bad signature") from None
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"invalid claims ({type(exc).__name__})") from None
        # RFC 7519 NumericDate is a JSON number; PyJWT also takes "1796338140" (a string).
        for name in ("exp", "iat", "nbf"):
            value = claims.get(name)
            if (name in claims and not isinstance(value, int | float)) or isinstance(value, bool):
                raise Unauthorized(f"{name} is not a number")
        self._check_audience(claims.get("aud"), path)
        if claims["exp"] - time.time() > MAX_TOKEN_LIFETIME_S:
            raise Unauthorized("token lives longer than an hour")
        tenant = claims.get("tenant")
        if issuer.tenants and tenant not in issuer.tenants:
            raise Unauthorized("tenant not allowed")
        sub = claims.get("sub")
        if issuer.sub_allowlist and sub not in issuer.sub_allowlist:
            raise Unauthorized("sub not allowed")
        if not isinstance(claims["jti"], str) or not claims["jti"]:
            raise Unauthorized("no jti")
        if not self.replay.first_use(
            issuer.iss, claims["jti"], float(claims["exp"]) + self.leeway_s
        ):
            raise Unauthorized("replayed jti")
        named_tenant = tenant if isinstance(tenant, str) else None
        return Caller(
            iss=issuer.iss,
            tenant=named_tenant,
            sub=sub if isinstance(sub, str) else None,
            fhir_servers=tuple(issuer.fhir_servers),
            silent=issuer.is_silent(named_tenant),
        )

    def _key(self, issuer: IssuerConfig, jku: Any, kid: str) -> jwt.PyJWK:
        # Keys exchanged out of band come first: they work offline, whatever jku the token names.
        sources: list[tuple[str, str | None]] = [
            (f"inline:{issuer.iss}", None),
            (f"file:{issuer.iss}", None),
        ]
        if jku is not None:
            allowed = {*issuer.jku_allowlist, *([issuer.jwks_url] if issuer.jwks_url else [])}
            if not isinstance(jku, str) or not (
                jku in allowed
                or (issuer.jku_list_url and self.jwks.jku_listed(issuer.jku_list_url, jku))
            ):
                raise Unauthorized("jku not allowlisted for this issuer")  # and never fetched
            sources.append((jku, jku))
        elif issuer.jwks_url:
            sources.append((issuer.jwks_url, issuer.jwks_url))
        for source, url in sources:
            key = self.jwks.get(source, kid, url)
            if key is not None:
                return key
        raise Unauthorized("unknown kid")

    def _check_audience(self, aud: Any, path: str) -> None:
        expected = self.base_url + path.rstrip("/")
        audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
        if not any(isinstance(a, str) and a.rstrip("/") == expected for a in audiences):
            raise Unauthorized("aud is not the URL called")
