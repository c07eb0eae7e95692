"""The evidence store: real files under tmp_path, content-addressed, atomic, and strict about what it keeps."""

from __future__ import annotations

import builtins
import hashlib
import io
import os
import zipfile
from pathlib import Path

import pytest

from responsibilities.tracking.evidence import (
    MAX_EVIDENCE_BYTES,
    EvidenceLink,
    EvidenceRejected,
    EvidenceStore,
    StoredFile,
    is_link,
    parse_link,
)

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(40))
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(40)) + b"\xff\xd9"
GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00" + bytes(20)
OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)
ELF = b"\x7fELF\x02\x01\x01\x00" + bytes(8) + b"\x02\x00\x3e\x00" + bytes(40)
MZ = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + bytes(48) + b"PE\x00\x00"


def zip_bytes(*members: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for member in members:
            archive.writestr(member, "<x/>")
    return buffer.getvalue()


DOCX = zip_bytes("[Content_Types].xml", "_rels/.rels", "word/document.xml")
XLSX = zip_bytes("[Content_Types].xml", "xl/workbook.xml")
PPTX = zip_bytes("[Content_Types].xml", "ppt/presentation.xml")
OFD = zip_bytes("OFD.xml", "Doc_0/Document.xml")
ZIP = zip_bytes("notes/a.txt", "b.txt")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def store(root: Path) -> EvidenceStore:
    return EvidenceStore(root)


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / "uploads" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def files_in(root: Path) -> list[str]:
    """Everything in the store tree, temp files included."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.exists() else []


# --- content addressing -----------------------------------------------------------------------------------

def test_a_file_is_stored_under_its_hash_with_the_first_two_hex_digits_as_a_folder(store, root, tmp_path):
    stored = store.put_file(write(tmp_path, "报告.pdf", PDF))
    sha = hashlib.sha256(PDF).hexdigest()
    assert stored == StoredFile(sha, len(PDF), "application/pdf", "报告.pdf", root / sha[:2] / sha[2:])
    assert stored.path.read_bytes() == PDF
    assert files_in(root) == [f"{sha[:2]}/{sha[2:]}"]


def test_the_same_content_twice_is_stored_once_and_not_rewritten(store, root, tmp_path):
    first = store.put_file(write(tmp_path, "a.pdf", PDF))
    before = first.path.stat()
    second = store.put_file(write(tmp_path, "a.pdf", PDF))
    assert second.sha256 == first.sha256 and second.path == first.path
    assert files_in(root) == [f"{first.sha256[:2]}/{first.sha256[2:]}"]
    after = first.path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_the_same_content_under_different_names_is_one_file_with_each_display_name(store, root, tmp_path):
    one = store.put_file(write(tmp_path, "第一季度.pdf", PDF))
    two = store.put_bytes(PDF, filename="copy for review.pdf")
    assert one.sha256 == two.sha256 and one.path == two.path
    assert (one.filename, two.filename) == ("第一季度.pdf", "copy for review.pdf")
    assert len(files_in(root)) == 1


def test_put_file_uses_the_given_filename_instead_of_the_source_name(store, tmp_path):
    stored = store.put_file(write(tmp_path, "tmpXYZ123", PDF), filename="整改报告.pdf")
    assert stored.filename == "整改报告.pdf"


def test_open_reads_back_the_exact_bytes(store, tmp_path):
    data = PNG + os.urandom(200_000)
    stored = store.put_file(write(tmp_path, "photo.png", data))
    with store.open(stored.sha256) as handle:
        assert handle.read() == data
    with store.open(stored.sha256.upper()) as handle:
        assert handle.read() == data


def test_open_with_an_unknown_hash_is_file_not_found(store):
    with pytest.raises(FileNotFoundError):
        store.open("0" * 64)


@pytest.mark.parametrize("reference", ["../x", "../" + "a" * 61, "ab/" + "c" * 61, "/etc/passwd", "", "g" * 64,
                                       "a" * 63, "a" * 65, "a" * 64 + "\n"])
def test_open_with_a_malformed_hash_is_rejected_without_touching_the_filesystem(store, tmp_path, monkeypatch,
                                                                                reference):
    (tmp_path / "x").write_bytes(b"outside the store")

    def no_filesystem(*args, **kwargs):
        raise AssertionError("the filesystem was touched")

    with monkeypatch.context() as m:
        m.setattr(builtins, "open", no_filesystem)
        m.setattr(io, "open", no_filesystem)
        m.setattr(os, "open", no_filesystem)
        m.setattr(os, "stat", no_filesystem)
        with pytest.raises(EvidenceRejected) as rejected:
            store.open(reference)
    assert "不是有效的佐证材料编号(应为 64 位十六进制字符)" in str(rejected.value)


# --- size limit ------------------------------------------------------------------------------------------

def test_the_default_limit_is_20_mb_and_is_named_in_the_rejection(tmp_path):
    store = EvidenceStore(tmp_path / "store")
    assert store.max_bytes == MAX_EVIDENCE_BYTES == 20 * 1024 * 1024
    with pytest.raises(EvidenceRejected, match=r"big\.pdf:超过 20 MB 的上限;请压缩"):
        store.put_bytes(b"%PDF-" + bytes(MAX_EVIDENCE_BYTES), filename="big.pdf")
    assert files_in(tmp_path / "store") == []


def test_a_file_exactly_at_the_limit_is_accepted(root, tmp_path):
    store = EvidenceStore(root, max_bytes=len(PDF))
    assert store.put_file(write(tmp_path, "a.pdf", PDF)).size == len(PDF)
    assert store.put_bytes(PDF, filename="a.pdf").size == len(PDF)


def test_a_file_one_byte_over_the_limit_is_rejected_with_the_limit_in_mb(root, tmp_path):
    store = EvidenceStore(root, max_bytes=len(PDF) - 1)
    with pytest.raises(EvidenceRejected, match=r"a\.pdf:超过 .* MB.* 的上限"):
        store.put_file(write(tmp_path, "a.pdf", PDF))
    with pytest.raises(EvidenceRejected, match="MB"):
        store.put_bytes(PDF, filename="a.pdf")
    assert files_in(root) == []


def test_a_file_that_grows_past_the_limit_while_being_read_is_rejected_and_leaves_nothing(root, tmp_path,
                                                                                           monkeypatch):
    store = EvidenceStore(root, max_bytes=100_000)
    source = write(tmp_path, "growing.txt", b"a" * 10)  # small when checked, large when read
    real_open = Path.open

    def open_grown(self, *args, **kwargs):
        if self == source:
            return io.BytesIO(b"a" * 300_000)
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", open_grown)
    with pytest.raises(EvidenceRejected, match="growing.txt:超过"):
        store.put_file(source)
    assert files_in(root) == []


def test_an_empty_file_is_rejected(store, root, tmp_path):
    with pytest.raises(EvidenceRejected, match=r"empty\.pdf:文件是空的"):
        store.put_file(write(tmp_path, "empty.pdf", b""))
    with pytest.raises(EvidenceRejected, match="empty.pdf:文件是空的"):
        store.put_bytes(b"", filename="empty.pdf")
    assert files_in(root) == []


# --- kinds of file ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "data", "content_type"), [
    ("报告.pdf", PDF, "application/pdf"),
    ("现场.png", PNG, "image/png"),
    ("现场.jpg", JPEG, "image/jpeg"),
    ("现场.jpeg", JPEG, "image/jpeg"),
    ("动图.gif", GIF, "image/gif"),
    ("方案.docx", DOCX, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ("台账.xlsx", XLSX, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("汇报.pptx", PPTX, "application/vnd.openxmlformats-officedocument.presentationml.presentation"),
    ("公文.ofd", OFD, "application/ofd"),
    ("材料.zip", ZIP, "application/zip"),
    ("旧版.doc", OLE, "application/x-ole-storage"),
    ("旧版.xls", OLE, "application/x-ole-storage"),
    ("旧版.wps", OLE, "application/x-ole-storage"),
    ("说明.txt", "已按期完成整改，详见附件。\n".encode(), "text/plain"),
    ("台账.CSV", "序号,任务,责任单位\n1,优化营商环境,市发展改革委\n".encode(), "text/csv"),
    ("说明-GB18030.txt", "已按期完成整改。\n".encode("gb18030"), "text/plain"),
    ("台账-GBK.csv", "序号,任务\n".encode("gbk"), "text/csv"),
])
def test_each_accepted_kind_is_detected_from_its_content(store, tmp_path, name, data, content_type):
    stored = store.put_file(write(tmp_path, name, data))
    assert stored.content_type == content_type
    assert stored.filename == name


@pytest.mark.parametrize(("name", "data", "shown"), [
    ("no extension", "纯文本说明".encode(), "no extension.txt"), ("scan", PDF, "scan.pdf"),
    ("材料 2019.10", ZIP, "材料 2019.10.zip"), ("方案", DOCX, "方案.docx"),
])
def test_a_name_without_an_extension_is_given_the_one_of_its_content(store, name, data, shown):
    assert store.put_bytes(data, filename=name).filename == shown


def test_a_legacy_office_file_without_an_extension_is_refused_asking_for_one(store, root):
    with pytest.raises(EvidenceRejected, match=r"^旧文档:文件名没有扩展名.*加上 \.doc、\.xls 或 \.ppt"):
        store.put_bytes(OLE, filename="旧文档")
    assert files_in(root) == []


def test_the_kind_comes_from_the_content_not_from_the_name(store):
    assert store.put_bytes(PDF, filename="scan").content_type == "application/pdf"
    assert store.put_bytes(PDF, filename="scan.PDF").filename == "scan.PDF"
    assert store.put_bytes(DOCX, filename="方案.zip").content_type.endswith("wordprocessingml.document")


def test_long_utf8_text_split_across_chunks_is_still_text(store):
    data = ("督办事项：全面完成。" * 20_000).encode()  # multi-byte characters straddle 64 KiB chunk edges
    assert store.put_bytes(data, filename="长文本.txt").content_type == "text/plain"


@pytest.mark.parametrize(("name", "data"), [
    ("tool", ELF), ("setup.bin", MZ), ("noise.dat", os.urandom(4096) + b"\x00"),
    ("utf16.txt", "中文".encode("utf-16")), ("latin.bin", b"caf\xe9 \xff\xfe"),
])
def test_binaries_and_random_bytes_are_rejected_naming_the_file_and_what_is_accepted(store, root, tmp_path,
                                                                                      name, data):
    with pytest.raises(EvidenceRejected) as rejected:
        store.put_file(write(tmp_path, name, data))
    message = str(rejected.value)
    assert message.startswith(f"{name}:不接收此类文件(可接收:PDF、Word、Excel、PowerPoint、OFD")
    assert files_in(root) == []


def test_a_text_file_in_neither_utf8_nor_gb18030_gets_told_which_encodings_to_save_in(store):
    with pytest.raises(EvidenceRejected, match="文本文件须以 UTF-8 或 GB18030 编码保存"):
        store.put_bytes("序号,任务\n".encode("utf-16"), filename="台账.csv")


@pytest.mark.parametrize("name", ["report.exe", "run.bat", "install.ps1", "x.js"])
def test_names_that_would_run_as_programs_are_rejected_even_with_text_content(store, root, name):
    with pytest.raises(EvidenceRejected, match=rf"^{name.replace('.', '[.]')}:不接收此类文件:.* 文件会作为程序运行"):
        store.put_bytes(b"echo hello\n", filename=name)
    assert files_in(root) == []


def test_a_damaged_zip_is_rejected_with_advice(store, root):
    with pytest.raises(EvidenceRejected, match=r"方案\.docx:看起来是 ZIP 或 Office 文件,但无法打开"):
        store.put_bytes(DOCX[:40], filename="方案.docx")
    assert files_in(root) == []


@pytest.mark.parametrize(("name", "data", "says"), [
    ("x.pdf", PNG, "文件名是 .pdf,内容却是PNG 图片"),
    ("photo.jpg", PNG, "文件名是 .jpg,内容却是PNG 图片"),
    ("方案.docx", ZIP, "文件名是 .docx,内容却是ZIP 压缩包"),
    ("台账.xlsx", DOCX, "文件名是 .xlsx,内容却是Word 文档(.docx)"),
    ("公文.ofd", PDF, "文件名是 .ofd,内容却是PDF 文件"),
    ("scan.pdf", b"just some text", "文件名是 .pdf,内容却是纯文本"),
    ("notes.txt", PDF, "文件名是 .txt,内容却是PDF 文件"),
])
def test_a_name_that_contradicts_the_content_is_rejected_saying_both(store, root, name, data, says):
    with pytest.raises(EvidenceRejected) as rejected:
        store.put_bytes(data, filename=name)
    assert str(rejected.value).startswith(f"{name}:{says};请按内容改正文件名")
    assert files_in(root) == []


def test_a_renamed_legacy_office_file_is_not_a_contradiction(store):
    assert store.put_bytes(OLE, filename="old.docx").content_type == "application/x-ole-storage"


# --- safe names ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("given", "shown"), [
    ("../../etc/passwd", "passwd.txt"),
    ("C:\\x\\报告.pdf", "报告.pdf"),
    ("/var/tmp/dir/", "dir.txt"),
    ("a\x00b\x1b[31mc\x7f.txt", "ab[31mc.txt"),
    ("evil\u202etxt.exe.txt", "eviltxt.exe.txt"),
    ('what<>:"|?*.txt', "what.txt"),
    ("  many \t\n spaces   here .txt", "many spaces here .txt"),
    (".hidden", "hidden.txt"),
    ("...  .bashrc", "bashrc.txt"),
    ("trailing dots...", "trailing dots.txt"),
    ("CON.txt", "_CON.txt"),
    ("第三季度 整改情况 报告（终稿）.txt", "第三季度 整改情况 报告（终稿）.txt"),
])
def test_the_display_name_is_made_safe(store, given, shown):
    data = PDF if given.endswith(".pdf") else b"text"
    assert store.put_bytes(data, filename=given).filename == shown


def test_a_300_character_name_is_cut_to_200_bytes_keeping_the_extension(store):
    stored = store.put_bytes(PDF, filename="报" * 300 + ".pdf")
    assert stored.filename == "报" * 65 + ".pdf" and len(stored.filename.encode()) == 199


@pytest.mark.parametrize(("given", "data", "shown"), [
    ("../..", PDF, "evidence.pdf"), ("<>|", PNG, "evidence.png"), ("", b"text", "evidence.txt"),
    ("\x01\x02", DOCX, "evidence.docx"),
])
def test_a_name_that_cleans_to_nothing_becomes_evidence_plus_the_detected_extension(store, given, data, shown):
    assert store.put_bytes(data, filename=given).filename == shown


def test_the_stored_path_never_contains_the_given_name(store, root):
    stored = store.put_bytes(PDF, filename="../../outside.pdf")
    assert stored.path.parent.parent == root and "outside" not in str(stored.path)
    assert not (root.parent / "outside.pdf").exists()


# --- unreadable sources and leftovers --------------------------------------------------------------------

def test_a_missing_source_is_rejected_naming_the_path(store, root, tmp_path):
    missing = tmp_path / "nowhere" / "report.pdf"
    with pytest.raises(EvidenceRejected, match=rf"^{missing}:无法读取,文件不存在"):
        store.put_file(missing)
    assert files_in(root) == []


def test_a_folder_as_source_is_rejected_naming_the_path(store, root, tmp_path):
    with pytest.raises(EvidenceRejected, match=rf"^{tmp_path}:这是文件夹,不是文件"):
        store.put_file(tmp_path)
    assert files_in(root) == []


def test_an_unreadable_source_is_rejected_as_permission_denied(store, root, tmp_path, monkeypatch):
    source = write(tmp_path, "secret.pdf", PDF)
    source.chmod(0)
    if os.name != "posix" or os.geteuid() == 0:  # root reads any file: make the denial happen anyway
        def denied(self, *args, **kwargs):
            raise PermissionError(13, "Permission denied", str(self))
        monkeypatch.setattr(Path, "open", denied)
    try:
        with pytest.raises(EvidenceRejected, match=rf"^{source}:无法读取,没有读取权限"):
            store.put_file(source)
    finally:
        source.chmod(0o600)
    assert files_in(root) == []


def test_a_read_error_midway_is_rejected_and_leaves_nothing(store, root, tmp_path, monkeypatch):
    source = write(tmp_path, "flaky.pdf", PDF)

    class Flaky(io.BytesIO):
        def read(self, size=-1):
            if self.tell() > 0:
                raise OSError(5, "Input/output error")
            return super().read(10)

    monkeypatch.setattr(Path, "open", lambda self, *a, **k: Flaky(PDF))
    with pytest.raises(EvidenceRejected, match=rf"^{source}:无法读取文件:Input/output error"):
        store.put_file(source)
    monkeypatch.undo()
    assert files_in(root) == []


def test_a_stored_file_is_written_completely_before_it_appears(store, root, monkeypatch):
    """os.replace is the only way a file reaches its final place; fsync comes first."""
    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (events.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(os, "replace", lambda a, b: (events.append("replace"), real_replace(a, b))[1])
    stored = store.put_bytes(PDF, filename="a.pdf")
    assert events[:2] == ["fsync", "replace"]
    assert files_in(root) == [f"{stored.sha256[:2]}/{stored.sha256[2:]}"]


# --- links -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("url", [
    "https://www.guizhou.gov.cn/zwgk/zfgb/202001/t20200101_1.html",
    "http://example.gov.cn:8080/报告?id=3&x=%E4%B8%AD#part",
    "HTTPS://EXAMPLE.COM/",
])
def test_a_good_web_link_is_kept_as_given(url):
    assert parse_link(f"  {url}\n") == EvidenceLink(url, None)


@pytest.mark.parametrize(("text", "why"), [
    ("ftp://files.example.com/report.pdf", "只接收 http:// 和 https:// 开头的链接"),
    ("javascript:alert(1)", "只接收 http:// 和 https:// 开头的链接"),
    ("file:///etc/passwd", "只接收 http:// 和 https:// 开头的链接"),
    ("www.example.com/report", "只接收 http:// 和 https:// 开头的链接"),
    ("https:///path/only", "链接缺少网站地址"),
    ("https://", "链接缺少网站地址"),
    ("https://user:secret@example.com/x", "链接中含有用户名或密码"),
    ("https://token@example.com/x", "链接中含有用户名或密码"),
    ("https://example.com:99999/", "不是有效的网址"),
    ("https://example.com/a b", "链接中不能有空格"),
    ("https://example.com/" + "a" * 2000, "链接超过 2000 个字符"),
])
def test_a_bad_link_is_rejected_saying_why(text, why):
    with pytest.raises(EvidenceRejected, match=why):
        parse_link(text)


def test_a_link_of_exactly_2000_characters_is_accepted():
    url = "https://example.com/" + "a" * (2000 - len("https://example.com/"))
    assert parse_link(url).url == url


@pytest.mark.parametrize(("text", "expected"), [
    ("https://example.com", True), ("HTTP://example.com", True), ("  https://x", True),
    ("report.pdf", False), ("./http://x", False), ("ftp://example.com", False), ("httpsfoo", False),
])
def test_is_link_tells_links_from_file_paths_by_the_http_prefix(text, expected):
    assert is_link(text) is expected
