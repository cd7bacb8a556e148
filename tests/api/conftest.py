"""Fixtures of the api layer beyond tests/conftest.py."""

from tests.api.both_dbs import any_db_app, any_db_client  # noqa: F401 - fixtures
