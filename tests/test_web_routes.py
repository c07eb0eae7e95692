"""Every route × {own unit, another unit, office, leader, signed out}: the status code each one gets.

The rules are the services' (a unit acts on its own deliverables, only the office reviews, waives, decides
extensions, records events and sets dates, leaders only read); the web adds two of its own: a unit asking for
another unit's work gets 404 (it is not told what exists elsewhere), and signed-out visitors are sent to the
sign-in page (pages) or get 401 (API). Each actor walks every route on its own fresh database. The monthly
figures' routes are walked on 3 April 2020, with a region's clerk (guiping) as the own unit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest

from responsibilities.reading import queries
from responsibilities.tracking import services
from responsibilities.tracking.evidence import EvidenceStore

from conftest import FINANCE, GUIPING, HRSS, LEADER, OFFICE, at
from web_support import api_csrf, make_app, page_csrf, sign_in

pytestmark = pytest.mark.both_databases

NOW = at(2019, 10, 25)
ACTORS = {"own unit": HRSS, "another unit": FINANCE, "office": OFFICE, "leader": LEADER, "signed out": None}
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    own: int
    other: int
    office: int
    leader: int
    data: dict | None = None  # a page form (the CSRF token is added)
    json: dict | None = None  # an API body (the CSRF header is added)
    files: str | None = None  # the name of a file to upload (made by the matrix's prepare step)
    public: bool = False
    signed_out: int | None = None

    def expected(self, actor: str) -> int:
        if actor == "signed out":
            if self.signed_out is not None:
                return self.signed_out
            return 200 if self.public else (401 if self.path.startswith("/api") else 303)
        return {"own unit": self.own, "another unit": self.other, "office": self.office, "leader": self.leader}[actor]


def read(path: str, own=200, other=404, office=200, leader=200, **kw) -> Route:
    return Route("GET", path, own, other, office, leader, **kw)


def overview(path: str) -> Route:
    return Route("GET", path, 403, 403, 200, 200)


def unit_action(path: str, ok: int, **kw) -> Route:  # the lead unit and the office may
    return Route("POST", path, ok, 404, ok, 403, **kw)


def office_action(path: str, ok: int, other: int = 404, **kw) -> Route:
    return Route("POST", path, 403, other, ok, 403, **kw)


EVIDENCE = "/deliverables/prep-2/evidence/{evidence}"
IMPORTED = Path(__file__).parent / "fixtures" / "import" / "guigang-2020-key-tasks.txt"
ITEM = {"lead": "hrss", "task": "报送就业见习进展", "deadline": "2019年12月底前"}
ROUTES = [
    Route("GET", "/signin", 303, 303, 303, 303, public=True),  # signed in: sent on
    Route("GET", "/", 303, 303, 303, 303),
    Route("GET", "/unit", 303, 303, 303, 303),
    Route("GET", "/docs", 307, 307, 307, 307, signed_out=307),
    # A sign-in needs the sign-in form's own token (a signed-in page's token is not it): refused before any check.
    Route("POST", "/signin", 403, 403, 403, 403, data={"name": "office", "password": "guess"}, signed_out=403),
    Route("POST", "/api/session", 401, 401, 401, 401, json={"name": "office", "password": "guess"}, signed_out=401),
    Route("GET", "/static/duban.css", 200, 200, 200, 200, public=True),
    Route("GET", "/api/docs", 200, 200, 200, 200, public=True),
    Route("GET", "/api/openapi.json", 200, 200, 200, 200, public=True),
    Route("GET", "/healthz", 200, 200, 200, 200, public=True),
    overview("/dashboard"),
    read("/units/hrss"),
    read("/units/hrss/deliverables?state=open&page=1"),
    Route("GET", "/units/hrss?state=open", 303, 303, 303, 303),  # the full list's filter, once here: sent there
    read("/deliverables/hrss-4"),
    read(EVIDENCE),
    read("/obligations/hrss-9"),
    overview("/events"),
    overview("/reports"),
    overview("/reports/2019"),
    overview("/reports/2019/summary-2019.xlsx"),
    overview("/reports/2019/summary-2019.html"),
    overview("/reports/bulletin?from=2019-10-01&to=2019-10-24"),
    overview("/reports/bulletin.html?from=2019-10-01&to=2019-10-24"),
    overview("/reports/bulletin.xlsx?from=2019-10-01&to=2019-10-24"),
    unit_action("/deliverables/hrss-4/notes", 303, data={"note": "已完成方案初稿"}),
    unit_action("/deliverables/hrss-4/submit", 303, data={"note": "已办结", "version": ""}),
    unit_action("/deliverables/hrss-3@stage-1/extension", 303, data={"new_due": "2019-11-15", "reason": "等待审定"}),
    office_action("/deliverables/hrss-5@2019-Q4/accept", 303, data={"note": ""}),
    office_action("/deliverables/hrss-6@2019-Q4/return", 303, data={"reason": "材料不全"}),
    office_action("/deliverables/bulletin@2019/waive", 303, data={"reason": "合并通报"}),
    office_action("/deliverables/hrss-7@2019-Q4/extension/grant", 303, data={}),
    office_action("/deliverables/hrss-8@2019-Q4/extension/refuse", 303, data={"reason": "不予延期"}),
    office_action("/events/region-supporting-documents", 303, other=403, data={"occurred_on": "2019-10-24"}),
    office_action("/obligations/hrss-9/dates", 303, data={"due": "2019-11-10"}),
    office_action("/notices/retry", 303, other=403, data={"all": "1"}),
    Route("GET", "/items/new", 403, 403, 200, 403),
    office_action("/items", 303, other=403, data=ITEM | {"action": "save"}),
    overview("/api/plans"),
    office_action("/api/items/check", 200, other=403, json=ITEM),
    office_action("/api/items", 201, other=403, json=ITEM),
    read("/api/session", other=200),
    Route("GET", "/api/dashboard", 403, 403, 200, 200),
    overview("/api/overdue"),
    overview("/api/reviews"),
    overview("/api/extension-requests"),
    overview("/api/notices/failed"),
    Route("POST", "/api/notices/retry", 403, 403, 200, 403, json={"failed": True}),
    overview("/api/events"),
    overview("/api/reports/2019"),
    overview("/api/reports/bulletin?from=2019-10-01&to=2019-10-24"),
    read("/api/units/hrss/deliverables"),
    read("/api/deliverables/hrss-4"),
    read("/api" + EVIDENCE),
    read("/api/obligations/hrss-9"),
    unit_action("/api/deliverables/hrss-5@2020-Q1/notes", 200, json={"note": "进展顺利"}),
    unit_action("/api/deliverables/hrss-5@2020-Q1/submit", 200, data={"note": "已办结"}),
    unit_action("/api/deliverables/hrss-6@2020-Q1/extension", 200,
                json={"new_due": "2020-05-01", "reason": "等待数据"}),
    office_action("/api/deliverables/hrss-7@2020-Q1/accept", 200, json={}),
    office_action("/api/deliverables/hrss-8@2020-Q1/return", 200, json={"reason": "材料不全"}),
    office_action("/api/deliverables/hrss-6@2020-Q2/waive", 200, json={"reason": "不再需要"}),
    office_action("/api/deliverables/hrss-5@2020-Q2/extension/grant", 200, json={}),
    office_action("/api/deliverables/hrss-7@2020-Q2/extension/refuse", 200, json={"reason": "不予延期"}),
    office_action("/api/events/region-supporting-documents", 200, other=403, json={"occurred_on": "2019-10-24"}),
    office_action("/api/obligations/hrss-9/dates", 200, json={"due": "2019-11-12"}),
    Route("GET", "/imports", 403, 403, 200, 403),
    office_action("/imports", 303, other=403, files=IMPORTED.name),
    Route("GET", "/imports/{import}", 403, 403, 200, 403),
    office_action("/imports/{import}/plan", 303, other=403, data={"plan_id": "", "title": "", "short_name": ""}),
    office_action("/imports/{import}/rows/0", 303, other=403, data={"lead": "", "deadline": "12月底前完成"}),
    office_action("/imports/{import}/units", 303, other=403, data={"name": "市大数据发展局", "action": "map",
                                                                   "unit": "miit"}),
    office_action("/imports/{import}/reset", 303, other=403, data={}),
    office_action("/imports/{import}/publish", 422, other=403, data={}),  # 尽快完成 is still to be corrected
    office_action("/imports/{import}/discard", 303, other=403, data={}),
    unit_action("/units/hrss/calendar", 200, data={}),  # the address, shown once
    office_action("/calendar/office", 200, other=403, data={}),
    Route("GET", "/calendar/not-a-real-token.ics", 404, 404, 404, 404, signed_out=404),  # the feed needs no sign-in
    Route("DELETE", "/api/session", 204, 204, 204, 204),
    Route("POST", "/signout", 303, 303, 303, 303, data={}),
]


def prepare(session_factory, store: EvidenceStore, tmp_path) -> int:
    """Put every deliverable in the state its route needs (by the office, through the services)."""
    before = NOW - timedelta(hours=2)
    for ref in ("hrss-5@2019-Q4", "hrss-6@2019-Q4", "hrss-7@2020-Q1", "hrss-8@2020-Q1"):
        services.submit(session_factory, actor=OFFICE, ref=ref, now=before, note="代为报送")
    for ref, new_due in (("hrss-7@2019-Q4", date(2020, 2, 1)), ("hrss-8@2019-Q4", date(2020, 2, 1)),
                         ("hrss-5@2020-Q2", date(2020, 8, 1)), ("hrss-7@2020-Q2", date(2020, 8, 1))):
        services.request_extension(session_factory, actor=OFFICE, ref=ref, new_due=new_due, reason="需要时间",
                                   now=before)
    pdf = tmp_path / "通知.pdf"
    pdf.write_bytes(PDF)
    services.submit(session_factory, actor=OFFICE, ref="prep-2", now=before, files=[pdf], evidence_store=store)
    return queries.show(session_factory, ref="prep-2").evidence[0].id


def prepare_import(session_factory, tmp_path) -> int:
    """A plan's document being imported by the office (a draft), and the same document to upload again."""
    from responsibilities.tracking.import_drafts import start_import

    (tmp_path / IMPORTED.name).write_bytes(IMPORTED.read_bytes())
    return start_import(session_factory, actor=OFFICE, now=NOW - timedelta(hours=1), file_name=IMPORTED.name,
                        data=IMPORTED.read_bytes()).id


