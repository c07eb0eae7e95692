"""A workbook bomb against the running application: how long its refusal takes, what it costs the server's memory,
and how long a sign-in takes meanwhile, next to a sign-in on an idle server (the floor).

Run by hand, not by the test suite:

    .venv/bin/python benchmarks/upload_bomb.py [--cells 10000000] [--repeat 5]

It loads the seed plan into a fresh SQLite file, gives the office a password, and serves the application with
uvicorn on 127.0.0.1 in this process. Then: a sign-in on the idle server (the floor); the probe's workbook of
``--cells`` cells (``<c><v>1</v></c>`` repeated, deflated: ~400 KB for ten million) posted to /api/figures/import
while another client signs in; and a legal but heavy workbook (the form and three copies, each of 200 rows padded
with 300 cells past the form's columns) the same way. Printed: each upload's answer and time, the sign-in's time
during it, and the process's peak resident memory (ru_maxrss) before and after.
"""

from __future__ import annotations

import argparse
import io
import resource
import statistics
import sys
import tempfile
import threading
import time
import zipfile
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import uvicorn  # noqa: E402

from responsibilities.plan.loader import load_plan  # noqa: E402
from responsibilities.storage.db import make_engine, make_session_factory  # noqa: E402
from responsibilities.storage.migrate import upgrade  # noqa: E402
from responsibilities.storage.plan_sync import sync_plan  # noqa: E402
from responsibilities.tracking.accounts import set_password  # noqa: E402
from responsibilities.tracking.services import add_user  # noqa: E402
from workflows.settings import Settings  # noqa: E402
from workflows.web.app import create_app  # noqa: E402

NOW = datetime(2020, 4, 3, 9, tzinfo=ZoneInfo("Asia/Shanghai"))
OFFICE, CLERK, PASSWORD = "office", "guiping-clerk", "benchmark password 2020"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PARTS = {
    "[Content_Types].xml": '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
                           'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-'
                           'package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
                           '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
                           'officedocument.spreadsheetml.sheet.main+xml"/></Types>',
    "_rels/.rels": '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
                   'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/'
                   '2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>',
    "xl/workbook.xml": '<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/'
                       'main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
                       '<sheet name="月报表" sheetId="1" r:id="rId1"/></sheets></workbook>',
    "xl/_rels/workbook.xml.rels": '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/'
                                  'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.'
                                  'openxmlformats.org/officeDocument/2006/relationships/worksheet" Target='
                                  '"worksheets/sheet1.xml"/></Relationships>',
}


def bomb(cells: int) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, content in PARTS.items():
            archive.writestr(name, content)
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                        b'<sheetData><row r="1">')
            chunk = b"<c><v>1</v></c>" * 10_000
            for _ in range(cells // 10_000):
                sheet.write(chunk)
            sheet.write(b"</row></sheetData></worksheet>")
    return out.getvalue()


def heavy_but_legal(session_factory) -> bytes:
    from openpyxl import load_workbook

    from responsibilities.figures.xlsx import FORM_SHEET, MAX_ROWS, form_for

    book = load_workbook(io.BytesIO(form_for(session_factory, month=NOW.date().replace(month=3, day=1),
                                             regions=["guiping"])))
    for i in range(3):
        book.copy_worksheet(book[FORM_SHEET]).title = f"月报表{i + 2}"
    plain = io.BytesIO()
    book.save(plain)
    help_sheet = f"xl/worksheets/sheet{book.sheetnames.index('填表说明') + 1}.xml"
    padding = "".join(f'<c r="{column}{{n}}"><v>1</v></c>' for column in _columns(30, 330))
    rows = "".join(f'<row r="{n}"><c r="A{n}" t="inlineStr"><is><t>guiping</t></is></c>'
                   + padding.format(n=n) + "</row>" for n in range(2, MAX_ROWS + 2)).encode()
    out = io.BytesIO()
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info)
            if info.filename.startswith("xl/worksheets/sheet") and info.filename != help_sheet:
                header = content.partition(b"</row>")[0]
                content = header + b"</row>" + rows + b"</sheetData>" + content.partition(b"</sheetData>")[2]
            target.writestr(info.filename, content)
    return out.getvalue()


