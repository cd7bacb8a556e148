"""Settings come from FIELDOPS_* variables, typed; secrets are made once and kept."""

from pathlib import Path

import pytest

from server.settings import Settings


def test_defaults_follow_domain_md():
    s = Settings.from_env({})
    assert (s.host, s.port, s.time_zone, s.default_locale) == ("127.0.0.1", 8000, "Asia/Shanghai", "zh_CN")
    assert s.sla.handoff_p1_minutes == 10
    assert s.roster.swap_min_days == 5 and s.roster.publish_min_days == 3
    assert s.db_url.startswith("sqlite:///") and s.db_url.endswith("var/fieldops.db")


def test_environment_overrides_are_typed(tmp_path):
    s = Settings.from_env({
        "FIELDOPS_PORT": "9000",
        "FIELDOPS_DATA_DIR": str(tmp_path),
        "FIELDOPS_DEMO_DATA": "0",
        "FIELDOPS_DATABASE_URL": "postgresql+psycopg://u@h/db",
        "FIELDOPS_SLA_WARN_FRACTION": "0.75",
        "FIELDOPS_ROSTER_SWAP_MIN_DAYS": "7",
    })
    assert s.port == 9000 and s.data_dir == Path(tmp_path) and s.demo_data is False
    assert not s.is_sqlite
    assert s.sla.warn_fraction == 0.75 and s.roster.swap_min_days == 7


def test_bad_value_names_the_variable():
    with pytest.raises(ValueError, match="FIELDOPS_PORT"):
        Settings.from_env({"FIELDOPS_PORT": "eighty"})
    with pytest.raises(ValueError, match="FIELDOPS_DEMO_DATA"):
        Settings.from_env({"FIELDOPS_DEMO_DATA": "maybe"})


def test_secrets_are_generated_once_and_kept(tmp_path):
    first = Settings(data_dir=tmp_path).with_secrets()
    second = Settings(data_dir=tmp_path).with_secrets()
    assert len(first.secret_key) == 64
    assert first.secret_key == second.secret_key
    assert first.vapid_public_key == second.vapid_public_key and len(first.vapid_public_key) == 87
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_given_secret_is_used_as_is(tmp_path):
    s = Settings(data_dir=tmp_path, secret_key="ab" * 32).with_secrets()
    assert s.secret_key == "ab" * 32
    assert not (tmp_path / "secret_key").exists()
