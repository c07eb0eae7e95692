"""The command line's side of the web application: accounts with passwords, and a --help that stays light."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

from responsibilities.tracking.accounts import SignInFailed, sign_in

from conftest import SqliteDatabase

ROOT = Path(__file__).resolve().parents[1]


def duban(workdir: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DUBAN_DATABASE_URL": f"sqlite:///{workdir / 'duban.sqlite3'}"}
    result = subprocess.run([sys.executable, "-m", "workflows.cli", *args], cwd=workdir, env=env, input=stdin,
                            capture_output=True, text=True, timeout=120)
    assert "Traceback" not in result.stderr, result.stderr
    return result


def test_users_add_reads_the_password_from_standard_input_and_passwd_and_disable_change_it(tmp_path, loaded):
    loaded.close()
    (tmp_path / "duban.sqlite3").write_bytes(loaded.path.read_bytes())
    now = datetime(2019, 11, 1, 1, tzinfo=timezone.utc)
    added = duban(tmp_path, "users", "add", "李明", "--role", "unit", "--unit", "hrss", stdin="first password 1\n")
    assert added.returncode == 0 and "可登录网页" in added.stdout
    db = SqliteDatabase(tmp_path / "duban.sqlite3")
    try:
        assert sign_in(db.session_factory, name="李明", password="first password 1", address="a",
                       now=now).unit_id == "hrss"
        assert duban(tmp_path, "users", "passwd", "李明", stdin="second password 2\n").returncode == 0
        try:
            sign_in(db.session_factory, name="李明", password="first password 1", address="b", now=now)
            raise AssertionError("the old password still works")
        except SignInFailed:
            pass
        assert duban(tmp_path, "users", "disable", "李明").returncode == 0
        try:
            sign_in(db.session_factory, name="李明", password="second password 2", address="c", now=now)
            raise AssertionError("a disabled user signed in")
        except SignInFailed:
            pass
        listed = duban(tmp_path, "users", "list").stdout
        assert "李明\tunit:hrss\t停用" in listed
    finally:
        db.close()


def test_a_short_password_is_refused_and_no_user_is_added(tmp_path, loaded):
    loaded.close()
    (tmp_path / "duban.sqlite3").write_bytes(loaded.path.read_bytes())
    refused = duban(tmp_path, "users", "add", "short", "--role", "office", stdin="abc\n")
    assert refused.returncode == 1 and "密码至少需要 10 个字符" in refused.stderr
    assert "short" not in duban(tmp_path, "users", "list").stdout


def test_a_user_added_without_a_password_acts_from_the_command_line_only(tmp_path, loaded):
    loaded.close()
    (tmp_path / "duban.sqlite3").write_bytes(loaded.path.read_bytes())
    added = duban(tmp_path, "users", "add", "clerk", "--role", "unit:hrss", stdin="")
    assert added.returncode == 0 and "未设密码" in added.stdout
    noted = duban(tmp_path, "note", "hrss-4", "进展", "--as", "clerk", "--as-of", "2019-10-25")
    assert noted.returncode == 0, noted.stderr


def test_duban_help_does_not_import_the_web_stack():
    code = ("import sys; from workflows.cli.main import build_parser; build_parser(); "
            "print(sorted(m for m in ('fastapi', 'uvicorn', 'starlette', 'argon2') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.stdout.strip() == "[]", result.stderr


def test_serve_demo_loads_the_plan_prints_one_password_per_account_and_they_sign_in(tmp_path):
    import json
    import re
    import shutil
    import urllib.request

    from browser_support import start_server

    shutil.copy(ROOT / "deadlines.yaml", tmp_path)
    server = start_server(tmp_path, as_of="2019-11-01", timeout=180, demo=True)
    try:
        accounts = dict(re.findall(r"^  (\S+)\s+(?:office|leader|unit:\S+)\s+(\S+)$", server.output(), re.M))
        assert {"office", "leader", "hrss", "guiping", "city-level"} <= set(accounts)

        def signs_in(name: str) -> dict:
            request = urllib.request.Request(f"{server.url}/api/session", method="POST",
                                             data=json.dumps({"name": name, "password": accounts[name]}).encode(),
                                             headers={"content-type": "application/json"})
            with urllib.request.urlopen(request, timeout=10) as response:  # our server, 127.0.0.1
                return json.load(response)

        assert signs_in("hrss")["unit"] == "hrss" and signs_in("office")["role"] == "office"
    finally:
        server.stop()
    assert server.process.returncode == 0 and "Traceback" not in server.output()
