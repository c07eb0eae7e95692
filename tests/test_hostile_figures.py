"""Hostile input where numbers and workbooks come in: the monthly figures, door by door (the service, the page's
form, the JSON API, the command line, the XLSX import). Each case is refused with a 4xx or a message, writes
nothing, and never answers 500 or prints a traceback; a bad value already stored never takes a view down.

The clock is 3 April 2020: guiping owes the reports of November 2019 to March 2020.
"""

from __future__ import annotations

import io
import threading
import time
import zipfile
from datetime import date

import pytest
import uvicorn
from openpyxl import load_workbook
from sqlalchemy import text

from responsibilities.figures.rules import MAX_COUNT
from responsibilities.figures.service import FiguresInvalid, submit_figures
from responsibilities.figures.xlsx import FORM_SHEET, MAX_MEMBER_BYTES, MAX_ROWS, form_for, import_form
from responsibilities.tracking import services

from conftest import FINANCE, GUIPING, LEADER, OFFICE, at, database_unchanged, run_duban
from web_support import PASSWORD, api_csrf, make_app, page_csrf, sign_in

pytestmark = pytest.mark.both_databases

NOW = at(2020, 4, 3)
MARCH = date(2020, 3, 1)
GOOD = {"total": 900, "enterprise-workers": 500, "key-groups": 300, "graduates": 50, "migrant-workers": 100,
        "school-leavers": 30, "laid-off": 40, "veterans": 20, "hard-to-employ": 10, "poor-labour": 80,
        "new-apprentices": 9}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# What a hostile or careless person types where a person-time count goes, and what the refusal says: as the
# service and the JSON API take them (numbers or text), and as a form sends them (text only).
TYPED = [
    pytest.param("9223372036854775807", "超出合理范围", id="the largest 64-bit integer"),
    pytest.param("1" * 23, "太长", id="a 23-digit number"),
    pytest.param("1e30", "超出合理范围", id="1e30"),
    pytest.param("1e400", "不是整数", id="a number that is infinite"),
    pytest.param(f"{MAX_COUNT + 1}", "超出合理范围", id="one more than the bound"),
    pytest.param("1,000,001", "超出合理范围", id="one more than the bound with separators"),
    pytest.param("-1", "负数", id="minus one"),
    pytest.param("-9223372036854775808", "负数", id="the smallest 64-bit integer"),
    pytest.param("12.5", "不是整数", id="a fraction"),
    pytest.param("十二", "不是数字", id="Chinese numerals"),
    pytest.param("", "未填写", id="nothing"),
]
BAD_COUNTS = [
    *TYPED,
    pytest.param(9223372036854775807, "超出合理范围", id="the largest 64-bit integer as a number"),
    pytest.param(10**30, "超出合理范围", id="ten to the thirtieth as a number"),
    pytest.param(1e30, "超出合理范围", id="1e30 as a float"),
    pytest.param(float("inf"), "不是整数", id="infinity as a float"),
    pytest.param(MAX_COUNT + 1, "超出合理范围", id="one more than the bound as a number"),
    pytest.param(-1, "负数", id="minus one as a number"),
    pytest.param(True, "不是人次数", id="true"),
]


def with_total(value) -> dict:
    return {**GOOD, "total": value}


@pytest.fixture
def app(web_db, tmp_path):
    return make_app(web_db.url, tmp_path / "evidence", NOW)


# ── the service: every door ends here ────────────────────────────────────────────────────────────


@pytest.mark.parametrize("value, says", BAD_COUNTS)
def test_the_service_refuses_a_count_out_of_range_and_writes_nothing(loaded, session_factory, value, says):
    with pytest.raises(FiguresInvalid, match=says), database_unchanged(loaded):
        submit_figures(session_factory, actor=GUIPING, region="guiping", month=MARCH, values=with_total(value),
                       now=NOW)


def test_the_largest_plausible_month_is_accepted(loaded, session_factory):
    values = {**{k: 0 for k in GOOD}, "total": MAX_COUNT, "enterprise-workers": MAX_COUNT}
    recorded = submit_figures(session_factory, actor=GUIPING, region="guiping", month=MARCH, values=values, now=NOW)
    assert recorded.version == 1


