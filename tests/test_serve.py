"""`duban serve` as an operator runs it: from an empty folder with the database elsewhere, delivering to a real SMTP
server, and stopping within 10 seconds on SIGTERM in every state (idle, mid-queue, stuck on a server that never
answers). Bad settings are one line and a non-zero exit."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from responsibilities.notices.sweep import sweep
from responsibilities.storage.lease import SCHEDULER, holder_of
from responsibilities.storage.model import Notice

from browser_support import Server, duban_environment, start_server
from conftest import ROOT, at
from smtp_server import SilentServer, smtp_server  # noqa: F401 - the fixture

pytestmark = pytest.mark.both_databases

STOP_WITHIN_S = 10
SENDER = "duban@guigang.example"


def write_notices(database, copies: int = 0) -> int:  # a conftest Database
    """The notices of 28 October 2019 (18), and ``copies`` more of the first one, under keys of their own."""
    sweep(database.session_factory, now=at(2019, 10, 28, 8), today=at(2019, 10, 28).date())
    with database.session_factory.begin() as session:
        first = session.scalars(select(Notice).order_by(Notice.id)).first()
        columns = {c.key: getattr(first, c.key) for c in Notice.__table__.columns if c.key not in ("id", "dedupe_key")}
        session.add_all(Notice(dedupe_key=f"{first.dedupe_key}:copy-{n}", **columns) for n in range(copies))
    return 18 + copies


def statuses(database) -> Counter[str]:
    with database.session_factory() as session:
        return Counter(session.scalars(select(Notice.status)))


def serve(workdir: Path, database, smtp_url: str, *extra: str) -> Server:
    """`duban serve` with its scheduler, in ``workdir`` (an empty folder), on ``database``, mailing ``smtp_url``."""
    database.close()  # the server's process is the one that writes now
    return start_server(workdir, as_of=None, args=["--lease-seconds", "5", *extra],
                        env={"DUBAN_DATABASE_URL": database.url, "DUBAN_SMTP_URL": smtp_url})


def wait_until(condition, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.1)


def children_of(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (Linux's /proc)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # it ended meanwhile
        if int(fields[1]) == pid:
            children.append(int(stat.parent.name))
    return children


def stop(server: Server) -> float:
    """SIGTERM, then the seconds until the process was gone (it is killed after 30 s, and the test fails)."""
    asked = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    try:
        server.process.wait(timeout=30)
    finally:
        if server.process.poll() is None:
            server.process.kill()
    return time.monotonic() - asked


def test_serve_in_an_empty_folder_with_the_database_elsewhere_delivers_the_notices_and_stops_on_sigterm(
        loaded, smtp_server, tmp_path):
    total = write_notices(loaded)
    workdir = tmp_path / "empty"
    workdir.mkdir()
    server = serve(workdir, loaded, smtp_server.url(SENDER))
    try:
        wait_until(lambda: len(smtp_server.messages) == total)  # delivered at start, not at the next minute
        assert children_of(server.process.pid) == []  # no temporary Prefect server, nothing to orphan
    finally:
        seconds = stop(server)
    assert seconds < STOP_WITHIN_S and server.process.returncode == 0
    assert "Traceback" not in server.output() and "duban serve: stopped" in server.output()
    assert statuses(loaded) == Counter({"sent": total})
    assert holder_of(loaded.session_factory, name=SCHEDULER, now=datetime.now(timezone.utc)) is None
    assert sorted(p.name for p in (workdir / "var").iterdir()) == ["evidence", "reports"]  # made, and nothing else


def test_sigterm_mid_queue_stops_within_10_seconds_and_hands_the_rest_back(loaded, smtp_server, tmp_path):
    total = write_notices(loaded, copies=300)
    smtp_server.handler.data_delay = 0.2  # a relay taking its time: the queue would take over a minute
    server = serve(tmp_path, loaded, smtp_server.url(SENDER))
    try:
        wait_until(lambda: len(smtp_server.messages) >= 5)
    finally:
        seconds = stop(server)
    assert seconds < STOP_WITHIN_S and server.process.returncode == 0
    assert "Traceback" not in server.output()
    left = statuses(loaded)
    assert left["sending"] == 0 and left["sent"] + left["pending"] == total and left["pending"] > 0
    assert set(Counter(m.message()["Message-ID"] for m in smtp_server.messages).values()) == {1}
    assert left["sent"] <= len(smtp_server.messages) <= left["sent"] + 1  # at most the one in flight, unrecorded


def test_sigterm_while_delivery_waits_on_a_server_that_never_answers_stops_within_10_seconds(loaded, tmp_path):
    total = write_notices(loaded)
    with SilentServer() as silent:  # the client would wait its 30 s timeout for a greeting
        server = serve(tmp_path, loaded, silent.url(SENDER))
        try:
            wait_until(lambda: statuses(loaded)["sending"] > 0)  # delivery has claimed its batch and waits
        finally:
            seconds = stop(server)
    assert seconds < STOP_WITHIN_S and server.process.returncode == 0
    assert "Traceback" not in server.output()
    assert statuses(loaded) == Counter({"pending": total})


# ── bad settings: one line, a non-zero exit ──────────────────────────────────────────────────────


def duban_serve(workdir: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "workflows.cli", "serve", "--port", "0"], cwd=workdir,
                          env={**duban_environment(), **env}, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("url, says", [
    ("mysql://duban@127.0.0.1/duban", "只支持 SQLite 和 PostgreSQL"),
    ("not a database url", "不是数据库地址"),
    ("sqlite:////proc/duban/duban.sqlite3", "无法创建数据库所在的文件夹 /proc/duban"),
    ("postgresql+psycopg://duban:wrong@127.0.0.1:1/duban", "无法使用数据库"),  # nothing listens on port 1
])
def test_an_unusable_database_url_is_one_line_and_exit_1(tmp_path, url, says):
    result = duban_serve(tmp_path, DUBAN_DATABASE_URL=url)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert says in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_a_folder_duban_cannot_make_is_named_at_start_in_one_line(loaded, tmp_path):
    loaded.close()
    result = duban_serve(tmp_path, DUBAN_DATABASE_URL=loaded.url, DUBAN_EVIDENCE_DIR="/proc/duban-evidence")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "佐证材料文件夹 /proc/duban-evidence 无法使用" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_an_smtp_url_that_cannot_be_read_is_refused_at_start(loaded, tmp_path):
    loaded.close()
    result = duban_serve(tmp_path, DUBAN_DATABASE_URL=loaded.url, DUBAN_SMTP_URL="http://mail.example")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "DUBAN_SMTP_URL 无法使用" in result.stderr and "smtp://" in result.stderr


def test_a_job_that_fails_logs_one_line_and_the_scheduler_carries_on(tmp_path, monkeypatch):
    from workflows.schedule import scheduler

    lines: list[str] = []
    monkeypatch.setattr(scheduler, "PROCESS", scheduler._ThisProcess(log=lines.append))  # no scheduler stopping
    monkeypatch.setenv("DUBAN_DATABASE_URL", f"sqlite:///{tmp_path / 'nothing-here.sqlite3'}")  # no schema
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    scheduler.fire("deliver")
    scheduler.fire("deliver")
    assert len(lines) == 2 and all("\n" not in line for line in lines)
    assert lines[0].startswith("定时任务 deliver 运行失败:数据库") and "duban db upgrade" in lines[0]
    assert "连续第 2 次" in lines[1]
    assert not scheduler.job_running()


def test_the_command_line_refuses_an_unusable_database_in_one_line_too(tmp_path):
    result = subprocess.run([sys.executable, "-m", "workflows.cli", "status"], cwd=tmp_path, capture_output=True,
                            text=True, timeout=60,
                            env={**duban_environment(), "PYTHONPATH": str(ROOT), "DUBAN_DATABASE_URL": "foo://x"})
    assert (result.returncode == 1 and "Traceback" not in result.stderr
            and "只支持 SQLite 和 PostgreSQL" in result.stderr)


def test_a_wrong_postgresql_password_is_one_line_and_exit_1(postgres_server, tmp_path):
    from dataclasses import replace

    wrong = replace(postgres_server, password="not-the-password").url("postgres")
    result = duban_serve(tmp_path, DUBAN_DATABASE_URL=wrong)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "无法使用数据库" in result.stderr and "password authentication failed" in result.stderr
    assert "not-the-password" not in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
