"""Backups of everything FieldOps keeps: the database (requests, field facts, photos, the
sync mutation log, rosters...) and the secrets that make a restored server usable (the
session secret and the VAPID keys, so phones' push subscriptions keep working).

A backup is one ``.tar.gz`` archive:

- ``fieldops.db`` (SQLite: made with SQLite's online backup API, a consistent snapshot while
  the server keeps serving and writing) or ``database.dump`` (PostgreSQL: ``pg_dump
  --format=custom``, restored with ``pg_restore``);
- ``secret_key``, ``vapid_private.pem`` (when they live in the data folder);
- ``manifest.json``: when, which database kind, the Alembic revision.

The archive holds secrets and customers' data: keep it where only operators can read it.
"""

from __future__ import annotations

import io
import json
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import make_url

from server.clock import utcnow
from server.settings import Settings

SECRET_FILES = ("secret_key", "vapid_private.pem")


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why, in plain words."""


@dataclass(frozen=True)
class BackupInfo:
    path: Path
    kind: str  # "sqlite" | "postgresql"
    revision: str | None
    created_at: str


def default_path(settings: Settings) -> Path:
    stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
    return settings.data_dir / "backups" / f"fieldops-{stamp}.tar.gz"


def backup(settings: Settings, dest: Path | None = None) -> BackupInfo:
    """Write a backup archive to ``dest`` (default ``<data dir>/backups/fieldops-<UTC>.tar.gz``).

    Safe while the server runs. Raises BackupError if the database cannot be read or
    ``pg_dump`` is missing.
    """
    dest = dest or default_path(settings)
    dest.parent.mkdir(parents=True, exist_ok=True)
    kind = "sqlite" if settings.is_sqlite else "postgresql"
    with tempfile.TemporaryDirectory(prefix="fieldops-backup-") as tmp:
        work = Path(tmp)
        if kind == "sqlite":
            db_name = "fieldops.db"
            _sqlite_snapshot(_sqlite_path(settings.db_url), work / db_name)
            revision = _sqlite_revision(work / db_name)
        else:
            db_name = "database.dump"
            _run(["pg_dump", "--format=custom", "--no-owner", "--file", str(work / db_name),
                  _libpq_url(settings.db_url)])
            revision = _pg_revision(settings.db_url)
        info = BackupInfo(dest, kind, revision, utcnow().isoformat())
        manifest = {"kind": kind, "revision": revision, "created_at": info.created_at,
                    "database": db_name}
        partial = dest.with_name(dest.name + ".partial")
        with tarfile.open(partial, "w:gz") as tar:
            tar.add(work / db_name, arcname=db_name)
            for name in SECRET_FILES:
                if (settings.data_dir / name).exists():
                    tar.add(settings.data_dir / name, arcname=name)
            data = json.dumps(manifest, indent=2).encode()
            entry = tarfile.TarInfo("manifest.json")
            entry.size = len(data)
            tar.addfile(entry, io.BytesIO(data))
        partial.replace(dest)  # a half-written archive never carries the final name
    dest.chmod(0o600)
    return info


def restore(settings: Settings, archive: Path, force: bool = False) -> BackupInfo:
    """Restore ``archive`` into the configured database and data folder.

    Refuses (BackupError) when the target already holds data, unless ``force``; the server
    must not be running on the target while it is restored. Migrations run afterwards, so an
    older backup is brought up to this version.
    """
    if not archive.is_file():
        raise BackupError(f"{archive} is not a backup archive")
    with tempfile.TemporaryDirectory(prefix="fieldops-restore-") as tmp:
        work = Path(tmp)
        try:
            with tarfile.open(archive, "r:gz") as tar:
                tar.extractall(work, filter="data")
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise BackupError(f"{archive} is not a readable backup archive ({exc})") from exc
        try:
            manifest = json.loads((work / "manifest.json").read_text())
        except (OSError, ValueError) as exc:
            raise BackupError(f"{archive} has no readable manifest.json") from exc
        kind = "sqlite" if settings.is_sqlite else "postgresql"
        if manifest.get("kind") != kind:
            raise BackupError(f"this backup is of a {manifest.get('kind')} database; "
                              f"the configured database is {kind}")
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        if kind == "sqlite":
            target = _sqlite_path(settings.db_url)
            if _sqlite_has_data(target) and not force:
                raise BackupError(f"{target} already holds data: restore with --force to replace it")
            target.parent.mkdir(parents=True, exist_ok=True)
            for suffix in ("-wal", "-shm"):
                target.with_name(target.name + suffix).unlink(missing_ok=True)
            shutil.copyfile(work / manifest["database"], target)
        else:
            if _pg_has_data(settings.db_url) and not force:
                raise BackupError("the PostgreSQL database already holds data: "
                                  "restore with --force to replace it")
            _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--exit-on-error",
                  "--dbname", _libpq_url(settings.db_url), str(work / manifest["database"])])
        for name in SECRET_FILES:
            if (work / name).exists():
                shutil.copyfile(work / name, settings.data_dir / name)
                (settings.data_dir / name).chmod(0o600)
    from server.migrate import upgrade

    upgrade(settings.db_url)
    return BackupInfo(archive, kind, manifest.get("revision"), manifest.get("created_at", ""))


# -- SQLite ----------------------------------------------------------------------------


def _sqlite_path(url: str) -> Path:
    return Path(make_url(url).database or "")


def _sqlite_snapshot(source: Path, dest: Path) -> None:
    """SQLite's online backup API: a consistent copy while others read and write."""
    if not source.exists():
        raise BackupError(f"no database at {source}")
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    dst = sqlite3.connect(dest)
    try:
        src.backup(dst, pages=1024)
    finally:
        dst.close()
        src.close()


def _sqlite_revision(path: Path) -> str | None:
    con = sqlite3.connect(path)
    try:
        row = con.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.Error:
        return None
    finally:
        con.close()
    return row[0] if row else None


def _sqlite_has_data(path: Path) -> bool:
    if not path.exists():
        return False
    con = sqlite3.connect(path)
    try:
        return bool(con.execute("SELECT count(*) FROM staff").fetchone()[0])
    except sqlite3.Error:
        return False
    finally:
        con.close()


# -- PostgreSQL ------------------------------------------------------------------------


def _libpq_url(url: str) -> str:
    """``postgresql+psycopg://...`` (SQLAlchemy) → ``postgresql://...`` (pg_dump, psql)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _pg_scalar(url: str, sql: str):
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql)).scalar()
    except Exception:  # noqa: BLE001 - no table yet is "no data"
        return None
    finally:
        engine.dispose()


def _pg_revision(url: str) -> str | None:
    return _pg_scalar(url, "SELECT version_num FROM alembic_version")


def _pg_has_data(url: str) -> bool:
    return bool(_pg_scalar(url, "SELECT count(*) FROM staff"))


def _run(cmd: list[str]) -> None:
    if shutil.which(cmd[0]) is None:
        raise BackupError(f"{cmd[0]} is not installed (Debian: apt-get install postgresql-client)")
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"{cmd[0]} failed: {done.stderr.strip()[-2000:]}")


def describe(info: BackupInfo) -> str:
    size = info.path.stat().st_size if info.path.exists() else 0
    return (f"{info.path} ({info.kind}, revision {info.revision}, {size / 1e6:.1f} MB, "
            f"{datetime.fromisoformat(info.created_at):%Y-%m-%d %H:%M} UTC)")