def test_a_flood_of_unknown_fields_is_a_few_lines_not_one_per_field(loaded, session_factory):
    flood = {**GOOD, **{f"x{i}": 1 for i in range(10_000)}}
    with pytest.raises(FiguresInvalid) as refused, database_unchanged(loaded):
        submit_figures(session_factory, actor=GUIPING, region="guiping", month=MARCH, values=flood, now=NOW)
    assert len(refused.value.problems) <= 6 and any("另有 9995 个未知的填报项" in p for p in refused.value.problems)


# ── the page's form and the JSON API ─────────────────────────────────────────────────────────────


# JSON has no infinity, and the API reads each value as the text a person typed, as the form does.
API_COUNTS = [
    *TYPED,
    pytest.param(9223372036854775807, "超出合理范围", id="the largest 64-bit integer as a number"),
    pytest.param(10**30, "太长", id="ten to the thirtieth as a number"),
    pytest.param(1e30, "超出合理范围", id="1e30 as a float"),
    pytest.param(MAX_COUNT + 1, "超出合理范围", id="one more than the bound as a number"),
    pytest.param(-1, "负数", id="minus one as a number"),
    pytest.param(True, "不是数字", id="true"),
]


@pytest.mark.parametrize("value, says", API_COUNTS)
def test_the_api_answers_422_naming_the_field_and_writes_nothing(app, web_db, value, says):
    clerk = sign_in(app, GUIPING)
    with database_unchanged(web_db):
        response = clerk.post("/api/units/guiping/figures", json={"month": "2020-03", "values": with_total(value)},
                              headers={"X-CSRF-Token": api_csrf(clerk)})
    assert response.status_code == 422, response.text
    assert says in response.text


@pytest.mark.parametrize("value, says", TYPED)
def test_the_form_comes_back_with_the_message_next_to_the_field_and_writes_nothing(app, web_db, value, says):
    clerk = sign_in(app, GUIPING)
    data = {"month": "2020-03", **{k: str(v) for k, v in with_total(value).items()},
            "csrf_token": page_csrf(clerk, "/units/guiping")}
    with database_unchanged(web_db):
        response = clerk.post("/units/guiping/figures", data=data, follow_redirects=False)
    assert response.status_code == 422
    assert says in response.text


@pytest.mark.parametrize("body, status", [
    pytest.param(b'{"month": "2020-03", "values": {"total": ' + b"9" * 5000 + b"}}", 400,
                 id="a JSON integer of 5000 digits"),
    pytest.param(b'{"month": "2020-03", "values": {"total": Infinity}}', 422, id="JSON Infinity"),
    pytest.param(b'{"month": "2020-03", "values": {"total": NaN}}', 422, id="JSON NaN"),
    pytest.param(b'{"month": "2020-03", "values": {"total": 1e999}}', 422, id="a JSON number that overflows"),
    pytest.param(b'{"month": "2020-03", "values": {' + b",".join(b'"f%d": 1' % i for i in range(100)) + b"}}",
                 422, id="a hundred fields"),
    pytest.param(b'{"month": "2020-03", "values": {"' + b"k" * 100 + b'": 1}}', 422, id="a 100-character field"),
    pytest.param(b'{"month": "2020-03", "values": {"total": "' + b"1" * 5000 + b'"}}', 422,
                 id="a 5000-character count"),
    pytest.param(b'{"month": "2020-03", "values": []}', 422, id="values as a list"),
    pytest.param(b'{"month": "' + b"2" * 100 + b'", "values": {}}', 422, id="a 100-character month"),
])
def test_malformed_api_bodies_get_a_4xx_and_write_nothing(app, web_db, body, status):
    clerk = sign_in(app, GUIPING)
    with database_unchanged(web_db):
        response = clerk.post("/api/units/guiping/figures", content=body,
                              headers={"X-CSRF-Token": api_csrf(clerk), "content-type": "application/json"})
    assert response.status_code == status, response.text


# ── the command line ─────────────────────────────────────────────────────────────────────────────


@pytest.mark.slow
@pytest.mark.parametrize("total", ["9223372036854775807", "1" * 23, "1" * 5000, "1e30", "-1"])
def test_figures_submit_refuses_an_impossible_count_with_one_line_and_exit_1(tmp_path, loaded, total):
    values = [f"{k}={v}" for k, v in with_total(total).items()]
    with database_unchanged(loaded):
        result = run_duban(tmp_path, "figures", "submit", "guiping", "2020-03", *values, "--as", GUIPING,
                           "--as-of", "2020-04-03", database=loaded)
    assert result.returncode == 1 and result.stderr.startswith("duban: ")
    assert "培训总人次" in result.stderr


