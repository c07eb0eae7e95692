"""`duban serve` behind a reverse proxy: X-Forwarded-For and X-Forwarded-Proto are believed only from the addresses
given in --forwarded-allow-ips, so a client cannot pose as another address to dodge the sign-in throttle, and the
cookie is Secure when the proxy says the client came over HTTPS. Sign-ins, good and bad, are in the audit trail."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

from sqlalchemy import select

from responsibilities.storage.model import AuditRecord

from browser_support import serving
from conftest import SqliteDatabase

PASSWORD = "a long enough password"
ACCOUNT = ("clerk", PASSWORD, "--role", "office")


def post_session(url: str, name: str, password: str, **headers: str) -> tuple[int, dict[str, str]]:
    request = urllib.request.Request(f"{url}/api/session", method="POST",
                                     data=json.dumps({"name": name, "password": password}).encode(),
                                     headers={"content-type": "application/json", **headers})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # our server on 127.0.0.1
            return response.status, dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers)


def five_failures_from_rotating_addresses(url: str) -> None:
    for n in range(5):
        status, _ = post_session(url, f"someone-{n}", "wrong password", **{"X-Forwarded-For": f"203.0.113.{n}"})
        assert status == 401


def sign_ins(workdir: Path) -> list[tuple[str, str, str]]:
    database = SqliteDatabase(workdir / "var" / "duban.sqlite3")
    try:
        with database.session_factory() as session:
            return [(a.actor, a.action, a.note) for a in session.scalars(
                select(AuditRecord).where(AuditRecord.action.like("sign-in%")).order_by(AuditRecord.id))]
    finally:
        database.close()


def test_a_spoofed_x_forwarded_for_from_an_untrusted_peer_is_ignored_and_the_real_address_is_throttled(
        tmp_path, loaded_template):
    with serving(tmp_path, loaded_template, as_of="2019-10-28", accounts=[ACCOUNT]) as server:
        five_failures_from_rotating_addresses(server.url)
        status, _ = post_session(server.url, "clerk", PASSWORD, **{"X-Forwarded-For": "198.51.100.7"})
    assert status == 429  # five failures from 127.0.0.1, whatever the header said
    assert {note for _, action, note in sign_ins(tmp_path) if action == "sign-in.failed"} == {
        "来自 127.0.0.1:没有此用户"}


def test_behind_a_trusted_proxy_each_client_address_is_counted_on_its_own_and_recorded(tmp_path, loaded_template):
    with serving(tmp_path, loaded_template, as_of="2019-10-28", accounts=[ACCOUNT],
                 args=("--no-scheduler", "--forwarded-allow-ips", "127.0.0.1")) as server:
        five_failures_from_rotating_addresses(server.url)
        status, _ = post_session(server.url, "clerk", PASSWORD, **{"X-Forwarded-For": "198.51.100.7"})
    assert status == 200
    records = sign_ins(tmp_path)
    assert records[-1] == ("clerk", "sign-in", "来自 198.51.100.7")
    assert [note for _, action, note in records if action == "sign-in.failed"] == [
        f"来自 203.0.113.{n}:没有此用户" for n in range(5)]
    assert not any(PASSWORD in note or "wrong password" in note for _, _, note in records)


def test_the_cookie_is_secure_only_when_a_trusted_proxy_says_https(tmp_path, loaded_template):
    https = {"X-Forwarded-Proto": "https"}
    for folder in ("untrusted", "trusted"):
        (tmp_path / folder).mkdir()
    with serving(tmp_path / "untrusted", loaded_template, as_of="2019-10-28", accounts=[ACCOUNT]) as server:
        _, untrusted = post_session(server.url, "clerk", PASSWORD, **https)
    with serving(tmp_path / "trusted", loaded_template, as_of="2019-10-28", accounts=[ACCOUNT],
                 args=("--no-scheduler", "--forwarded-allow-ips", "127.0.0.1")) as server:
        _, trusted = post_session(server.url, "clerk", PASSWORD, **https)
    assert "secure" not in untrusted["set-cookie"].lower().split("; ")
    assert "secure" in trusted["set-cookie"].lower().split("; ")


def test_an_address_list_that_is_not_addresses_is_refused_at_start(tmp_path):
    import subprocess
    import sys

    from browser_support import duban_environment

    result = subprocess.run([sys.executable, "-m", "workflows.cli", "serve", "--forwarded-allow-ips", "proxy.local"],
                            cwd=tmp_path, env=duban_environment(), capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and "Traceback" not in result.stderr and "不是 IP 地址或网段" in result.stderr
