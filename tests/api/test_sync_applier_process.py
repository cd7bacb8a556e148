"""The sync inbox applied in a process of its own (``server.sync.applier_process``, issue 18).

- what the server receives is applied there, exactly once, in order; the results reach
  the pushes waiting in the server, and each commit's changes reach the server's live
  board listeners;
- the server's own threads do not apply while it runs; when it dies they apply what is
  left, and it is started again;
- ``serve`` turns it on; the server and it take SQLite's one writer's lock in turn.

On SQLite and, where FIELDOPS_TEST_DATABASE_URL is set, on PostgreSQL (a real second
process each time: the applier process is started with ``spawn``).
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
from sqlmodel import select

from server.actions import changes
from server.models import ClientMutation, Job
from server.sync import applier as sync_applier
from server.sync.applier_process import ApplierProcess
from tests.api import sync_dbs, test_sync_inbox
from tests.api.field_world import assert_each_fact_once, check_in, done, note, push, results
from tests.api.test_sync_inbox import inbox_rows, until_applied

settings, world, phone = sync_dbs.settings, sync_dbs.world, sync_dbs.phone  # both databases
busy = test_sync_inbox.busy  # every push answered at receipt


@pytest.fixture
def app(settings):
    from server.app import create_app

    return create_app(replace(settings, sync_applier_process=True))


@pytest.fixture
def here(monkeypatch) -> list[str]:
    """Names of the server's applier threads that started (none while the process runs)."""
    started: list[str] = []
    real = sync_applier.Applier._work

    def work(self):
        started.append(threading.current_thread().name)
        return real(self)

    monkeypatch.setattr(sync_applier.Applier, "_work", work)
    return started


def child_of(phone) -> ApplierProcess:
    child = phone.app.state.sync_applier_process
    assert child is not None and child.process.is_alive()
    return child


def until(condition, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_what_the_server_receives_is_applied_by_its_applier_process(phone, db, world, busy,
                                                                   here):
    child_of(phone)
    heard: list[changes.Change] = []
    changes.on_commit(heard.extend)
    try:
        jid = world.job.id
        pushes = [[check_in(jid), note(jid)], [done(jid)]]
        for batch in pushes:
            assert [r["status"] for r in results(push(phone, batch))] == ["received"] * len(batch)
        worker = sync_applier.applier(phone.app.state.engine, phone.app.state.settings)
        ids = [m["id"] for batch in pushes for m in batch]
        got = worker.wait("phone-1", ids, 30)  # the results, reported back over the pipe
        assert {i: got[i][1].status for i in ids} == {i: "applied" for i in ids}
        until_applied(db)
    finally:
        changes.remove_listener(heard.extend)
    assert here == []  # the server's own threads never applied
    assert_each_fact_once(db, [m for batch in pushes for m in batch])
    logged = db.exec(select(ClientMutation).order_by(ClientMutation.seq)).all()
    assert [m.mutation_id for m in logged] == ids  # in the order sent
    assert db.get(Job, jid).status == "done"
    assert any(c.entity == "job" and c.entity_id == str(jid) for c in heard)  # the live board
    # the resend is answered from the log, by the server
    again = results(push(phone, pushes[0]))
    assert [(r["status"], r["replayed"]) for r in again] == [("applied", True)] * 2


def test_when_the_applier_process_dies_the_server_applies_and_starts_it_again(phone, db, world,
                                                                             busy, here, caplog):
    caplog.set_level(logging.INFO, logger="server.sync.applier_process")
    first = child_of(phone)
    old = first.process.pid
    first.process.kill()
    worker = sync_applier.applier(phone.app.state.engine, phone.app.state.settings)
    until(lambda: worker._child is None or worker._child.process.pid != old)
    jid = world.job.id
    one = [check_in(jid)]
    assert [r["status"] for r in results(push(phone, one))] == ["received"]
    until_applied(db)  # by the server's threads, or by the new process if it came first
    until(lambda: worker._child is not None and worker._child.process.pid != old
          and worker._child.process.is_alive())
    two = [note(jid)]
    assert [r["status"] for r in results(push(phone, two))] == ["received"]
    until_applied(db)
    assert_each_fact_once(db, one + two)
    assert not inbox_rows(db)
    assert [r.levelno for r in stopped_records(caplog)] == [logging.WARNING]  # killed: say so


def test_serve_turns_the_applier_process_on(monkeypatch, tmp_path):
    import uvicorn

    from server import cli
    from server.settings import Settings

    seen = {}
    monkeypatch.setenv("FIELDOPS_SYNC_APPLIER_PROCESS", "-")  # restored (unset) at the end
    monkeypatch.delenv("FIELDOPS_SYNC_APPLIER_PROCESS")
    monkeypatch.setattr(cli, "migrate", lambda settings: None)
    monkeypatch.setattr(cli, "print_banner", lambda settings: None)
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.setdefault("app", app))
    monkeypatch.setattr("server.app.create_app", lambda s: seen.setdefault("settings", s))
    cli.serve(Settings(data_dir=tmp_path, demo_data=False))
    assert seen["settings"].sync_applier_process is True
    assert os.environ["FIELDOPS_SYNC_APPLIER_PROCESS"] == "1"  # for each --workers process
    monkeypatch.setenv("FIELDOPS_SYNC_APPLIER_PROCESS", "0")
    seen.clear()
    cli.serve(Settings(data_dir=tmp_path, demo_data=False))
    assert seen["settings"].sync_applier_process is False