# The monthly figures: on 3 April 2020 (months to report on), by a region's clerk (guiping) as the own unit.
FIGURES_NOW = at(2020, 4, 3)
FIGURES_ACTORS = {**ACTORS, "own unit": GUIPING}
FIGURES = {"total": 900, "enterprise-workers": 500, "key-groups": 300, "graduates": 50, "migrant-workers": 100,
           "school-leavers": 30, "laid-off": 40, "veterans": 20, "hard-to-employ": 10, "poor-labour": 80,
           "new-apprentices": 9}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def figures_of(month: str) -> dict:
    return {"month": month, **{k: str(v) for k, v in FIGURES.items()}}


FIGURE_ROUTES = [
    overview("/figures"),
    overview("/figures/template.xlsx?month=2020-03"),
    Route("POST", "/figures/upload", 403, 403, 303, 403, files="guiping-2019-11.xlsx"),
    read("/units/guiping"),
    read("/units/guiping/figures/template.xlsx?month=2020-03"),
    unit_action("/units/guiping/figures", 303, data=figures_of("2020-01")),
    unit_action("/units/guiping/figures/upload", 303, files="guiping-2019-12.xlsx"),
    read("/deliverables/monthly-report.guiping@2020-01"),
    overview("/api/progress"),
    read("/api/units/guiping/progress"),
    unit_action("/api/units/guiping/figures", 200, json={"month": "2020-02", "values": FIGURES}),
    # A unit that owes no figures (finance) is refused before its file is read, like a leader.
    Route("POST", "/api/figures/import", 200, 403, 200, 403, files="guiping-2020-03.xlsx"),
]


