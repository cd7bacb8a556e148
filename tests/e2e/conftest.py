"""A real server process on a free loopback port, and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import missing_real_part

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
PHONE = {"width": 390, "height": 844}
TABLET = {"width": 820, "height": 1180}
LAPTOP = {"width": 1366, "height": 820}

pytestmark = pytest.mark.e2e


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """`python -m server.cli serve`, exactly as `make run` starts it."""

    def __init__(self, data_dir: Path, extra_env: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "FIELDOPS_HOST": "127.0.0.1",
            "FIELDOPS_PORT": str(self.port),
            "FIELDOPS_DATA_DIR": str(data_dir),
            "FIELDOPS_DEMO_DATA": "1",
            **(extra_env or {}),
        }
        self.env.pop("FIELDOPS_DATABASE_URL", None)
        self.proc: subprocess.Popen | None = None
        self.log = data_dir / "server.log"

    def start(self, timeout: float = 60) -> LiveServer:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "serve"],
            cwd=ROOT, env=self.env, stdout=self.log.open("ab"), stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("server exited:\n" + self.log.read_text()[-3000:])
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=1) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("server did not start:\n" + self.log.read_text()[-3000:])

    def kill(self) -> None:
        """SIGKILL: no chance to clean up, like a crash."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory) -> Iterator[LiveServer]:
    server = LiveServer(tmp_path_factory.mktemp("live")).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        missing_real_part(f"{CHROMIUM} is not installed (apt-get install chromium): browser test skipped")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def _wait_for_function(page, expression: str, *, arg=None, timeout: float | None = None,
                       polling=None):
    """Playwright's ``wait_for_function`` turns its string into a function inside the page
    (eval), which the app's CSP forbids; this one polls ``page.evaluate`` instead, which runs
    over CDP and is not subject to the page's CSP. Same arguments; answers the truthy value."""
    from playwright.sync_api import Error, TimeoutError

    deadline = time.monotonic() + (15_000 if timeout is None else timeout) / 1000
    while True:
        try:
            value = page.evaluate(expression, arg)
        except Error as exc:  # the page navigated mid-poll: try again on the new one
            if "context was destroyed" not in str(exc) and "navigat" not in str(exc):
                raise
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"wait_for_function timed out: {expression[:120]}")
        page.wait_for_timeout(50)


def _install_csp_safe_waits() -> None:
    from playwright.sync_api import Frame, Page

    Page.wait_for_function = _wait_for_function
    Frame.wait_for_function = _wait_for_function


_install_csp_safe_waits()


def is_csp_violation(text: str) -> bool:
    return "Content Security Policy" in text or "Content-Security-Policy" in text


@pytest.fixture
def new_context(browser):
    """Browser contexts for the test; any Content-Security-Policy violation a page reports
    on the console (an inline script or style, an eval, a foreign source) fails the test."""
    contexts = []
    violations: list[str] = []

    def make(viewport=PHONE, **kw):
        ctx = browser.new_context(viewport=viewport, locale="zh-CN", timezone_id="Asia/Shanghai",
                                  device_scale_factor=1, has_touch=viewport is PHONE, **kw)
        ctx.set_default_timeout(15_000)
        ctx.on("console", lambda msg: violations.append(f"{msg.page.url if msg.page else ''}: {msg.text}")
               if is_csp_violation(msg.text) else None)
        contexts.append(ctx)
        return ctx

    yield make
    for ctx in contexts:
        ctx.close()
    assert not violations, "CSP violations:\n" + "\n".join(violations)


@pytest.fixture
def server(tmp_path):
    """A live server of the test's own, for tests that kill it or read its database."""
    live = LiveServer(tmp_path / "live").start()
    yield live
    live.stop()


def sql(server: LiveServer, query: str, *params) -> list[tuple]:
    con = sqlite3.connect(server.data_dir / "fieldops.db", timeout=30)
    try:
        return con.execute(query, params).fetchall()
    finally:
        con.close()


def sign_in(page, base: str, username: str, password: str = "fieldops-demo") -> None:
    page.goto(base + "/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(base + "/")


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
