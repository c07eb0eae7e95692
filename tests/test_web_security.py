"""The web application's safeguards: sessions, CSRF, throttling, headers, uploads, and errors that stay 4xx."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from responsibilities.errors import NotAllowed
from responsibilities.reading import queries
from responsibilities.tracking import services
from responsibilities.tracking.accounts import SignInFailed, SignInThrottled, disable_user
from responsibilities.tracking.accounts import sign_in as sign_in_service

from conftest import HRSS, OFFICE, at, database_unchanged
from web_support import PASSWORD, api_csrf, csrf_of, make_app, page_csrf, sign_in

pytestmark = pytest.mark.both_databases

NOW = at(2019, 10, 25)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def app(web_db, tmp_path):
    return make_app(web_db.url, tmp_path / "evidence", NOW)


def anonymous(app) -> TestClient:
    return TestClient(app, base_url="http://testserver")


# ── sessions ─────────────────────────────────────────────────────────────────────────────────────


def test_the_session_cookie_is_httponly_and_samesite_lax_and_not_secure_over_plain_http(app):
    client = anonymous(app)
    token = csrf_of(client.get("/signin").text)
    response = client.post("/signin", data={"name": OFFICE, "password": PASSWORD, "csrf_token": token},
                           follow_redirects=False)
    cookie = next(v for k, v in response.headers.multi_items() if k == "set-cookie" and v.startswith("duban_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie


def test_the_session_cookie_is_secure_behind_https(app):
    client = TestClient(app, base_url="https://testserver")
    token = csrf_of(client.get("/signin").text)
    response = client.post("/signin", data={"name": OFFICE, "password": PASSWORD, "csrf_token": token},
                           follow_redirects=False)
    cookie = next(v for k, v in response.headers.multi_items() if k == "set-cookie" and v.startswith("duban_session="))
    assert "Secure" in cookie


def test_signing_in_again_gives_a_new_session_id_and_ends_the_old_one(app):
    client = sign_in(app, OFFICE)
    first = client.cookies["duban_session"]
    token = csrf_of(anonymous(app).get("/signin").text)
    client.cookies.set("duban_pre", token)
    client.post("/signin", data={"name": OFFICE, "password": PASSWORD, "csrf_token": token}, follow_redirects=False)
    second = client.cookies["duban_session"]
    assert second != first
    stale = anonymous(app)
    stale.cookies.set("duban_session", first)
    assert stale.get("/api/session").status_code == 401


def test_signing_out_ends_the_session_on_the_server(app, web_db):
    client = sign_in(app, OFFICE)
    session_id = client.cookies["duban_session"]
    assert web_db.count("web_sessions") == 1
    assert client.post("/signout", data={"csrf_token": page_csrf(client, "/dashboard")},
                       follow_redirects=False).status_code == 303
    assert web_db.count("web_sessions") == 0
    replay = anonymous(app)
    replay.cookies.set("duban_session", session_id)
    assert replay.get("/api/session").status_code == 401


def test_the_database_keeps_only_a_hash_of_the_session_id(app, web_db):
    client = sign_in(app, OFFICE)
    with web_db.raw() as connection:
        stored = connection.execute(text("SELECT id_hash FROM web_sessions")).scalar_one()
    assert client.cookies["duban_session"] not in stored and len(stored) == 64


def test_an_idle_session_times_out_after_an_hour(app):
    client = sign_in(app, OFFICE)
    app.state.test_clock["now"] = NOW + timedelta(minutes=59)
    assert client.get("/api/session").status_code == 200
    app.state.test_clock["now"] = NOW + timedelta(minutes=59 + 61)
    assert client.get("/api/session").status_code == 401


def test_a_busy_session_still_ends_twelve_hours_after_sign_in(app):
    client = sign_in(app, OFFICE)
    for minutes in range(30, 12 * 60, 30):
        app.state.test_clock["now"] = NOW + timedelta(minutes=minutes)
        assert client.get("/api/session").status_code == 200, minutes
    app.state.test_clock["now"] = NOW + timedelta(hours=12, minutes=1)
    assert client.get("/api/session").status_code == 401


def test_disabling_a_user_ends_their_sessions_and_their_command_line_actions(app, web_db):
    client = sign_in(app, HRSS)
    disable_user(web_db.session_factory, name=HRSS, now=NOW)
    assert client.get("/api/session").status_code == 401
    with pytest.raises(NotAllowed, match=f"用户 {HRSS} 已停用"):
        services.add_note(web_db.session_factory, actor=HRSS, ref="hrss-4", note="进展", now=NOW)


# ── sign-in throttling ───────────────────────────────────────────────────────────────────────────


def _attempt(client: TestClient, name: str, password: str) -> int:
    return client.post("/api/session", json={"name": name, "password": password}).status_code


def test_five_failures_in_a_minute_lock_the_account_even_against_the_right_password(app):
    client = anonymous(app)
    assert [_attempt(client, OFFICE, "wrong password!") for _ in range(5)] == [401] * 5
    assert _attempt(client, OFFICE, PASSWORD) == 429
    app.state.test_clock["now"] = NOW + timedelta(seconds=61)
    assert _attempt(client, OFFICE, PASSWORD) == 200


def test_five_failures_from_one_address_lock_that_address_whatever_the_account(app):
    client = anonymous(app)
    for i in range(5):
        assert _attempt(client, f"nobody-{i}", "wrong password!") == 401
    assert _attempt(client, HRSS, PASSWORD) == 429


def test_ten_wrong_passwords_at_once_get_five_checks_and_five_refusals(web_db):
    # Ten guesses sent together, each in its own thread (Argon2 lets the others run while it hashes): the
    # throttle must count them one after another, as it does one request at a time.
    start, outcomes = threading.Barrier(10), []

    def guess(n: int) -> None:
        start.wait()
        try:
            sign_in_service(web_db.session_factory, name=OFFICE, password=f"guess number {n}", address=f"10.0.0.{n}",
                            now=NOW)
        except (SignInFailed, SignInThrottled) as refused:
            outcomes.append(type(refused).__name__)

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["SignInFailed"] * 5 + ["SignInThrottled"] * 5
    assert web_db.count("sign_in_attempts") == 5


def test_the_sign_in_page_says_when_it_is_throttled(app):
    client = anonymous(app)
    for _ in range(5):
        _attempt(client, OFFICE, "wrong password!")
    token = csrf_of(client.get("/signin").text)
    response = client.post("/signin", data={"name": OFFICE, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 429 and "登录失败次数过多" in response.text
    assert f'value="{OFFICE}"' in response.text  # what was typed stays


# ── CSRF and GET ─────────────────────────────────────────────────────────────────────────────────


def test_a_form_without_the_csrf_token_is_refused_and_changes_nothing(app, web_db):
    client = sign_in(app, HRSS)
    with database_unchanged(web_db):
        response = client.post("/deliverables/hrss-4/notes", data={"note": "进展"}, follow_redirects=False)
    assert response.status_code == 403


def test_an_api_change_without_the_csrf_header_is_refused_and_changes_nothing(app, web_db):
    client = sign_in(app, HRSS)
    with database_unchanged(web_db):
        response = client.post("/api/deliverables/hrss-4/notes", json={"note": "进展"})
    assert response.status_code == 403 and response.json()["error"]["code"] == "forbidden"


def test_a_request_from_another_sites_page_is_refused_even_with_the_token(app, web_db):
    client = sign_in(app, HRSS)
    token = api_csrf(client)
    with database_unchanged(web_db):
        response = client.post("/api/deliverables/hrss-4/notes", json={"note": "进展"},
                               headers={"x-csrf-token": token, "origin": "https://evil.example"})
    assert response.status_code == 403


def test_actions_are_not_reachable_by_get(app):
    client = sign_in(app, OFFICE)
    assert client.get("/deliverables/hrss-4/submit").status_code == 405
    assert client.get("/signout").status_code == 405


# ── headers ──────────────────────────────────────────────────────────────────────────────────────


def test_every_page_carries_the_security_headers(app):
    response = anonymous(app).get("/signin")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "same-origin"


def test_pages_have_no_inline_scripts_or_styles(app):
    client = sign_in(app, OFFICE)
    for path in ("/dashboard", "/deliverables/hrss-4", "/units/hrss", "/events", "/reports/2019", "/api/docs"):
        html = client.get(path).text
        assert "<script" not in html and "<style" not in html and " style=" not in html, path


# ── uploads ──────────────────────────────────────────────────────────────────────────────────────


def test_evidence_is_stored_by_content_hash_and_served_as_an_attachment(app, web_db, tmp_path):
    client = sign_in(app, HRSS)
    token = page_csrf(client, "/deliverables/hrss-4")
    response = client.post("/deliverables/hrss-4/submit", data={"note": "已办结", "csrf_token": token},
                           files={"evidence": ("培训通知.pdf", PDF, "application/pdf")}, follow_redirects=False)
    assert response.status_code == 303
    item = queries.show(web_db.session_factory, ref="hrss-4").evidence[0]
    assert (tmp_path / "evidence" / item.sha256[:2] / item.sha256[2:]).read_bytes() == PDF
    download = client.get(f"/deliverables/hrss-4/evidence/{item.id}")
    assert download.content == PDF and download.headers["content-type"] == "application/pdf"
    assert download.headers["content-disposition"].startswith("attachment;")


def test_a_program_disguised_as_a_document_comes_back_with_the_reason_next_to_the_field(app, web_db):
    client = sign_in(app, HRSS)
    token = page_csrf(client, "/deliverables/hrss-4")
    with database_unchanged(web_db):
        response = client.post("/deliverables/hrss-4/submit", data={"note": "我写的说明", "csrf_token": token},
                               files={"evidence": ("报告.pdf", b"MZ\x90\x00\x03" + b"\x00" * 200, "application/pdf")})
    assert response.status_code == 422
    assert 'id="submit-evidence-error"' in response.text and "我写的说明" in response.text


def test_an_oversized_upload_is_refused_with_a_message_and_the_note_is_kept(app, web_db):
    client = sign_in(app, HRSS)
    token = page_csrf(client, "/deliverables/hrss-4")
    big = b"%PDF-1.4\n" + b"0" * (20 * 1024 * 1024)
    with database_unchanged(web_db):
        response = client.post("/deliverables/hrss-4/submit", data={"note": "大文件", "csrf_token": token},
                               files={"evidence": ("大.pdf", big, "application/pdf")})
    assert response.status_code == 422 and "20 MB" in response.text and "大文件" in response.text


def test_a_request_body_over_the_limit_is_refused_before_it_is_read(app):
    client = sign_in(app, HRSS)
    response = client.post("/deliverables/hrss-4/submit", content=b"x" * 10,
                           headers={"content-length": str(65 * 1024 * 1024), "content-type": "text/plain"})
    assert response.status_code == 413


# ── the API never answers 500 to bad input ───────────────────────────────────────────────────────


@pytest.mark.parametrize(("path", "body"), [
    ("/api/deliverables/hrss-4/extension", b"{not json"),
    ("/api/deliverables/hrss-4/extension", b'{"new_due": "soon", "reason": "x"}'),
    ("/api/deliverables/hrss-4/extension", b'{"new_due": "2030-01-01", "reason": "outside the plan"}'),
    ("/api/deliverables/hrss-4/extension", b'{"reason": "no date"}'),
    ("/api/deliverables/hrss-4/notes", b'{"note": ""}'),
    ("/api/deliverables/hrss-4/notes", ('{"note": "' + "字" * 3000 + '"}').encode()),
    ("/api/deliverables/hrss-4/return", b'{"reason": "not submitted yet"}'),
    ("/api/deliverables/no-such-thing/notes", b'{"note": "x"}'),
    ("/api/events/no-such-event", b'{"occurred_on": "2019-10-01"}'),
])
def test_bad_api_input_gets_a_json_4xx_never_a_500(app, path, body):
    client = sign_in(app, OFFICE)
    response = client.post(path, content=body, headers={"x-csrf-token": api_csrf(client),
                                                        "content-type": "application/json"})
    assert 400 <= response.status_code < 500
    assert response.json()["error"]["message"]


def test_a_stale_version_through_the_api_is_a_409_naming_who_changed_it(app, web_db):
    client = sign_in(app, OFFICE)
    services.submit(web_db.session_factory, actor=HRSS, ref="hrss-4", now=NOW, note="已办结")
    response = client.post("/api/deliverables/hrss-4/accept", json={"expected_version": 1},
                           headers={"x-csrf-token": api_csrf(client)})
    assert response.status_code == 409 and HRSS in response.json()["error"]["detail"]
