"""What an operator and the office see of the running system: /healthz, the dashboard's 运行状况, the failed
notices the office sends again, and the job runs every entry point records."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from responsibilities.notices.sweep import sweep
from responsibilities.storage import migrate
from responsibilities.storage.job_runs import job_finished, job_started, job_states
from responsibilities.storage.lease import SCHEDULER, acquire
from responsibilities.storage.model import Notice, UnitRecord
from workflows.schedule import jobs
from workflows.settings import Settings

from conftest import LEADER, OFFICE, at
from web_support import make_app, page_csrf, sign_in

pytestmark = pytest.mark.both_databases

NOW = at(2019, 10, 28, 10)


def healthz(app) -> tuple[int, dict]:
    response = TestClient(app, base_url="http://testserver").get("/healthz")
    assert response.headers["cache-control"] == "no-store"  # a monitor never reads a cached answer
    return response.status_code, response.json()


def fail_job(session_factory, name: str, times: int, reason: str = "无法使用数据库:disk I/O error") -> None:
    for _ in range(times):
        job_started(session_factory, name=name, holder="host-a:42", now=datetime.now(timezone.utc))
        job_finished(session_factory, name=name, now=datetime.now(timezone.utc), error=reason)


def test_healthz_answers_without_sign_in_with_the_schema_the_lease_holder_and_the_queue(web_db, tmp_path):
    sweep(web_db.session_factory, now=NOW, today=NOW.date())
    acquire(web_db.session_factory, name=SCHEDULER, holder="host-a:42:ab12", now=datetime.now(timezone.utc),
            ttl=timedelta(minutes=1))
    status, body = healthz(make_app(web_db.url, tmp_path / "evidence", NOW))
    assert status == 200 and body["status"] == "ok"
    assert body["database"] == {"reachable": True, "error": None, "schema": migrate.HEAD, "schema_current": True}
    assert body["scheduler"]["holder"] == "host-a:42:ab12"
    assert body["notices"] == {"pending": 18, "sending": 0, "failed": 0}


def test_healthz_shows_no_name_address_or_error_text(web_db, tmp_path):
    sweep(web_db.session_factory, now=NOW, today=NOW.date())
    fail_job(web_db.session_factory, "deliver", 1, reason="every recipient refused: hrss@guigang.example")
    _, body = healthz(make_app(web_db.url, tmp_path / "evidence", NOW))
    text = json.dumps(body, ensure_ascii=False)
    with web_db.session_factory() as session:
        units = session.scalars(select(UnitRecord)).all()
    assert body["jobs"]["deliver"]["succeeded"] is False and body["status"] == "degraded"
    assert "@" not in text and "refused" not in text
    assert not any(unit.name in text or unit.short_name in text for unit in units)


def test_healthz_is_503_once_a_job_has_failed_three_times_in_a_row_and_200_again_after_a_success(web_db, tmp_path):
    app = make_app(web_db.url, tmp_path / "evidence", NOW)
    fail_job(web_db.session_factory, "sweep", 2)
    assert healthz(app)[0] == 200
    fail_job(web_db.session_factory, "sweep", 1)
    status, body = healthz(app)
    assert (status, body["status"], body["jobs"]["sweep"]["consecutive_failures"]) == (503, "failing", 3)
    job_started(web_db.session_factory, name="sweep", holder="host-a:42", now=datetime.now(timezone.utc))
    job_finished(web_db.session_factory, name="sweep", now=datetime.now(timezone.utc))
    assert healthz(app)[0] == 200


@pytest.mark.only_on("sqlite", "a file put out of reach; PostgreSQL's unreachable server is the next test's")
def test_healthz_is_503_when_the_database_cannot_be_opened(web_db, tmp_path):
    app = make_app(web_db.url, tmp_path / "evidence", NOW)
    app.state.engine.dispose()
    web_db.close()
    web_db.path.rename(tmp_path / "moved-away.sqlite3")
    web_db.path.mkdir()  # where the file was, a folder: SQLite cannot open it
    status, body = healthz(app)
    assert status == 503 and body["status"] == "failing"
    assert body["database"]["reachable"] is False and body["database"]["error"] == "OperationalError"


def test_healthz_is_503_when_the_schema_is_behind(web_db, tmp_path):
    app = make_app(web_db.url, tmp_path / "evidence", NOW)
    with web_db.engine.begin() as connection:
        from alembic import command

        command.downgrade(migrate._config(connection), "0007")
    status, body = healthz(app)
    assert (status, body["database"]["schema"], body["database"]["schema_current"]) == (503, "0007", False)


def test_the_office_sees_a_failing_job_and_an_unreachable_mail_server_with_their_reasons(web_db, tmp_path):
    from notifications.outbox import server_unreachable

    fail_job(web_db.session_factory, "deliver", 4, reason="无法使用数据库:database is locked")
    server_unreachable(web_db.session_factory, channel="email", target="smtp://mail.gov.example:587",
                       now=NOW, reply="network problem: [Errno 111] Connection refused",
                       first_wait=timedelta(minutes=1), max_wait=timedelta(minutes=10))
    page = sign_in(make_app(web_db.url, tmp_path / "evidence", NOW), OFFICE).get("/dashboard").text
    assert 'id="operations"' in page
    assert "定时任务「投递通知」" in page and "已连续 4 次" in page and "database is locked" in page
    assert "smtp://mail.gov.example:587" in page and "Connection refused" in page and "不计失败次数" in page


def test_a_healthy_system_shows_no_operations_box(web_db, tmp_path):
    page = sign_in(make_app(web_db.url, tmp_path / "evidence", NOW), OFFICE).get("/dashboard").text
    assert 'id="operations"' not in page


def failed_notice(session_factory) -> Notice:
    sweep(session_factory, now=NOW, today=NOW.date())
    with session_factory.begin() as session:
        notice = session.scalars(select(Notice).order_by(Notice.id)).first()
        notice.status, notice.attempts, notice.last_error = "failed", 1, "550 5.1.1 no such user"
        return notice


def test_the_office_sends_a_failed_notice_again_from_the_dashboard(web_db, tmp_path):
    notice = failed_notice(web_db.session_factory)
    office = sign_in(make_app(web_db.url, tmp_path / "evidence", NOW), OFFICE)
    page = office.get("/dashboard").text
    assert f'<button type="submit" name="notice" value="{notice.id}">重新发送</button>' in page
    response = office.post("/notices/retry",
                           data={"notice": str(notice.id), "csrf_token": page_csrf(office, "/dashboard")},
                           follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/dashboard?retried=1#failed-title"
    with web_db.session_factory() as session:
        again = session.get(Notice, notice.id)
    assert (again.status, again.last_error, again.attempts) == ("pending", None, 1)
    assert "已重新排队 1 条通知" in office.get("/dashboard?retried=1").text


def test_leaders_see_failed_notices_but_no_button_to_send_them_again(web_db, tmp_path):
    failed_notice(web_db.session_factory)
    page = sign_in(make_app(web_db.url, tmp_path / "evidence", NOW), LEADER).get("/dashboard").text
    assert "550 5.1.1 no such user" in page and "重新发送" not in page


@pytest.mark.parametrize("value", ["abc", "-1", "99999999999999999999999999"])
def test_a_bad_notice_number_is_a_4xx_and_changes_nothing(web_db, tmp_path, value):
    notice = failed_notice(web_db.session_factory)
    office = sign_in(make_app(web_db.url, tmp_path / "evidence", NOW), OFFICE)
    response = office.post("/notices/retry", data={"notice": value, "csrf_token": page_csrf(office, "/dashboard")},
                           follow_redirects=False)
    assert 400 <= response.status_code < 500
    with web_db.session_factory() as session:
        assert session.get(Notice, notice.id).status == "failed"


# ── job runs ─────────────────────────────────────────────────────────────────────────────────────


def settings_for(database) -> Settings:
    return Settings(**{**Settings.from_environment().__dict__, "database_url": database.url})


def test_a_job_run_is_recorded_with_its_process_and_a_failure_with_a_one_line_reason(loaded, tmp_path):
    jobs.run_job("sweep", "2019-10-28", settings=settings_for(loaded))
    swept, = job_states(loaded.session_factory)
    assert (swept.name, swept.succeeded, swept.consecutive_failures, swept.runs) == ("sweep", True, 0, 1)
    assert swept.holder == jobs.PROCESS and swept.finished_at >= swept.started_at

    unusable = Settings(**{**settings_for(loaded).__dict__, "reports_dir": Path("/proc/no-such-place")})
    with pytest.raises(jobs.JobFailed) as failed:
        jobs.run_job("year_end", "2019-12-31T18:00", settings=unusable)
    assert str(failed.value).startswith("year_end: ") and "\n" not in str(failed.value)
    year_end = next(j for j in job_states(loaded.session_factory) if j.name == "year_end")
    assert (year_end.succeeded is False and year_end.consecutive_failures == 1
            and "/proc/no-such-place" in year_end.error)
