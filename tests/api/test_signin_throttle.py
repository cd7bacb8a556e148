"""The sign-in throttle cannot lock a person out, and counts atomically; an unknown name
costs the same password check as a real one."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlmodel import Session, select

import server.security as security
from server.actions import ActionError
from server.actions.signin import TooManyAttempts, sign_in
from server.db import make_engine, open_session, utcnow
from server.domain.login import Limits
from server.migrate import upgrade
from server.models import LoginAttempt
from tests.conftest import PASSWORD, add_staff

LIMITS = Limits(per_pair=5, per_address=30, window_s=900)
STRANGER, DISPATCHER_HOME = "203.0.113.66", "198.51.100.7"


def attempt(engine, username, password, address, now, limits=LIMITS):
    """One sign-in as its own request (own transaction): 'ok', 'refused' or 'throttled'."""
    with open_session(engine, write=True) as db:
        try:
            sign_in(db, username, password, address, now, limits)
            return "ok"
        except TooManyAttempts:
            return "throttled"
        except ActionError:
            return "refused"


@pytest.fixture
def checks(monkeypatch):
    """Counts the argon2 checks made (the expensive part an attempt costs)."""
    calls = []
    lock = threading.Lock()
    real = security._hasher

    class Counting:
        def verify(self, hash_, password):
            with lock:
                calls.append(hash_)
            return real.verify(hash_, password)

    monkeypatch.setattr(security, "_hasher", Counting())
    return calls


def test_a_stranger_guessing_cannot_lock_out_the_dispatcher(engine, people):
    now = utcnow()
    results = [attempt(engine, "dispatcher", f"guess-{i}", STRANGER, now) for i in range(8)]
    assert results == ["refused"] * 5 + ["throttled"] * 3
    # the stranger's address is stopped even with the right password ...
    assert attempt(engine, "dispatcher", PASSWORD, STRANGER, now) == "throttled"
    # ... but the dispatcher, from their own address, signs in at once
    assert attempt(engine, "dispatcher", PASSWORD, DISPATCHER_HOME, now) == "ok"


def test_the_window_slides(engine, people):
    now = utcnow()
    for i in range(5):
        attempt(engine, "agent", f"guess-{i}", STRANGER, now - timedelta(seconds=880 - i))
    assert attempt(engine, "agent", PASSWORD, STRANGER, now) == "throttled"
    # 30 s later the oldest failures have left the 900 s window
    assert attempt(engine, "agent", PASSWORD, STRANGER, now + timedelta(seconds=30)) == "ok"


def test_one_address_guessing_many_names_is_stopped_too(engine, people):
    now = utcnow()
    limits = Limits(per_pair=5, per_address=10, window_s=900)
    results = [attempt(engine, f"name{i}", "guess", STRANGER, now, limits) for i in range(12)]
    assert results == ["refused"] * 10 + ["throttled"] * 2
    assert attempt(engine, "agent", PASSWORD, DISPATCHER_HOME, now, limits) == "ok"


def test_success_clears_the_pairs_failures(engine, people, db):
    now = utcnow()
    for i in range(4):
        attempt(engine, "agent", f"typo-{i}", DISPATCHER_HOME, now)
    assert attempt(engine, "agent", PASSWORD, DISPATCHER_HOME, now) == "ok"
    assert not db.exec(select(LoginAttempt).where(LoginAttempt.key.like("pair:%"))).all()
    assert [attempt(engine, "agent", "typo", DISPATCHER_HOME, now) for _ in range(5)] == ["refused"] * 5


def test_a_throttled_attempt_checks_no_password(engine, people, checks):
    now = utcnow()
    for i in range(5):
        attempt(engine, "agent", f"guess-{i}", STRANGER, now)
    assert len(checks) == 5
    attempt(engine, "agent", PASSWORD, STRANGER, now)
    assert len(checks) == 5


def test_an_unknown_name_costs_the_same_password_check(engine, people, checks):
    """No username enumeration by timing: the unknown name, a disabled account and an
    absurd name are each checked against an argon2 hash with the same parameters."""
    now = utcnow()
    disabled = people["remote"]
    with Session(engine) as db:
        db.get(type(disabled), disabled.id).active = False
        db.commit()
    for name in ("agent", "nobody-here", "remote", "x" * 100, "nul\x00name"):
        before = len(checks)
        assert attempt(engine, name, "wrong-password-1", DISPATCHER_HOME, now) == "refused"
        assert len(checks) == before + 1, name
    params = {h.split("$")[3] for h in checks}
    assert len(params) == 1  # m=…,t=…,p=… equal for the real and the dummy hash


def test_the_login_page_answers_429_with_retry_after(client, people):
    from tests.conftest import login

    for _ in range(5):
        assert login(client, "agent", "wrong-password").status_code == 401
    r = login(client, "agent")
    assert r.status_code == 429 and 0 < int(r.headers["retry-after"]) <= 900


@pytest.mark.postgres
def test_thirty_parallel_guesses_on_postgresql_only_five_are_checked(fresh_pg, checks):
    upgrade(fresh_pg)
    engine = make_engine(fresh_pg)
    try:
        with Session(engine) as db:
            add_staff(db, "dispatcher", "dispatcher")
        now = utcnow()
        start = threading.Barrier(30)

        def guess(i: int) -> str:
            start.wait()
            return attempt(engine, "dispatcher", f"guess-{i}", STRANGER, now)

        with ThreadPoolExecutor(30) as pool:
            results = list(pool.map(guess, range(30)))
        assert sorted(results).count("refused") == 5
        assert results.count("throttled") == 25
        assert len(checks) == 5
        with Session(engine) as db:
            pair = db.exec(select(LoginAttempt).where(LoginAttempt.key.like("pair:%"))).all()
            assert len(pair) == 5
        # and the dispatcher is not locked out
        assert attempt(engine, "dispatcher", PASSWORD, DISPATCHER_HOME, now) == "ok"
    finally:
        engine.dispose()


def test_thirty_parallel_guesses_on_sqlite_only_five_are_checked(engine, people, checks):
    now = utcnow()
    start = threading.Barrier(30)

    def guess(i: int) -> str:
        start.wait()
        return attempt(engine, "dispatcher", f"guess-{i}", STRANGER, now)

    with ThreadPoolExecutor(30) as pool:
        results = list(pool.map(guess, range(30)))
    assert results.count("refused") == 5 and results.count("throttled") == 25
    assert len(checks) == 5
