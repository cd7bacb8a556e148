"""Backups (issue 18): `backup` while serving, `restore` into a fresh data folder, and every
request, field fact, photo and mutation-log row is there again, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import io
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlmodel import Session, func, select

from server import backup as backups
from server.db import make_engine
from server.migrate import upgrade
from server.models import ClientMutation, FieldFact, Photo, SupportRequest
from server.settings import Settings
from tests.api.field_world import build_world, check_in, mutation, note, push, results
from tests.conftest import login

ROOT = Path(__file__).resolve().parents[2]
TABLES = (SupportRequest, FieldFact, Photo, ClientMutation)


def jpeg() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (32, 24), (20, 120, 200)).save(buf, "JPEG", quality=70)
    return buf.getvalue()


def field_day(client, db, settings) -> None:
    """A request, its job, and a phone that checked in, wrote a note and sent a photo."""
    world = build_world(db, settings)
    login(client, "zhang.qiang")
    image = "data:image/jpeg;base64," + base64.b64encode(jpeg()).decode()
    batch = [check_in(world.job.id), note(world.job.id),
             mutation("photo", world.job.id, image=image, caption="接口烧毁")]
    assert [r["status"] for r in results(push(client, batch))] == ["applied"] * 3


def counts(url: str) -> dict[str, int]:
    engine = make_engine(url)
    try:
        with Session(engine) as db:
            return {t.__name__: db.exec(select(func.count()).select_from(t)).one() for t in TABLES}
    finally:
        engine.dispose()


def test_a_sqlite_backup_taken_while_writing_restores_into_a_fresh_folder(
        client, db, settings, tmp_path):
    field_day(client, db, settings)
    before = counts(settings.db_url)
    assert all(before.values()), before

    # A writer keeps committing while the backup runs: the snapshot is consistent anyway.
    stop = threading.Event()

    def keep_writing():
        engine = make_engine(settings.db_url)
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE IF NOT EXISTS churn (n INTEGER)"))
        while not stop.is_set():
            with engine.begin() as conn:
                conn.execute(text("INSERT INTO churn VALUES (1)"))
        engine.dispose()

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        info = backups.backup(settings, tmp_path / "b" / "nightly.tar.gz")
    finally:
        stop.set()
        writer.join()
    assert info.path.exists() and info.kind == "sqlite" and info.revision

    fresh_dir = tmp_path / "fresh"
    fresh = Settings(data_dir=fresh_dir)
    backups.restore(fresh, info.path)
    assert counts(fresh.db_url) == before
    assert (fresh_dir / "secret_key").read_text() == (settings.data_dir / "secret_key").read_text()
    with Session(make_engine(settings.db_url)) as original:
        kept = original.exec(select(Photo)).one().content  # as re-encoded on arrival
    with Session(make_engine(fresh.db_url)) as restored:
        assert restored.exec(select(Photo)).one().content == kept

    # A second restore over data is refused unless forced.
    with pytest.raises(backups.BackupError, match="already holds data"):
        backups.restore(fresh, info.path)
    backups.restore(fresh, info.path, force=True)
    assert counts(fresh.db_url) == before


def test_the_commands_back_up_and_restore(client, db, settings, tmp_path):
    field_day(client, db, settings)
    env = {"FIELDOPS_DATA_DIR": str(settings.data_dir), "FIELDOPS_DATABASE_URL": settings.db_url,
           "PATH": "/usr/bin:/bin"}
    archive = tmp_path / "cli.tar.gz"
    out = subprocess.run([sys.executable, "-m", "server.cli", "backup", "--to", str(archive)],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "backup written" in out.stdout and archive.exists()
    target = {"FIELDOPS_DATA_DIR": str(tmp_path / "other"), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-m", "server.cli", "restore", str(archive)],
                         cwd=ROOT, env=target, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert counts(f"sqlite:///{tmp_path / 'other' / 'fieldops.db'}") == counts(settings.db_url)
    # a broken archive is a readable error, not a traceback
    (tmp_path / "junk.tar.gz").write_bytes(b"not a tar")
    out = subprocess.run([sys.executable, "-m", "server.cli", "restore", str(tmp_path / "junk.tar.gz")],
                         cwd=ROOT, env=target, capture_output=True, text=True, timeout=120)
    assert out.returncode == 1 and "error:" in out.stderr and "Traceback" not in out.stderr


@pytest.mark.postgres
def test_a_postgresql_backup_restores_into_another_database(fresh_pg, tmp_path):
    from litestar.testing import TestClient

    from server.app import create_app

    upgrade(fresh_pg)
    settings = Settings(data_dir=tmp_path / "pg", database_url=fresh_pg, demo_data=False,
                        background_loop=False, push_enabled=False).with_secrets()
    app = create_app(settings)
    engine = make_engine(fresh_pg)
    with TestClient(app=app) as client, Session(engine, expire_on_commit=False) as db:
        client.headers["accept"] = "text/html"
        field_day(client, db, settings)
    engine.dispose()
    before = counts(fresh_pg)
    info = backups.backup(settings, tmp_path / "pg.tar.gz")
    assert info.kind == "postgresql"

    other_name = make_url_name(fresh_pg) + "_restore"
    admin = create_engine(fresh_pg, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{other_name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{other_name}"'))
    admin.dispose()
    other_url = fresh_pg.rsplit("/", 1)[0] + "/" + other_name
    backups.restore(Settings(data_dir=tmp_path / "pg2", database_url=other_url), info.path)
    assert counts(other_url) == before


def make_url_name(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).database
