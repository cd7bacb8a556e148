"""Commands: serve, migrate, demo-data, vapid-keys, backup, restore.

``python -m server.cli serve`` is what ``make run`` calls: it migrates, loads the demo
data on first start (never twice), prints the URL and the demo logins, and serves.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace
from pathlib import Path

from server.settings import Settings


def migrate(settings: Settings) -> None:
    from server.migrate import upgrade

    upgrade(settings.db_url)


def demo_data(settings: Settings) -> dict:
    from server.db import make_engine, session_scope, utcnow
    from server.demo import load_demo

    engine = make_engine(settings.db_url)
    with session_scope(engine) as db:
        summary = load_demo(db, utcnow(), settings)
    engine.dispose()
    return summary


def print_banner(settings: Settings) -> None:
    from server.demo import DEMO_LOGINS

    url = f"http://{settings.host}:{settings.port}/"
    print("\n  FieldOps is starting on " + url)
    print("  Database: " + ("SQLite " + settings.db_url[10:] if settings.is_sqlite else "PostgreSQL"))
    if settings.demo_data:
        print("\n  Demo logins (password for all: fieldops-demo):")
        print("    username     role")
        for role, username, _password, label in DEMO_LOGINS:
            print(f"    {username:<12} {role} ({label})")
    print()


def serve(settings: Settings, workers: int = 1) -> None:
    """Migrate, load the demo once, serve. ``workers`` > 1 runs that many processes on one
    port; they need PostgreSQL (live updates cross processes by LISTEN/NOTIFY, background
    work fires once by its unique keys)."""
    import uvicorn

    from server.app import create_app

    if workers > 1 and settings.is_sqlite:
        raise SystemExit("--workers > 1 needs PostgreSQL (FIELDOPS_DATABASE_URL): "
                         "SQLite serves one process")
    if "FIELDOPS_SYNC_APPLIER_PROCESS" not in os.environ:  # on by default when serving
        os.environ["FIELDOPS_SYNC_APPLIER_PROCESS"] = "1"  # (each --workers process reads it)
        settings = replace(settings, sync_applier_process=True)
    migrate(settings)
    if settings.demo_data:
        summary = demo_data(settings)
        if not summary.get("skipped"):
            print("  Demo data loaded: " + ", ".join(f"{k} {v}" for k, v in summary.items()))
    print_banner(settings)
    # Board streams end every 25 s; do not wait for them on Ctrl+C.
    common = dict(host=settings.host, port=settings.port, log_level="warning",
                  timeout_graceful_shutdown=3)
    if workers > 1:
        print(f"  {workers} server processes on one PostgreSQL database\n")
        uvicorn.run("server.app:create_app", factory=True, workers=workers, **common)
    else:
        uvicorn.run(create_app(settings), **common)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fieldops")
    sub = parser.add_subparsers(dest="command", required=True)
    srv = sub.add_parser("serve", help="migrate, load demo data on first start, serve")
    srv.add_argument("--workers", type=int, default=1,
                     help="server processes (more than 1 needs PostgreSQL)")
    sub.add_parser("migrate", help="apply database migrations")
    sub.add_parser("demo-data", help="load the demo data (once)")
    sub.add_parser("vapid-keys", help="make or show the VAPID keys")
    b = sub.add_parser("backup", help="write a backup archive (safe while serving)")
    b.add_argument("--to", type=Path, default=None,
                   help="archive path (default: <data dir>/backups/fieldops-<UTC>.tar.gz)")
    r = sub.add_parser("restore", help="restore a backup archive into the configured database")
    r.add_argument("archive", type=Path)
    r.add_argument("--force", action="store_true", help="replace a database that holds data")
    args = parser.parse_args(argv)
    settings = Settings.from_env().with_secrets()
    if settings.clock_start:
        from server import clock

        clock.start_at(clock.parse_start(settings.clock_start))
    if args.command == "serve":
        serve(settings, args.workers)
    elif args.command == "migrate":
        migrate(settings)
    elif args.command == "demo-data":
        migrate(settings)
        print(demo_data(settings))
    elif args.command == "vapid-keys":
        print("public key:", settings.vapid_public_key)
    elif args.command in ("backup", "restore"):
        from server import backup as backups

        try:
            if args.command == "backup":
                print("backup written:", backups.describe(backups.backup(settings, args.to)))
            else:
                info = backups.restore(settings, args.archive, force=args.force)
                print(f"restored {info.path} ({info.kind}, revision {info.revision})")
        except backups.BackupError as exc:
            print("error:", exc, file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