def prepare_figures(session_factory, folder) -> None:
    """The filled forms the upload routes send: guiping's row of the blank form, filled in."""
    from io import BytesIO

    from openpyxl import load_workbook

    from responsibilities.figures.xlsx import FORM_SHEET, form_for

    for month in ("2019-11", "2019-12", "2020-03"):
        book = load_workbook(BytesIO(form_for(session_factory, month=date.fromisoformat(f"{month}-01"),
                                              regions=["guiping"])))
        for column, value in enumerate(FIGURES.values(), start=4):
            book[FORM_SHEET].cell(row=2, column=column, value=value)
        book.save(folder / f"guiping-{month}.xlsx")


def test_the_matrix_names_every_route_of_the_application():
    from workflows.web.app import routers

    served = {(m, r.path) for router in routers() for r in router.routes for m in r.methods if m != "HEAD"}
    walked = {(r.method, r.path.split("?")[0].replace("{evidence}", "{evidence_id}").replace("{import}", "1"))
              for r in ROUTES + FIGURE_ROUTES}
    patterns = {(m, p) for m, p in served if not p.startswith("/static")}
    assert len(patterns) > 40

    def covered(method: str, pattern: str) -> bool:
        import re

        regex = "^" + re.sub(r"\{[^}]+\}", "[^/]+", pattern) + "$"
        return any(m == method and re.match(regex, p) for m, p in walked)

    assert [p for p in patterns if not covered(*p)] == []


