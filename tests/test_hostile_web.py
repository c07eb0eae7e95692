"""Hostile requests at the web's own doors: a Host header naming another site (DNS rebinding), an Origin that is
not duban's, a body sent in chunks past the size limit, HTTPS-only when the office asks for it, and settings
duban cannot use."""

from __future__ import annotations

from dataclasses import replace

import pytest
from fastapi.testclient import TestClient

from workflows.settings import Settings, SettingsInvalid
from workflows.web.app import create_app
from workflows.web.security import MAX_BODY_BYTES, host_allowed

from conftest import HRSS, OFFICE, at, database_unchanged
from web_support import PASSWORD, api_csrf, make_app, sign_in

pytestmark = pytest.mark.both_databases

NOW = at(2019, 11, 4)


def app_with(web_db, tmp_path, **settings):
    base = replace(Settings.from_environment(), database_url=web_db.url, evidence_dir=tmp_path / "evidence",
                   base_url="https://duban.example.gov.cn", **settings)
    return create_app(base, now=lambda: NOW)


@pytest.mark.parametrize("host", ["evil.example", "duban.example.gov.cn.evil.example", "10.0.0.1", "[::2]:8000",
                                  "", "duban.example.gov.cn@evil.example"])
def test_a_host_header_duban_does_not_answer_to_gets_400_before_any_page(web_db, tmp_path, host):
    client = TestClient(app_with(web_db, tmp_path), base_url="https://duban.example.gov.cn")
    response = client.get("/signin", headers={"host": host})
    assert response.status_code == 400 and "DUBAN_ALLOWED_HOSTS" in response.text


@pytest.mark.parametrize("host", ["duban.example.gov.cn", "DUBAN.example.gov.cn:443", "127.0.0.1:8000", "localhost",
                                  "[::1]:8000"])
def test_the_base_urls_host_and_this_machines_names_are_answered_by_default(web_db, tmp_path, host):
    client = TestClient(app_with(web_db, tmp_path), base_url="https://duban.example.gov.cn")
    assert client.get("/signin", headers={"host": host}).status_code == 200


def test_the_allowed_hosts_setting_replaces_the_default_and_a_star_covers_subdomains():
    assert host_allowed("a.gov.example:8443", ("*.gov.example",)) and not host_allowed("gov.example.net", (
        "*.gov.example",))
    assert not host_allowed("127.0.0.1", ("duban.gov.example",)) and host_allowed("anything", ("*",))


@pytest.mark.parametrize("origin", ["https://evil.example", "http://duban.example.gov.cn", "null",
                                    "https://duban.example.gov.cn.evil.example"])
def test_a_change_from_a_page_of_another_origin_is_refused_403_and_writes_nothing(web_db, tmp_path, origin):
    client = TestClient(app_with(web_db, tmp_path), base_url="https://duban.example.gov.cn")
    token = client.post("/api/session", json={"name": OFFICE, "password": PASSWORD}).json()["csrf_token"]
    with database_unchanged(web_db):
        response = client.post("/api/deliverables/hrss-4/notes", json={"note": "改"},
                               headers={"X-CSRF-Token": token, "origin": origin})
    assert response.status_code == 403
    own = client.post("/api/deliverables/hrss-4/notes", json={"note": "办公室备注"},
                      headers={"X-CSRF-Token": token, "origin": "https://duban.example.gov.cn"})
    assert own.status_code == 200  # the same request from duban's own page goes through


def test_a_body_sent_in_chunks_past_the_limit_gets_413_and_writes_nothing(web_db, tmp_path):
    app = make_app(web_db.url, tmp_path / "evidence", NOW)
    clerk = sign_in(app, HRSS)

    def chunks():
        piece = b"0" * (1024 * 1024)
        for _ in range(MAX_BODY_BYTES // len(piece) + 2):
            yield piece

    with database_unchanged(web_db):
        response = clerk.post("/api/deliverables/hrss-4/submit", content=chunks(),
                              headers={"X-CSRF-Token": api_csrf(clerk),
                                       "content-type": "multipart/form-data; boundary=x"})
    assert response.status_code == 413 and "请求过大" in response.text


def test_hsts_is_sent_on_https_only_when_the_office_sets_it(web_db, tmp_path):
    quiet = TestClient(app_with(web_db, tmp_path), base_url="https://duban.example.gov.cn")
    assert "strict-transport-security" not in quiet.get("/signin").headers
    strict = TestClient(app_with(web_db, tmp_path, hsts_seconds=31536000), base_url="https://duban.example.gov.cn")
    assert strict.get("/signin").headers["strict-transport-security"] == "max-age=31536000"
    plain = TestClient(app_with(web_db, tmp_path, hsts_seconds=31536000), base_url="http://127.0.0.1")
    assert "strict-transport-security" not in plain.get("/signin").headers


@pytest.mark.parametrize("variable, value, says", [
    ("DUBAN_TIME_ZONE", "Mars/Olympus", "不是时区名"),
    ("DUBAN_TIME_ZONE", "../../etc/passwd", "不是时区名"),
    ("DUBAN_BASE_URL", "javascript:alert(1)", "不是网页地址"),
    ("DUBAN_BASE_URL", "duban.example.gov.cn", "不是网页地址"),
    ("DUBAN_ALLOWED_HOSTS", "duban.example.gov.cn:8000", "不是主机名"),
    ("DUBAN_ALLOWED_HOSTS", "a b", "不是主机名"),
    ("DUBAN_HSTS_SECONDS", "-1", "秒数"),
    ("DUBAN_HSTS_SECONDS", "1e9", "秒数"),
    ("DUBAN_HSTS_SECONDS", "9" * 40, "秒数"),
])
def test_a_setting_duban_cannot_use_is_refused_naming_the_variable(monkeypatch, variable, value, says):
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsInvalid, match=says) as refused:
        Settings.from_environment()
    assert variable in str(refused.value)
