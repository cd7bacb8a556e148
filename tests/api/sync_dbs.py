"""The field world of the sync tests, on SQLite and, when FIELDOPS_TEST_DATABASE_URL is
set, on PostgreSQL: ``settings`` (``session_dbs``), ``world`` (``build_world``) and
``phone`` (the world's engineer signed in). A test module takes them by assignment:
``settings, world, phone = sync_dbs.settings, sync_dbs.world, sync_dbs.phone``."""

from __future__ import annotations

import pytest

from tests.api import session_dbs
from tests.api.field_world import World, build_world
from tests.conftest import login

settings = session_dbs.settings


@pytest.fixture
def world(db, settings) -> World:
    return build_world(db, settings)


@pytest.fixture
def phone(client, world):
    login(client, "zhang.qiang")
    return client
