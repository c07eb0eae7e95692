"""Evidence for handed-in deliverables: files kept in a content-addressed folder, and links.

Pure file IO, no database: callers record the returned ``StoredFile`` metadata themselves.
A file lies at ``root/ab/cdef…`` (its SHA-256, first two hex digits as a folder); the user's
name is only ever a display name. Writes are atomic and leave nothing behind on any error.
"""

from __future__ import annotations

import codecs
import contextlib
import hashlib
import os
import re
import stat
import tempfile
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit

MAX_EVIDENCE_BYTES = 20 * 1024 * 1024
MAX_LINK_CHARS = 2000
MAX_NAME_CHARS = 120
CHUNK = 64 * 1024
ACCEPTED = "PDF、Word、Excel、PowerPoint、OFD、PNG/JPEG/GIF 图片、纯文本/CSV、ZIP"

PDF, PNG, JPEG, GIF = "application/pdf", "image/png", "image/jpeg", "image/gif"
OFD, ZIP, OLE, TEXT, CSV = "application/ofd", "application/zip", "application/x-ole-storage", "text/plain", "text/csv"
_OOXML = "application/vnd.openxmlformats-officedocument."
DOCX, XLSX = _OOXML + "wordprocessingml.document", _OOXML + "spreadsheetml.sheet"
PPTX = _OOXML + "presentationml.presentation"

# content type -> (what to call it in messages, extension for a name that sanitises to nothing)
KINDS = {PDF: ("PDF 文件", ".pdf"), PNG: ("PNG 图片", ".png"), JPEG: ("JPEG 图片", ".jpg"),
         GIF: ("GIF 图片", ".gif"), DOCX: ("Word 文档(.docx)", ".docx"),
         XLSX: ("Excel 工作簿(.xlsx)", ".xlsx"), PPTX: ("PowerPoint 演示文稿(.pptx)", ".pptx"),
         OFD: ("OFD 文件", ".ofd"), ZIP: ("ZIP 压缩包", ".zip"),
         OLE: ("旧版 Office 文档(.doc/.xls/.ppt/.wps)", ""), TEXT: ("纯文本", ".txt"),
         CSV: ("CSV 文本", ".csv")}

# extension -> content types it may hold; a name with any other extension is not checked against its content
_WORD, _EXCEL, _SLIDES = {OLE, DOCX}, {OLE, XLSX}, {OLE, PPTX}
EXPECTED = {".pdf": {PDF}, ".png": {PNG}, ".jpg": {JPEG}, ".jpeg": {JPEG}, ".jpe": {JPEG}, ".gif": {GIF},
            ".doc": _WORD, ".docx": _WORD, ".docm": _WORD, ".dot": _WORD, ".dotx": _WORD, ".wps": _WORD,
            ".xls": _EXCEL, ".xlsx": _EXCEL, ".xlsm": _EXCEL, ".et": _EXCEL,
            ".ppt": _SLIDES, ".pptx": _SLIDES, ".pptm": _SLIDES, ".dps": _SLIDES,
            ".ofd": {OFD}, ".zip": {ZIP, DOCX, XLSX, PPTX, OFD}, ".txt": {TEXT}, ".csv": {CSV}}
# Names a reviewer's computer would run on a double-click, whatever the content.
RUNNABLE = {".exe", ".com", ".bat", ".cmd", ".scr", ".pif", ".msi", ".dll", ".ps1", ".vbs", ".vbe", ".js",
            ".jse", ".wsf", ".wsh", ".hta", ".lnk", ".jar", ".sh", ".apk", ".reg", ".cpl"}