# ── a bad value already stored ───────────────────────────────────────────────────────────────────


def store_out_of_range_total(database) -> int:
    """A second version of guiping's March report with an impossible total, written past the service (as a value
    stored before the bounds existed would be): the largest integer the column holds on this database."""
    biggest = 2**63 - 1 if database.dialect == "sqlite" else 2**31 - 1
    with database.raw() as connection:
        first = connection.execute(text("SELECT id, deliverable_id, region_unit_id, month, submitted_at "
                                        "FROM figure_reports ORDER BY id DESC")).first()
        connection.execute(text(
            "INSERT INTO figure_reports (deliverable_id, region_unit_id, month, version, kind, submitted_at, "
            "submitted_by, source) VALUES (:d, :r, :m, 2, 'submission', :s, 'guiping-clerk', 'web')"),
            {"d": first.deliverable_id, "r": first.region_unit_id, "m": first.month, "s": first.submitted_at})
        report = connection.execute(text("SELECT max(id) FROM figure_reports")).scalar_one()
        for field, value in GOOD.items():
            connection.execute(text("INSERT INTO figure_values (report_id, field_id, value) VALUES (:r, :f, :v)"),
                               {"r": report, "f": field, "v": biggest if field == "total" else value})
        connection.commit()
    return biggest


def test_an_impossible_value_already_stored_is_left_out_of_the_sums_and_named_on_every_view(app, web_db):
    submit_figures(web_db.session_factory, actor=GUIPING, region="guiping", month=MARCH, values=GOOD, now=NOW)
    biggest = store_out_of_range_total(web_db)
    office, clerk = sign_in(app, OFFICE), sign_in(app, GUIPING)
    for client, path in ((office, "/dashboard"), (office, "/figures"), (office, "/figures?year=2020"),
                         (clerk, "/units/guiping"), (office, "/api/progress?year=2020"),
                         (office, "/api/units/guiping/progress?year=2020"), (office, "/reports/2020"),
                         (office, "/api/reports/2020"), (office, "/reports/2020/summary-2020.xlsx"),
                         (sign_in(app, LEADER), "/figures")):
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code, response.text[:300])
    assert f"{biggest:,}" in office.get("/figures?year=2020").text and "未计入任何合计" in office.get(
        "/figures?year=2020").text
    progress = office.get("/api/progress?year=2020").json()
    assert progress["excluded"] == [{"region": "guiping", "month": "2020-03", "field": "total", "value": biggest,
                                     "version": 2}]
    guiping = next(r for r in progress["regions"] if r["region"] == "guiping")
    assert guiping["year"]["actual"] == 0  # the newest version counts, and its total is out of range


# ── the XLSX import ──────────────────────────────────────────────────────────────────────────────


def filled_form(session_factory, value=900) -> bytes:
    book = load_workbook(io.BytesIO(form_for(session_factory, month=MARCH, regions=["guiping"])))
    sheet = book[FORM_SHEET]
    for column, field_value in enumerate(with_total(value).values(), start=4):
        sheet.cell(row=2, column=column, value=field_value)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def bomb(cells: int = 10_000_000) -> bytes:
    """The probe's workbook: a sheet of ``cells`` cells (`<c><v>1</v></c>` repeated, deflated) in a few hundred
    kilobytes, its parts otherwise those of a real workbook."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("_rels/.rels", ROOT_RELS)
        archive.writestr("xl/workbook.xml", WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
                        b'<row r="1">')
            chunk = b"<c><v>1</v></c>" * 10_000
            for _ in range(cells // 10_000):
                sheet.write(chunk)
            sheet.write(b"</row></sheetData></worksheet>")
    return out.getvalue()


CONTENT_TYPES = ('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
                 'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
                 'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName='
                 '"/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.'
                 'main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.'
                 'openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>')
ROOT_RELS = ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
             '2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/'
             '2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>')
WORKBOOK = ('<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
            '2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
            '<sheet name="月报表" sheetId="1" r:id="rId1"/></sheets></workbook>')
WORKBOOK_RELS = ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
                 'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
                 'officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>')


@pytest.fixture(scope="module")
def ten_million_cells() -> bytes:
    return bomb()


def rezipped(data: bytes, change) -> bytes:
    """``data``'s archive with ``change(name, bytes) -> [(name, bytes), …]`` applied to each member."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            for name, content in change(info.filename, source.read(info)):
                target.writestr(name, content)
    return out.getvalue()


