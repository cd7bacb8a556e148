"""A ``settings`` fixture on SQLite and, when FIELDOPS_TEST_DATABASE_URL is set, on
PostgreSQL: a test module that imports it runs every test on both databases (the
session and sign-in tests: the session row and its person are read in one query whose
join must mean the same on both)."""

from __future__ import annotations

import shutil

import pytest

from server.settings import Settings


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def settings(request, tmp_path, migrated_template) -> Settings:
    if request.param == "sqlite":
        db_file = tmp_path / "fieldops.db"
        shutil.copy(migrated_template, db_file)
        url = f"sqlite:///{db_file}"
    else:
        from server.migrate import upgrade

        url = request.getfixturevalue("fresh_pg")
        upgrade(url)
    return Settings(data_dir=tmp_path, database_url=url, demo_data=False,
                    background_loop=False, push_enabled=False).with_secrets()