def _columns(start: int, end: int) -> list[str]:
    names = []
    for index in range(start + 1, end + 1):
        name = ""
        while index:
            index, rest = divmod(index - 1, 26)
            name = chr(65 + rest) + name
        names.append(name)
    return names


def prepared(folder: Path) -> str:
    url = f"sqlite:///{folder / 'bomb.sqlite3'}"
    engine = make_engine(url)
    upgrade(engine)
    sessions = make_session_factory(engine)
    sync_plan(sessions, load_plan(ROOT / "deadlines.yaml"), now=NOW)
    for name, role in ((OFFICE, "office"), (CLERK, "unit:guiping")):
        add_user(sessions, name=name, role=role, now=NOW)
        set_password(sessions, name=name, password=PASSWORD, now=NOW)
    engine.dispose()
    return url


def serve(app) -> tuple[uvicorn.Server, str]:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.01)
    return server, f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"


def sign_in_seconds(base: str) -> float:
    with httpx.Client(base_url=base, timeout=120) as client:
        began = time.perf_counter()
        assert client.post("/api/session", json={"name": CLERK, "password": PASSWORD}).status_code == 200
        return time.perf_counter() - began


def upload_while_signing_in(base: str, data: bytes) -> tuple[int, float, float, str]:
    """(status, upload seconds, sign-in seconds during it, the answer's message)."""
    from workflows.web import figures_forms

    done: dict[str, object] = {}

    def upload() -> None:
        with httpx.Client(base_url=base, timeout=120) as client:
            token = client.post("/api/session", json={"name": OFFICE, "password": PASSWORD}).json()["csrf_token"]
            began = time.perf_counter()
            response = client.post("/api/figures/import", files={"file": ("月报.xlsx", data, XLSX)},
                                   headers={"X-CSRF-Token": token})
            done.update(status=response.status_code, seconds=time.perf_counter() - began,
                        message=response.json()["error"]["message"] if response.status_code >= 400 else "")

    worker = threading.Thread(target=upload)
    worker.start()
    deadline = time.monotonic() + 30
    while OFFICE not in figures_forms._uploading and worker.is_alive() and time.monotonic() < deadline:
        time.sleep(0.001)
    during = sign_in_seconds(base)
    worker.join()
    return done["status"], done["seconds"], during, done["message"]


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cells", type=int, default=10_000_000, help="cells in the bomb (default: ten million)")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each measurement; medians are printed")
    args = parser.parse_args(argv)
    data = bomb(args.cells)
    with tempfile.TemporaryDirectory() as folder:
        url = prepared(Path(folder))
        settings = replace(Settings.from_environment(), database_url=url, evidence_dir=Path(folder) / "evidence",
                           base_url="http://127.0.0.1")
        app = create_app(settings, now=lambda: NOW)
        heavy = heavy_but_legal(app.state.web.sessions)
        server, base = serve(app)
        try:
            floor = statistics.median(sign_in_seconds(base) for _ in range(args.repeat))
            print(f"sign-in on the idle server (the floor): median {floor * 1000:.0f} ms")
            for name, workbook in ((f"bomb: {args.cells:,} cells in {len(data) / 1024:.0f} KB", data),
                                   (f"heavy but legal: {len(heavy) / 1024:.0f} KB, 4 sheets of 200 × 300 cells",
                                    heavy)):
                before = peak_mib()
                runs = [upload_while_signing_in(base, workbook) for _ in range(args.repeat)]
                status, _, _, message = runs[-1]
                upload = statistics.median(r[1] for r in runs)
                during = statistics.median(r[2] for r in runs)
                print(f"{name}\n  answer {status} ({message}); upload median {upload * 1000:.0f} ms; "
                      f"sign-in meanwhile median {during * 1000:.0f} ms ({during / floor:.1f}× the floor); "
                      f"peak RSS {before:.0f} → {peak_mib():.0f} MiB")
        finally:
            server.should_exit = True
    return 0


if __name__ == "__main__":
    sys.exit(main())