@pytest.mark.parametrize("actor", list(ACTORS))
@pytest.mark.slow
def test_each_route_answers_each_actor_with_the_status_the_rules_give(actor, web_db, tmp_path):
    store = EvidenceStore(tmp_path / "evidence")
    evidence = prepare(web_db.session_factory, store, tmp_path)
    draft = prepare_import(web_db.session_factory, tmp_path)
    app = make_app(web_db.url, tmp_path / "evidence", NOW)
    values = {"{evidence}": str(evidence), "{import}": str(draft)}
    assert walk(app, ACTORS[actor], actor, ROUTES, values, tmp_path) == []


@pytest.mark.parametrize("actor", list(FIGURES_ACTORS))
def test_each_figures_route_answers_each_actor_with_the_status_the_rules_give(actor, web_db, tmp_path):
    prepare_figures(web_db.session_factory, tmp_path)
    app = make_app(web_db.url, tmp_path / "evidence", FIGURES_NOW)
    assert walk(app, FIGURES_ACTORS[actor], actor, FIGURE_ROUTES, {}, tmp_path) == []


def walk(app, name: str | None, actor: str, routes: list[Route], values: dict[str, str], folder) -> list[str]:
    """Every route requested by one actor, in order; what answered otherwise than expected."""
    from fastapi.testclient import TestClient

    client = sign_in(app, name) if name else TestClient(app, base_url="http://testserver")
    token = (page_csrf(client, "/api/docs") if name else "no-session")
    header = api_csrf(client) if name else "no-session"
    wrong = []
    for route in routes:
        path = route.path
        for key, value in values.items():
            path = path.replace(key, value)
        files = {"file": (route.files, (folder / route.files).read_bytes(), XLSX)} if route.files else None
        if route.method == "GET":
            response = client.get(path, follow_redirects=False)
        elif path.startswith("/api"):
            headers = {"x-csrf-token": header}
            if route.json is not None:
                response = client.request(route.method, path, json=route.json, headers=headers)
            else:
                response = client.request(route.method, path, data=route.data, files=files, headers=headers)
        else:
            response = client.post(path, data={**(route.data or {}), "csrf_token": token}, files=files,
                                   follow_redirects=False)
        if response.status_code != route.expected(actor):
            wrong.append(f"{route.method} {path}: {response.status_code}, expected {route.expected(actor)}: "
                         f"{response.text[:200]}")
    return wrong


def test_signed_out_visitors_are_sent_to_sign_in_and_come_back_to_the_page_they_asked_for(web_db, tmp_path):
    from fastapi.testclient import TestClient

    client = TestClient(make_app(web_db.url, tmp_path / "evidence", NOW), base_url="http://testserver")
    response = client.get("/deliverables/hrss-4", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/signin?next=%2Fdeliverables%2Fhrss-4"
