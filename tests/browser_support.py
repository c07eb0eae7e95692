"""Helpers for the browser tests: `duban serve` in a subprocess, the system's Chromium, screenshots.

Playwright's own browser download does not work here, so the tests drive the Chromium of the system's
package manager (Debian's `chromium`, which `make test` installs when missing: tests/system-packages.sh).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import ROOT, copy_database

SCREENSHOTS = ROOT / "var" / "artifacts" / "screenshots"
SKIP_VARIABLE = "DUBAN_SKIP_BROWSER"
MISSING = ("Chromium is missing: the browser tests drive the system's Chromium through Playwright "
           "(`apt-get install chromium fonts-noto-cjk`; `make test` installs both when it may). "
           f"A developer without it may set {SKIP_VARIABLE}=1 to skip these tests.")
# Root in a container has no user namespaces for Chromium's sandbox; /dev/shm may be small there too.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-dev-shm-usage"]


def chromium_executable() -> str:
    """The system's Chromium; a missing one fails the test with what to install, unless a developer opted out."""
    if os.environ.get(SKIP_VARIABLE) == "1":
        pytest.skip(f"{SKIP_VARIABLE}=1: browser tests skipped")
    for candidate in (os.environ.get("DUBAN_CHROMIUM"), "chromium", "chromium-browser"):
        found = candidate and shutil.which(candidate)
        if found:
            return found
    pytest.fail(MISSING, pytrace=False)


def duban_environment() -> dict[str, str]:
    """What `duban` sees when a person runs it in a folder: that folder's defaults, not this environment's."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DUBAN_TIME_ZONE": "Asia/Shanghai"}
    for name in ("DUBAN_DATABASE_URL", "DUBAN_PLAN", "DUBAN_EVIDENCE_DIR", "DUBAN_BASE_URL"):
        env.pop(name, None)
    return env


def add_account(workdir: Path, name: str, password: str, *role: str, as_of: str) -> None:
    """`duban users add NAME --role …`, the password on standard input, as a script would do it."""
    result = subprocess.run([sys.executable, "-m", "workflows.cli", "users", "add", name, *role, "--as-of", as_of],
                            cwd=workdir, env=duban_environment(), input=password + "\n", capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stdout + result.stderr


@dataclass
class Server:
    """One `duban serve` process on 127.0.0.1 and a free port, its output in a log file."""

    url: str
    process: subprocess.Popen
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


def start_server(workdir: Path, *, as_of: str | None, timeout: float = 60, demo: bool = False,
                 args: Sequence[str] = ("--no-scheduler",), env: Mapping[str, str] | None = None) -> Server:
    """`duban serve [--no-scheduler] [--as-of DAY] --port 0 [--demo] [ARGS]` in ``workdir``, with ``env`` added to
    the folder's defaults; returns once the sign-in page answers."""
    log = workdir / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "workflows.cli", "serve", *args, *(["--as-of", as_of] if as_of else []),
             "--host", "127.0.0.1", "--port", "0", *(["--demo"] if demo else [])],
            cwd=workdir, env={**duban_environment(), **(env or {})}, stdin=subprocess.DEVNULL, stdout=out,
            stderr=subprocess.STDOUT)
    server = Server("", process, log)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"duban serve exited with {process.returncode}:\n{server.output()}")
            if not server.url:
                found = re.search(r"Uvicorn running on (http://127\.0\.0\.1:\d+)", server.output())
                server.url = found.group(1) if found else ""
            if server.url and _answers(server.url + "/signin"):
                return server
            time.sleep(0.1)
        raise RuntimeError(f"duban serve did not answer within {timeout:.0f} s:\n{server.output()}")
    except BaseException:
        server.stop()
        raise


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # our own server on 127.0.0.1
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def screenshot(page, name: str, *, full_page: bool = True) -> None:  # a Playwright Page
    """A by-product for people to look at (var/artifacts/screenshots/NAME.png); the tests assert on the page."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)


@contextmanager
def serving(workdir: Path, template: Path, *, as_of: str, accounts: list[tuple[str, ...]],
            args: Sequence[str] = ("--no-scheduler",)) -> Iterator[Server]:
    """`duban serve` in ``workdir`` on a copy of ``template`` (where `duban` looks by default), with the accounts
    (name, password, role arguments…) added by `duban users add`; stopped afterwards, its output checked."""
    (workdir / "var").mkdir()
    copy_database(template, workdir / "var" / "duban.sqlite3")
    for name, password, *role in accounts:
        add_account(workdir, name, password, *role, as_of=as_of)
    server = start_server(workdir, as_of=as_of, args=args)
    try:
        yield server
    finally:
        server.stop()
    assert "Traceback" not in server.output(), server.output()


@contextmanager
def chromium_browser(executable: str):  # a Playwright Browser
    """The system's Chromium, launched through Playwright for a module's tests."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def sign_in(page, name: str, password: str) -> None:  # a Playwright Page, on the sign-in form
    page.fill("#signin-name", name)
    page.fill("#signin-password", password)
    page.click("#signin-submit")
    page.wait_for_url(lambda url: "/signin" not in url)


def open_signed_in(browser, server: Server, name: str, password: str, **options):  # a Page
    """A page in a browser context of its own (a person at their own computer: no cookie shared), signed in."""
    context = browser.new_context(base_url=server.url, locale="zh-CN",
                                  **({"viewport": {"width": 1280, "height": 900}} | options))
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto("/signin")
    sign_in(page, name, password)
    return page