MAGIC = ((b"%PDF-", PDF), (b"\x89PNG\r\n\x1a\n", PNG), (b"\xff\xd8\xff", JPEG), (b"GIF87a", GIF), (b"GIF89a", GIF),
         (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", OLE))
_SHA256 = re.compile(r"[0-9a-f]{64}")
_ILLEGAL = re.compile(r'[<>:"/\\|?*]')
_WINDOWS_RESERVED = re.compile(r"(con|prn|aux|nul|com\d|lpt\d)(\..*)?", re.IGNORECASE)


class EvidenceRejected(ValueError):
    """Evidence we will not keep; the message names the file or link, says why and what to do."""


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    size: int
    content_type: str
    filename: str
    path: Path


@dataclass(frozen=True)
class EvidenceLink:
    url: str
    title: str | None = None


def _mb(n: int) -> str:
    mb = n / (1024 * 1024)
    return f"{mb:g} MB" if mb >= 1 else f"{mb:.4g} MB({n} 字节)"


def safe_filename(name: str, extension: str = "") -> str:
    """The display name: base name only, no control/Windows-illegal characters, at most 120 characters."""
    parts = [p for p in re.split(r"[\\/]", name) if p.strip()]
    base = parts[-1] if parts else ""
    base = "".join(c for c in base if unicodedata.category(c) not in ("Cc", "Cf", "Cs", "Co"))
    base = " ".join(_ILLEGAL.sub("", base).split()).lstrip(". ").rstrip(". ")
    if _WINDOWS_RESERVED.fullmatch(base):
        base = "_" + base
    if not base:
        return "evidence" + extension
    stem, ext = os.path.splitext(base)
    if len(ext) > 20:  # not a real extension: truncate it like the rest of the name
        stem, ext = base, ""
    return stem[: MAX_NAME_CHARS - len(ext)].rstrip(". ") + ext if len(base) > MAX_NAME_CHARS else base


class EvidenceStore:
    def __init__(self, root: Path, *, max_bytes: int = MAX_EVIDENCE_BYTES) -> None:
        self.root = Path(root)
        self.max_bytes = max_bytes

    def put_file(self, source: Path, *, filename: str | None = None) -> StoredFile:
        source = Path(source)
        try:
            info = source.stat()
            if stat.S_ISDIR(info.st_mode):
                raise EvidenceRejected(f"{source}:这是文件夹,不是文件;请提交其中的文件,或打包成 ZIP 后提交")
            if not stat.S_ISREG(info.st_mode):
                raise EvidenceRejected(f"{source}:不是普通文件;请把文档另存一份后提交")
            handle = source.open("rb")
        except FileNotFoundError:
            raise EvidenceRejected(f"{source}:无法读取,文件不存在;请检查路径") from None
        except PermissionError:
            raise EvidenceRejected(f"{source}:无法读取,没有读取权限;请把文件复制到可读取的位置,或修改其权限") from None
        except OSError as e:
            raise EvidenceRejected(f"{source}:无法读取文件:{e.strerror or e}") from None
        name = filename if filename is not None else source.name
        with handle:
            self._check_size(safe_filename(name), info.st_size)
            return self._store(iter(lambda: handle.read(CHUNK), b""), name, source)

    def put_bytes(self, data: bytes, *, filename: str) -> StoredFile:
        self._check_size(safe_filename(filename), len(data))
        view = memoryview(data)
        return self._store((bytes(view[i:i + CHUNK]) for i in range(0, len(data), CHUNK)), filename, None)

    def open(self, sha256: str) -> BinaryIO:
        """Read back a stored file by its hash; a malformed hash never reaches the filesystem."""
        if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256.lower()):
            raise EvidenceRejected(f"{sha256!r}:不是有效的佐证材料编号(应为 64 位十六进制字符)")
        return self._path(sha256.lower()).open("rb")

    def _path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256[2:]

    def _check_size(self, display: str, size: int) -> None:
        if size > self.max_bytes:
            raise EvidenceRejected(f"{display}:超过 {_mb(self.max_bytes)} 的上限;请压缩,或拆分成几个文件后再提交")
        if size == 0:
            raise EvidenceRejected(f"{display}:文件是空的;请提交有内容的文件")

    def _store(self, chunks: Iterable[bytes], name: str, source: Path | None) -> StoredFile:
        display = safe_filename(name)
        self.root.mkdir(parents=True, exist_ok=True)
        fd, temp_name = tempfile.mkstemp(dir=self.root, prefix=".incoming-", suffix=".part")
        temp = Path(temp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                sha, size, head, text = self._copy(chunks, out, display, source)
                out.flush()
                os.fsync(out.fileno())
            self._check_size(display, size)
            content_type = self._detect(temp, head, text, display)
            self._check_name(display, content_type)
            final = self._path(sha)
            if final.exists():  # same content already kept: keep the first copy untouched
                temp.unlink()
            else:
                final.parent.mkdir(exist_ok=True)
                os.replace(temp, final)
                _fsync_dir(final.parent)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        return StoredFile(sha, size, content_type, safe_filename(name, KINDS[content_type][1]), final)

    def _copy(self, chunks: Iterable[bytes], out: BinaryIO, display: str,
              source: Path | None) -> tuple[str, int, bytes, bool]:
        """Stream into ``out`` while hashing, counting and checking whether it is all NUL-free UTF-8."""
        sha, size, head, text = hashlib.sha256(), 0, b"", True
        decoder = codecs.getincrementaldecoder("utf-8")()
        for chunk in _guarded(chunks, source):
            size += len(chunk)
            if size > self.max_bytes:
                self._check_size(display, size)
            if len(head) < 16:
                head = (head + chunk)[:16]
            text = text and b"\x00" not in chunk and _decodes(decoder, chunk)
            sha.update(chunk)
            out.write(chunk)
        text = text and _decodes(decoder, b"", final=True)
        return sha.hexdigest(), size, head, text

    @staticmethod
    def _detect(temp: Path, head: bytes, text: bool, display: str) -> str:
        for magic, kind in MAGIC:
            if head.startswith(magic):
                return kind
        if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
            try:
                with zipfile.ZipFile(temp) as archive:
                    names = set(archive.namelist())
            except (zipfile.BadZipFile, OSError, ValueError):
                raise EvidenceRejected(f"{display}:看起来是 ZIP 或 Office 文件,但无法打开(已损坏或不完整);"
                                       "请重新保存或导出后再提交") from None
            if "OFD.xml" in names:
                return OFD
            if "[Content_Types].xml" in names:
                for prefix, kind in (("word/", DOCX), ("xl/", XLSX), ("ppt/", PPTX)):
                    if any(n.startswith(prefix) for n in names):
                        return kind
            return ZIP
        if text:
            return CSV if display.lower().endswith(".csv") else TEXT
        hint = "文本文件须以 UTF-8 编码保存。" if display.lower().endswith((".txt", ".csv")) else ""
        raise EvidenceRejected(f"{display}:不接收此类文件(可接收:{ACCEPTED})。{hint}")

    @staticmethod
    def _check_name(display: str, content_type: str) -> None:
        ext = os.path.splitext(display)[1].lower()
        if ext in RUNNABLE:
            raise EvidenceRejected(f"{display}:不接收此类文件:{ext} 文件会作为程序运行(可接收:{ACCEPTED})")
        if ext in EXPECTED and content_type not in EXPECTED[ext]:
            raise EvidenceRejected(f"{display}:文件名是 {ext},内容却是{KINDS[content_type][0]};"
                                   "请按内容改正文件名,或提交正确的文件")


def _guarded(chunks: Iterable[bytes], source: Path | None) -> Iterator[bytes]:
    """Turn a read error midway into a rejection that names the source."""
    try:
        yield from chunks
    except OSError as e:
        raise EvidenceRejected(f"{source}:无法读取文件:{e.strerror or e};请重试,或先复制到本机磁盘") from None


def _decodes(decoder: codecs.IncrementalDecoder, chunk: bytes, final: bool = False) -> bool:
    try:
        decoder.decode(chunk, final)
    except UnicodeDecodeError:
        return False
    return True


def _fsync_dir(folder: Path) -> None:
    """Make the rename durable (not possible on Windows, where os.replace is atomic anyway)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def is_link(text: str) -> bool:
    """Whether the CLI should treat this argument as a link rather than a file path."""
    return text.lstrip().lower().startswith(("http://", "https://"))


def parse_link(text: str) -> EvidenceLink:
    url = text.strip()
    shown = url if len(url) <= 80 else url[:77] + "..."
    if len(url) > MAX_LINK_CHARS:
        raise EvidenceRejected(f"{shown}:链接超过 {MAX_LINK_CHARS} 个字符;请使用较短的链接")
    if any(c.isspace() or unicodedata.category(c) in ("Cc", "Cf") for c in url):
        raise EvidenceRejected(f"{shown}:链接中不能有空格或控制字符;请从浏览器地址栏重新复制")
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError for a bad port
    except ValueError:
        raise EvidenceRejected(f"{shown}:不是有效的网址;请从浏览器地址栏重新复制") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise EvidenceRejected(f"{shown}:只接收 http:// 和 https:// 开头的链接")
    if "@" in parts.netloc:
        raise EvidenceRejected(f"{shown}:链接中含有用户名或密码;请删去“@”及其前面的部分,切勿在链接中附带账号密码")
    if not parts.hostname:
        raise EvidenceRejected(f"{shown}:链接缺少网站地址(应形如 https://example.gov.cn/...)")
    return EvidenceLink(url)
