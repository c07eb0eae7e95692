"""`duban sweep`, `duban deliver`, `duban notices` and `duban mail-sink` as an operator runs them."""

from __future__ import annotations

import email
import email.policy
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from notifications.sink import free_port

ROOT = Path(__file__).resolve().parents[1]


def environment(**extra: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DUBAN_TIME_ZONE": "Asia/Shanghai", **extra}
    for name in ("DUBAN_DATABASE_URL", "DUBAN_PLAN", "DUBAN_SMTP_URL", "DUBAN_MAIL_DIR", "DUBAN_BASE_URL"):
        if name not in extra:
            env.pop(name, None)
    return env


def duban(workdir: Path, *args: str, **env: str) -> str:
    result = subprocess.run([sys.executable, "-m", "workflows.cli", *args], cwd=workdir, env=environment(**env),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    return result.stdout


@pytest.fixture
def workdir(tmp_path) -> Path:
    shutil.copy(ROOT / "deadlines.yaml", tmp_path)
    duban(tmp_path, "load", "--as-of", "2019-10-23")
    return tmp_path


def received(folder: Path) -> list[email.message.EmailMessage]:
    return [email.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in sorted(folder.glob("*.eml"))]


def test_load_sweep_deliver_puts_the_reminders_for_31_october_in_the_mail_folder(workdir):
    out = duban(workdir, "sweep", "--as-of", "2019-10-28")
    assert "提醒 14" in out
    assert "提醒 0、催办 0、督办通知单 0" in duban(workdir, "sweep", "--as-of", "2019-10-28")
    assert "发出 18" in duban(workdir, "deliver", "--as-of", "2019-10-28")
    messages = received(workdir / "var" / "mail")
    reminders = [m for m in messages if m["Subject"].startswith("【提醒】")]
    assert len(reminders) == 14
    assert all("2019-10-31" in m["Subject"] for m in reminders)
    hrss = next(m for m in reminders if "举办职业技能提升行动政策培训班" in m["Subject"])
    assert hrss["To"] == "hrss@guigang.example"
    assert "http://127.0.0.1:8000/deliverables/guigang-skills-2019:hrss-4" in hrss.get_body(("plain",)).get_content()
    assert "Message-ID" in hrss and hrss["X-Duban-Notice"].startswith("reminder:")
    assert "发出 0" in duban(workdir, "deliver", "--as-of", "2019-10-28")


def test_a_dry_run_prints_the_notices_and_writes_none(workdir):
    out = duban(workdir, "sweep", "--as-of", "2019-11-15", "--dry-run")
    assert "escalation:" in out and "试运行" in out
    listed = json.loads(duban(workdir, "notices", "--json"))
    assert listed == []


def test_notices_lists_pending_and_sent_notices_and_a_unit_sees_only_its_own(workdir):
    duban(workdir, "users", "add", "finance-clerk", "--role", "unit:finance")
    duban(workdir, "sweep", "--as-of", "2019-10-28")
    pending = json.loads(duban(workdir, "notices", "--pending", "--json"))
    assert len(pending) == 18 and {n["status"] for n in pending} == {"pending"}
    own = json.loads(duban(workdir, "notices", "--json", "--as", "finance-clerk"))
    assert own and {n["unit_id"] for n in own} == {"finance"}


def test_the_mail_sink_keeps_what_deliver_sends_over_smtp(workdir):
    port = free_port()
    sink = subprocess.Popen([sys.executable, "-m", "workflows.cli", "mail-sink", "--port", str(port),
                             "--folder", "sink"],
                            cwd=workdir, env=environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        duban(workdir, "sweep", "--as-of", "2019-10-28")
        out = duban(workdir, "deliver", "--as-of", "2019-10-28", DUBAN_SMTP_URL=f"smtp://127.0.0.1:{port}",
                    DUBAN_MAIL_FROM="duban@guigang.example")
        assert "SMTP" in out and "发出 18" in out
    finally:
        sink.send_signal(signal.SIGINT)
        stdout, stderr = sink.communicate(timeout=30)
    assert sink.returncode == 0 and "Traceback" not in stderr
    messages = received(workdir / "sink")
    assert len(messages) == 18
    assert {m["From"].addresses[0].addr_spec for m in messages} == {"duban@guigang.example"}
    assert not (workdir / "var" / "mail").exists()


def run(workdir: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "workflows.cli", *args], cwd=workdir, env=environment(**env),
                            capture_output=True, text=True, timeout=120)
    assert "Traceback" not in result.stderr, result.stderr
    return result


def fail_first_notice(workdir: Path) -> int:
    from sqlalchemy import select

    from responsibilities.storage.model import Notice

    from conftest import SqliteDatabase

    database = SqliteDatabase(workdir / "var" / "duban.sqlite3")
    try:
        with database.session_factory.begin() as session:
            notice = session.scalars(select(Notice).order_by(Notice.id)).first()
            notice.status, notice.attempts, notice.last_error = "failed", 1, "550 5.1.1 no such user"
            return notice.id
    finally:
        database.close()


def test_notices_retry_sends_failed_notices_again_and_only_the_office_may(workdir):
    duban(workdir, "users", "add", "王春", "--role", "office")
    duban(workdir, "users", "add", "hrss-clerk", "--role", "unit:hrss")
    duban(workdir, "sweep", "--as-of", "2019-10-28")
    notice = fail_first_notice(workdir)
    failed = json.loads(duban(workdir, "notices", "--failed", "--json"))
    assert [n["id"] for n in failed] == [notice] and failed[0]["last_error"] == "550 5.1.1 no such user"

    refused = run(workdir, "notices", "retry", "--failed", "--as", "hrss-clerk")
    assert refused.returncode == 1 and "只有领导小组办公室可以重新发送通知" in refused.stderr
    unknown = run(workdir, "notices", "retry", "424242", "--as", "王春")
    assert unknown.returncode == 1 and "没有编号为 424242 的通知" in unknown.stderr
    assert "已重新排队 1 条通知" in duban(workdir, "notices", "retry", str(notice), "--as", "王春")
    assert json.loads(duban(workdir, "notices", "--failed", "--json")) == []
    assert "发出 18" in duban(workdir, "deliver", "--as-of", "2019-10-28")
    assert "重新发送通知" in duban(workdir, "audit")


def test_notices_sending_says_who_holds_a_claim_and_when_it_lapses(workdir):
    from datetime import datetime, timezone

    from notifications.delivery import CLAIM_LEASE
    from notifications.outbox import claim

    from conftest import SqliteDatabase

    duban(workdir, "sweep", "--as-of", "2019-10-28")
    database = SqliteDatabase(workdir / "var" / "duban.sqlite3")
    try:
        token, ids = claim(database.session_factory, now=datetime(2019, 10, 28, 1, 0, tzinfo=timezone.utc), limit=3,
                           lease=CLAIM_LEASE)
    finally:
        database.close()
    out = duban(workdir, "notices", "--sending")
    assert out.count(f"由 {token} 认领") == 3 and "若不续期则于 2019-10-28 09:01:00 失效" in out
    assert "(共 3 条)" in out


def test_deliver_says_when_the_mail_server_cannot_be_reached_and_exits_1(workdir):
    duban(workdir, "sweep", "--as-of", "2019-10-28")
    result = run(workdir, "deliver", "--as-of", "2019-10-28", DUBAN_SMTP_URL=f"smtp://127.0.0.1:{free_port()}",
                 DUBAN_MAIL_FROM="duban@guigang.example")
    assert result.returncode == 1
    assert "邮件服务器无法连接" in result.stdout and "不计失败次数" in result.stdout
    pending = json.loads(duban(workdir, "notices", "--pending", "--json"))
    assert len(pending) == 18 and {n["attempts"] for n in pending} == {0}