def with_rows(session_factory, rows: int) -> bytes:
    book = load_workbook(io.BytesIO(filled_form(session_factory)))
    sheet = book[FORM_SHEET]
    for _ in range(3, rows + 2):
        sheet.append(["guiping", "桂平市", "2020-03", *GOOD.values()])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def with_sheets(session_factory, count: int) -> bytes:
    book = load_workbook(io.BytesIO(filled_form(session_factory)))
    for i in range(count):
        book.copy_worksheet(book[FORM_SHEET]).title = f"表{i}"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


HOSTILE_WORKBOOKS = {
    "ten million cells in 400 KB": (lambda sf, bomb: bomb, "解压后过大"),
    "a sheet just over the member bound": (lambda sf, bomb: globals()["bomb"](MAX_MEMBER_BYTES // 16 + 10_000),
                                           "解压后过大"),
    "a hundred members": (lambda sf, bomb: rezipped(filled_form(sf), lambda n, c: [(n, c)] + (
        [(f"xl/media/x{i}.bin", b"0") for i in range(100)] if n == "[Content_Types].xml" else [])), "解压后过大"),
    "shared strings of 3 MB": (lambda sf, bomb: rezipped(filled_form(sf), lambda n, c: [(n, c)] + (
        [("xl/pad.xml", b" " * (3 * 1024 * 1024))] if n == "[Content_Types].xml" else [])), "解压后过大"),
    "not a zip": (lambda sf, bomb: b"PK\x03\x04" + b"\x00" * 500, "不是 Excel 工作簿"),
    "a zip that is no workbook": (lambda sf, bomb: rezipped(filled_form(sf), lambda n, c: [] if n.startswith(
        "xl/") else [(n, c)]), "不是 Excel 工作簿"),
    "a sheet whose XML is cut off": (lambda sf, bomb: rezipped(filled_form(sf), lambda n, c: [
        (n, c[: len(c) // 2] if "worksheets/" in n else c)]), "不是 Excel 工作簿"),
    "more rows than a form has": (lambda sf, bomb: with_rows(sf, MAX_ROWS + 5), f"最多 {MAX_ROWS} 行"),
    "more sheets than a form has": (lambda sf, bomb: with_sheets(sf, 25), "最多 20 个"),
    "an impossible total": (lambda sf, bomb: filled_form(sf, 9223372036854775807), "超出合理范围"),
}


@pytest.mark.parametrize("case", HOSTILE_WORKBOOKS)
def test_the_import_refuses_a_hostile_workbook_with_a_message_and_imports_nothing(
        loaded, session_factory, ten_million_cells, case):
    make, says = HOSTILE_WORKBOOKS[case]
    data = make(session_factory, ten_million_cells)
    with pytest.raises(FiguresInvalid) as refused, database_unchanged(loaded):
        import_form(session_factory, actor=OFFICE, data=data, now=NOW)
    assert any(says in problem for problem in refused.value.problems), refused.value.problems


def test_the_ten_million_cell_workbook_is_refused_over_the_api_as_a_422(app, web_db, ten_million_cells):
    office = sign_in(app, OFFICE)
    with database_unchanged(web_db):
        response = office.post("/api/figures/import", files={"file": ("月报.xlsx", ten_million_cells, XLSX)},
                               headers={"X-CSRF-Token": api_csrf(office)})
    assert response.status_code == 422 and "解压后过大" in response.text


@pytest.mark.parametrize("who", [LEADER, FINANCE])
def test_an_account_that_hands_in_no_figures_is_refused_before_its_workbook_is_read(app, web_db, who,
                                                                                      ten_million_cells):
    client = sign_in(app, who)
    with database_unchanged(web_db):
        api = client.post("/api/figures/import", files={"file": ("月报.xlsx", ten_million_cells, XLSX)},
                          headers={"X-CSRF-Token": api_csrf(client)})
        page = client.post("/figures/upload", data={"csrf_token": page_csrf(client, "/api/docs")},
                           files={"file": ("月报.xlsx", ten_million_cells, XLSX)}, follow_redirects=False)
    assert api.status_code == 403 and "只有领导小组办公室和报送月报的地区可以上传月报表" in api.text
    assert page.status_code == 403


# ── the server keeps answering ───────────────────────────────────────────────────────────────────


def slow_but_legal(session_factory, copies: int = 3) -> bytes:
    """A workbook within every bound that still takes the reader a second or so: the form and ``copies`` copies
    of it, each of 200 rows padded with 300 cells past the form's columns (parsed as XML, then ignored): about
    1.5 MB of XML a sheet."""
    book = load_workbook(io.BytesIO(filled_form(session_factory)))
    for i in range(copies):
        book.copy_worksheet(book[FORM_SHEET]).title = f"月报表{i + 2}"
    out = io.BytesIO()
    book.save(out)
    help_sheet = f"xl/worksheets/sheet{book.sheetnames.index('填表说明') + 1}.xml"

    def row(number: int) -> bytes:
        padding = b"".join(b'<c r="%s%d"><v>1</v></c>' % (_column(i).encode(), number) for i in range(30, 330))
        return b'<row r="%d"><c r="A%d" t="inlineStr"><is><t>guiping</t></is></c>%s</row>' % (number, number,
                                                                                                padding)

    rows = b"".join(row(number) for number in range(2, MAX_ROWS + 2))

    def change(name: str, content: bytes):
        if not name.startswith("xl/worksheets/sheet") or name == help_sheet:
            return [(name, content)]
        header, _, _ = content.partition(b"</row>")  # the sheet up to the end of its header row
        _, _, after = content.partition(b"</sheetData>")
        return [(name, header + b"</row>" + rows + b"</sheetData>" + after)]

    return rezipped(out.getvalue(), change)


def _column(index: int) -> str:
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(65 + rest) + name
    return name


@pytest.fixture
def live_server(app):
    """The application under uvicorn on 127.0.0.1, in a thread: requests really run side by side."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def uploading(user: str, timeout: float = 20) -> bool:
    """Wait until ``user``'s upload is being read."""
    from workflows.web import figures_forms

    deadline = time.monotonic() + timeout
    while user not in figures_forms._uploading:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


@pytest.mark.slow
def test_a_sign_in_is_answered_while_a_heavy_workbook_is_being_read(app, web_db, live_server):
    import httpx

    data = slow_but_legal(web_db.session_factory)
    finished: dict[str, float] = {}

    def upload() -> None:
        with httpx.Client(base_url=live_server, timeout=60) as client:
            token = client.post("/api/session", json={"name": OFFICE, "password": PASSWORD}).json()["csrf_token"]
            response = client.post("/api/figures/import", files={"file": ("月报.xlsx", data, XLSX)},
                                   headers={"X-CSRF-Token": token})
            finished["upload"] = time.monotonic()
            finished["upload status"] = response.status_code

    worker = threading.Thread(target=upload)
    worker.start()
    assert uploading(OFFICE), "the upload never started"
    with httpx.Client(base_url=live_server, timeout=60) as client:  # while the workbook is being read
        signed = client.post("/api/session", json={"name": GUIPING, "password": PASSWORD})
        finished["sign-in"] = time.monotonic()
    worker.join(timeout=60)
    assert signed.status_code == 200
    assert finished["upload status"] == 422  # rows of padding: refused, with every problem listed
    assert finished["sign-in"] < finished["upload"], "the sign-in waited for the workbook"


@pytest.mark.slow
def test_a_second_upload_from_the_same_account_while_the_first_is_read_is_refused_429(app, web_db, live_server):
    import httpx

    data = slow_but_legal(web_db.session_factory)
    with httpx.Client(base_url=live_server, timeout=60) as client:
        token = client.post("/api/session", json={"name": OFFICE, "password": PASSWORD}).json()["csrf_token"]

        def send():
            return client.post("/api/figures/import", files={"file": ("月报.xlsx", data, XLSX)},
                               headers={"X-CSRF-Token": token})

        first: dict[str, int] = {}
        worker = threading.Thread(target=lambda: first.update(status=send().status_code))
        worker.start()
        assert uploading(OFFICE), "the first upload never started"
        second = send()
        worker.join(timeout=60)
    assert second.status_code == 429 and "上一个月报表还在处理中" in second.text
    assert first["status"] == 422


def test_services_still_accept_the_form_the_template_makes(loaded, session_factory):
    recorded, skipped = import_form(session_factory, actor=OFFICE, data=filled_form(session_factory), now=NOW)
    assert [r.ref for r in recorded] == ["monthly-report.guiping@2020-03"] and skipped == []
    services.accept(session_factory, actor=OFFICE, ref="monthly-report.guiping@2020-03", now=NOW)