HOLDER = """
import sys
from server.db import make_engine
from server.sync.writer import one_writer
engine = make_engine(sys.argv[1])
with one_writer(engine):
    print("held", flush=True)
    sys.stdin.readline()
print("released", flush=True)
"""


def test_the_server_and_the_applier_process_take_the_sqlite_writer_lock_in_turn(tmp_path):
    from server.db import make_engine
    from server.sync.writer import one_writer

    url = f"sqlite:///{tmp_path / 'w.db'}"
    root = Path(__file__).resolve().parents[2]
    other = subprocess.Popen([sys.executable, "-c", HOLDER, url], cwd=root, text=True,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert other.stdout.readline().strip() == "held"
        engine = make_engine(url)
        got = threading.Event()

        def take():
            with one_writer(engine):
                got.set()

        taker = threading.Thread(target=take, daemon=True)
        taker.start()
        time.sleep(0.3)  # (not a timed wait: under faketime one need not end when it should)
        assert not got.is_set()  # the other process holds it: we wait
        other.stdin.write("\n")
        other.stdin.flush()
        assert got.wait(30)  # handed on once it is released
        assert other.stdout.readline().strip() == "released"
        engine.dispose()
    finally:
        if other.poll() is None:
            other.send_signal(signal.SIGKILL)
        other.wait(10)


def test_sigterm_stops_the_applier_process_cleanly_and_the_server_starts_it_again(phone, db,
                                                                                 world, busy,
                                                                                 caplog):
    """systemd stops the whole group with SIGTERM: it ends as on the server's "stop" (exit
    code 0, not killed mid-transaction); while the server runs, it is started again. No
    warning: on a group's stop the server's own stop follows at once."""
    caplog.set_level(logging.INFO, logger="server.sync.applier_process")
    first = child_of(phone)
    assert first.ready.wait(60)  # past its start-up (a SIGTERM before it is a plain kill)
    process = first.process
    old = process.pid
    os.kill(old, signal.SIGTERM)
    worker = sync_applier.applier(phone.app.state.engine, phone.app.state.settings)
    until(lambda: worker._child is not None and worker._child.process.pid != old
          and worker._child.process.is_alive())
    assert process.exitcode == 0  # reaped by the server's listener, which logged it
    batch = [check_in(world.job.id)]
    assert [r["status"] for r in results(push(phone, batch))] == ["received"]
    until_applied(db)
    assert_each_fact_once(db, batch)
    assert [r.levelno for r in stopped_records(caplog)] == [logging.INFO]


def stopped_records(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "server.sync.applier_process"
            and r.getMessage().startswith("sync applier process stopped")]


def test_the_applier_process_runs_on_the_servers_clock():
    from datetime import UTC, datetime, timedelta

    from server import clock

    try:
        clock.start_at(datetime(2027, 2, 10, 23, 0, tzinfo=UTC))  # a holiday night
        handed = clock.state()
        clock.reset()
        clock.set_state(handed)  # what the applier process does with what it is given
        assert abs(clock.utcnow() - datetime(2027, 2, 10, 23, 0, tzinfo=UTC)) < timedelta(seconds=5)
        clock.set_state(None)
        assert abs(clock.utcnow() - datetime.now(UTC)) < timedelta(seconds=5)
    finally:
        clock.reset()
