from __future__ import annotations

from pathlib import Path

import pytest

from cds_service.errors import ConfigurationError
from cds_service.settings import Settings


def test_environment_variables_use_the_cds_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CDS_PORT", "9090")
    monkeypatch.setenv("CDS_CORS_ORIGINS", "https://a.example.org, https://b.example.org")
    monkeypatch.setenv("CDS_PUBLIC_BASE_URL", "https://cds.example.org/")
    settings = Settings()
    assert settings.port == 9090
    assert settings.cors_origins == ["https://a.example.org", "https://b.example.org"]
    assert settings.base_url == "https://cds.example.org"


def test_config_file_is_read_and_environment_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "cds.yaml"
    config.write_text("port: 7000\nworkers: 3\ndatabase_url: sqlite:///from-file.sqlite3\n")
    monkeypatch.setenv("CDS_CONFIG_FILE", str(config))
    monkeypatch.setenv("CDS_WORKERS", "4")
    settings = Settings()
    assert settings.port == 7000
    assert settings.workers == 4
    assert settings.database_url == "sqlite:///from-file.sqlite3"


def test_missing_config_file_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CDS_CONFIG_FILE", "/nonexistent/cds.yaml")
    with pytest.raises(ConfigurationError, match="does not exist"):
        Settings()


def test_unknown_settings_in_the_file_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "cds.json"
    config.write_text('{"prot": 7000}')
    monkeypatch.setenv("CDS_CONFIG_FILE", str(config))
    with pytest.raises(ValueError, match="prot"):
        Settings()
