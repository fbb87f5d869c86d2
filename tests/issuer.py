"""A trusted EHR issuer for tests that run the service as a separate process: its key pair, the
trusted-issuers file naming it, and the bearer tokens it signs."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
import yaml
from cryptography.hazmat.primitives.asymmetric import ec


class TestIssuer:
    __test__ = False  # not a test class, whatever pytest's name rules say

    def __init__(self, iss: str = "https://ehr.example.org", kid: str = "k1") -> None:
        self.iss = iss
        self.kid = kid
        self.key = ec.generate_private_key(ec.SECP384R1())

    def entry(self, **extra: Any) -> dict[str, Any]:
        """This issuer's entry in a trusted-issuers file (``extra``: more keys of it)."""
        public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(self.key.public_key()))
        keys = {"keys": [{**public, "kid": self.kid, "alg": "ES384"}]}
        return {"iss": self.iss, "jwks": keys, **extra}

    def issuers_file(self, directory: Path, **extra: Any) -> Path:
        """Write the trusted-issuers file naming this issuer alone."""
        return write_issuers(directory, self.entry(**extra))

    def token(self, audience: str, jku: str | None = None, **claims: Any) -> str:
        """A signed token for ``audience``; ``jku`` goes in the header, as some EHRs send it."""
        now = int(time.time())
        payload = {
            "iss": self.iss,
            "aud": audience,
            "exp": now + 300,
            "iat": now,
            "jti": str(uuid.uuid4()),
            **claims,
        }
        header = {"kid": self.kid, "typ": "JWT", **({"jku": jku} if jku else {})}
        return jwt.encode(payload, self.key, algorithm="ES384", headers=header)


def write_issuers(directory: Path, *entries: dict[str, Any]) -> Path:
    path = directory / "issuers.yaml"
    path.write_text(yaml.safe_dump({"issuers": list(entries)}))
    return path
