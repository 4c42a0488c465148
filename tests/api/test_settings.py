"""Settings read from the environment, with defaults that run the embedded mode."""

from __future__ import annotations

import os
import stat
from concurrent.futures import ThreadPoolExecutor

import pytest

from api.platform.settings import Settings, SettingsError


def test_nothing_set_means_the_embedded_defaults():
    settings = Settings.from_env({})
    assert settings.db.url is None
    assert (settings.http.host, settings.http.port) == ("127.0.0.1", 8000)
    assert settings.log.format == "auto"  # JSON lines, but for a person at a terminal


def test_values_are_read_and_typed():
    settings = Settings.from_env(
        {"DATABASE_URL": "postgresql://db/safecity", "PORT": "9000", "DB_POOL_MAX": "20", "AUTH_OTP_TTL": "120"}
    )
    assert settings.db.url == "postgresql://db/safecity"
    assert settings.http.port == 9000
    assert settings.db.pool_max == 20
    assert settings.auth.otp_ttl_s == 120


def test_empty_values_count_as_unset():
    assert Settings.from_env({"DATABASE_URL": "", "PORT": ""}).http.port == 8000


@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({"PORT": "eighty"}, "HttpSettings"),
        ({"LOG_FORMAT": "xml"}, "LOG_FORMAT"),
        ({"JWT_SECRET": "short"}, "32 bytes"),
    ],
)
def test_a_bad_value_is_named(env, name):
    with pytest.raises(SettingsError, match=name):
        Settings.from_env(env)


def test_without_jwt_secret_one_is_generated_once_and_shared(tmp_path):
    settings = Settings.from_env({"SAFECITY_VAR_DIR": str(tmp_path)})
    with ThreadPoolExecutor(4) as pool:
        secrets = set(pool.map(lambda _: settings.jwt_secret(), range(8)))
    assert len(secrets) == 1
    assert len(secrets.pop()) >= 48
    assert stat.S_IMODE(os.stat(tmp_path / "jwt_secret").st_mode) == 0o600
    given = "a-secret-given-by-the-operator-0123456789"
    assert Settings.from_env({"SAFECITY_VAR_DIR": str(tmp_path), "JWT_SECRET": given}).jwt_secret() == given
