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

    def issuers_file(self, directory: Path, **extra: Any) -> Path:
        """Write the trusted-issuers file naming this issuer (``extra``: more keys of its entry)."""
        public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(self.key.public_key()))
        entry = {"iss": self.iss, "jwks": {"keys": [{**public, "kid": self.kid, "alg": "ES384"}]}}
        path = directory / "issuers.yaml"
        path.write_text(yaml.safe_dump({"issuers": [{**entry, **extra}]}))
        return path

    def token(self, audience: str, **claims: Any) -> str:
        now = int(time.time())
        payload = {
            "iss": self.iss,
            "aud": audience,
            "exp": now + 300,
            "iat": now,
            "jti": str(uuid.uuid4()),
            **claims,
        }
        return jwt.encode(
            payload, self.key, algorithm="ES384", headers={"kid": self.kid, "typ": "JWT"}
        )
