"""One Settings object: environment variables prefixed ``CDS_``, then an optional YAML/JSON file.

Precedence, highest first: values passed in code, environment variables, the file named by
``CDS_CONFIG_FILE``, the defaults below. The README lists every setting.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from .errors import ConfigurationError


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CDS_", extra="forbid", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    workers: int = Field(default=2, ge=1, le=64)
    #: Threads per worker: connections served at once by each worker (a slow client waits on a
    #: thread, not on the worker). Two: the hook work is CPU-bound, and more threads cost
    #: throughput and a longer tail (bench/README.md, "Issue 17"); raise it when no proxy that
    #: buffers requests stands in front.
    threads: int = Field(default=2, ge=1, le=256)
    #: A request (head and body) must arrive within this time (ms), or the connection is closed.
    request_read_timeout_ms: int = Field(default=5_000, ge=100)
    #: The URL EHRs call, e.g. https://cds.example.org; JWT ``aud`` and links are built from it.
    public_base_url: str | None = None
    database_url: str = "sqlite:///cds-service.sqlite3"
    #: Origins allowed by CORS; ``*`` allows any (no credentials are used, so this is safe).
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["*"])
    #: Largest request body accepted, in bytes (a 2,000-Observation prefetch is about 2.5 MB).
    body_limit_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    #: How long one database statement, lock wait or connection may take (ms): a locked or slow
    #: database must not hold a hook call (cards are then shown with snoozes unknown).
    database_timeout_ms: int = Field(default=300, ge=10, le=60_000)
    #: Folder of the knowledge base; the content shipped with the package when unset.
    content_dir: Path | None = None
    log_level: str = "INFO"
    #: text (for people) or json (one object per line, for a log pipeline).
    log_format: Literal["text", "json"] = "text"
    #: Key of the patient hashes and card ids; shared by every instance. Unset: a random one per
    #: start, so card ids and snoozes do not survive a restart (fine for a trial, not production).
    secret_key: SecretStr | None = None
    #: required: every CDS call needs a valid JWT from a trusted issuer. development: calls without
    #: a token are accepted (tokens that are sent are still verified) - for local trials only.
    auth_mode: Literal["required", "development"] = "required"
    #: YAML/JSON file of trusted issuers (see the README); none means no issuer is trusted.
    trusted_issuers_file: Path | None = None
    #: Clock leeway for exp, iat and nbf (the sandbox's iat can be 0.5 s in the future).
    jwt_leeway_s: int = Field(default=5, ge=0, le=60)
    jwks_timeout_ms: int = Field(default=2000, ge=10)
    #: An unknown kid refreshes an issuer's JWKS at most this often.
    jwks_refresh_interval_s: int = Field(default=60, ge=0)
    #: FHIR servers the service may query when prefetch is missing: URL prefixes, comma-separated.
    #: Empty (the default) means never: a request naming another server is answered 412.
    fhir_server_allowlist: Annotated[list[str], NoDecode] = Field(default_factory=list)
    #: Time limit of one request to the FHIR server, and of all fetching for one hook call (ms).
    fhir_request_timeout_ms: int = Field(default=300, ge=10)
    fhir_hook_budget_ms: int = Field(default=400, ge=10)
    #: Caps per prefetch key: pages followed, resources kept, bytes read.
    fhir_max_pages: int = Field(default=10, ge=1)
    fhir_max_resources: int = Field(default=2000, ge=1)
    fhir_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    #: Parallel fetches for one hook call.
    fhir_concurrency: int = Field(default=6, ge=1, le=32)

    #: Free text read per note and per request (characters), and the processor time reading may
    #: take per request (ms). Text beyond is not read, and the card says so.
    text_max_chars_per_note: int = Field(default=20_000, ge=1000)
    text_max_chars_per_request: int = Field(default=150_000, ge=1000)
    text_cpu_budget_ms: int = Field(default=1500, ge=50)

    @field_validator("cors_origins", "fhir_server_allowlist", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @property
    def base_url(self) -> str:
        return (self.public_base_url or f"http://{self.host}:{self.port}").rstrip("/")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = os.environ.get("CDS_CONFIG_FILE")
        if config_file:
            if not Path(config_file).is_file():
                raise ConfigurationError(
                    f"CDS_CONFIG_FILE names a file that does not exist: {config_file}"
                )
            sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=config_file))
        return tuple(sources)
