"""Helpers for the web tests: an app on a copy of the loaded database, and signed-in clients."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from fastapi.testclient import TestClient

from workflows.settings import Settings
from workflows.web.app import create_app

from conftest import SHANGHAI

PASSWORD = "correct horse battery staple"


def make_app(database_url: str, evidence_dir: Path, now: datetime):
    settings = replace(Settings.from_environment(), database_url=database_url, evidence_dir=evidence_dir,
                       time_zone=SHANGHAI, base_url="http://testserver")
    clock = {"now": now}
    app = create_app(settings, now=lambda: clock["now"])
    app.state.test_clock = clock  # a test moves time by setting clock["now"]
    return app


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the page has no CSRF field"
    return match.group(1)


def sign_in(app, name: str, password: str = PASSWORD) -> TestClient:
    client = TestClient(app, base_url="http://testserver")
    token = csrf_of(client.get("/signin").text)
    response = client.post("/signin", data={"name": name, "password": password, "csrf_token": token},
                           follow_redirects=False)
    assert response.status_code == 303, response.text
    return client


def page_csrf(client: TestClient, path: str = "/signin") -> str:
    return csrf_of(client.get(path).text)


def api_csrf(client: TestClient) -> str:
    return client.get("/api/session").json()["csrf_token"]
