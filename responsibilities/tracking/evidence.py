"""Evidence for handed-in deliverables: files kept in a content-addressed folder, and links.

Pure file IO, no database: callers record the returned ``StoredFile`` metadata themselves.
A file lies at ``root/ab/cdef…`` (its SHA-256, first two hex digits as a folder); the user's
name is only ever a display name. Writes are atomic and leave nothing behind on any error.

What is kept is safe for a reviewer to open with a double-click: only the kinds the office needs (``EXPECTED``,
an allowlist), under a name whose extension matches the content; no active content (web pages, SVG, shortcuts,
SYLK, Excel web queries, macros), whatever it is named; and archives bounded in what they unpack to, judged from
their central directory without extracting anything.
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
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit

from responsibilities.zips import ZipBounds, ZipRefused, checked_entries

# ── the bounds, for every door (the service, the web page, the API, the command line) ──────────────────
MAX_EVIDENCE_BYTES = 20 * 1024 * 1024
# The display name, in UTF-8: under the 255-byte name limit of every common filesystem, so that whoever saves
# the download can keep its name (with room for the " (1)" a browser adds); 66 Chinese characters.
MAX_NAME_BYTES = 200
# ZIP-based evidence (ZIP, .docx/.xlsx/.pptx, OFD), as its central directory declares it:
MAX_ZIP_ENTRIES = 5000  # an Office file or OFD has tens of parts, a folder of scans hundreds
MAX_UNPACKED_BYTES = 256 * 1024 * 1024  # Office XML at the 20 MB limit unpacks to some 10 times that
MAX_ZIP_RATIO = 100  # Apache POI's zip-bomb ratio, which real Office files stay under, for members past 1 MB
_ZIP_BOUNDS = ZipBounds(entries=MAX_ZIP_ENTRIES, unpacked=MAX_UNPACKED_BYTES, ratio=MAX_ZIP_RATIO)
MAX_LINK_CHARS = 2000
CHUNK = 64 * 1024
HEAD_BYTES = 1024  # the start kept to sniff: enough for a web page's or a shortcut's first lines
ACCEPTED = "PDF、Word、Excel、PowerPoint、OFD、PNG/JPEG/GIF 图片、纯文本/CSV(UTF-8 或 GB18030 编码)、ZIP"

PDF, PNG, JPEG, GIF = "application/pdf", "image/png", "image/jpeg", "image/gif"
OFD, ZIP, OLE, TEXT, CSV = "application/ofd", "application/zip", "application/x-ole-storage", "text/plain", "text/csv"
_OOXML = "application/vnd.openxmlformats-officedocument."
DOCX, XLSX = _OOXML + "wordprocessingml.document", _OOXML + "spreadsheetml.sheet"
PPTX = _OOXML + "presentationml.presentation"

# content type -> (what to call it in messages, extension for a name that has none)
KINDS = {PDF: ("PDF 文件", ".pdf"), PNG: ("PNG 图片", ".png"), JPEG: ("JPEG 图片", ".jpg"),
         GIF: ("GIF 图片", ".gif"), DOCX: ("Word 文档(.docx)", ".docx"),
         XLSX: ("Excel 工作簿(.xlsx)", ".xlsx"), PPTX: ("PowerPoint 演示文稿(.pptx)", ".pptx"),
         OFD: ("OFD 文件", ".ofd"), ZIP: ("ZIP 压缩包", ".zip"),
         OLE: ("旧版 Office 文档(.doc/.xls/.ppt/.wps)", ""), TEXT: ("纯文本", ".txt"),
         CSV: ("CSV 文本", ".csv")}

# The allowlist: extension -> content types it may hold. Any other extension is refused; a name without one is
# given the extension of its content.
_WORD, _EXCEL, _SLIDES = {OLE, DOCX}, {OLE, XLSX}, {OLE, PPTX}
EXPECTED = {".pdf": {PDF}, ".png": {PNG}, ".jpg": {JPEG}, ".jpeg": {JPEG}, ".jpe": {JPEG}, ".gif": {GIF},
            ".doc": _WORD, ".docx": _WORD, ".wps": _WORD, ".xls": _EXCEL, ".xlsx": _EXCEL, ".et": _EXCEL,
            ".ppt": _SLIDES, ".pptx": _SLIDES, ".dps": _SLIDES,
            ".ofd": {OFD}, ".zip": {ZIP, DOCX, XLSX, PPTX, OFD}, ".txt": {TEXT}, ".csv": {CSV}}
ACCEPTED_EXTENSIONS = "、".join(EXPECTED)

# Names a reviewer's computer would run, or open in something that runs what is inside, on a double-click:
# refused whatever the content, saying why and what to send instead (any other name outside EXPECTED is refused
# more plainly). Also looked for inside a plain ZIP, which a reviewer unpacks.
_PROGRAM = ("会作为程序运行", "")
_PAGE = ("是网页,打开时会运行其中的脚本", "请另存为 PDF 后提交")
_SHORTCUT = ("是快捷方式,打开时会转到别处的程序或网页", "网页请作为链接提交")
_SHEET_CODE = ("会被 Excel 打开并执行其中的公式或网页查询", "请在 Excel 中另存为 .xlsx 后提交")
_MACRO = ("含宏,即可以运行的代码", "请另存为不含宏的 .docx、.xlsx 或 .pptx 后提交")
RUNNABLE = {
    **dict.fromkeys((".exe", ".com", ".bat", ".cmd", ".scr", ".pif", ".msi", ".msp", ".dll", ".ps1", ".vbs", ".vbe",
                     ".js", ".jse", ".wsf", ".wsh", ".hta", ".jar", ".sh", ".apk", ".reg", ".cpl", ".msc", ".gadget",
                     ".appref-ms", ".application"), _PROGRAM),
    **dict.fromkeys((".html", ".htm", ".xhtml", ".xht", ".shtml", ".mht", ".mhtml", ".svg", ".svgz", ".chm"), _PAGE),
    **dict.fromkeys((".url", ".website", ".lnk", ".scf", ".desktop", ".webloc", ".library-ms",
                     ".searchconnector-ms", ".settingcontent-ms"), _SHORTCUT),
    **dict.fromkeys((".slk", ".sylk", ".iqy", ".dqy", ".rqy"), _SHEET_CODE),
    **dict.fromkeys((".docm", ".dotm", ".xlsm", ".xltm", ".xlam", ".pptm", ".potm", ".ppsm"), _MACRO),
}

MAGIC = ((b"%PDF-", PDF), (b"\x89PNG\r\n\x1a\n", PNG), (b"\xff\xd8\xff", JPEG), (b"GIF87a", GIF), (b"GIF89a", GIF),
         (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", OLE))
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_ILLEGAL = re.compile(r'[<>:"/\\|?*]')
_WINDOWS_RESERVED = re.compile(r"(con|prn|aux|nul|com\d|lpt\d)(\..*)?", re.IGNORECASE)
# What counts as an extension: ".pdf", ".library-ms"; not ".2019" (a date) or ".final draft" (a sentence).
_EXTENSION = re.compile(r"\.(?=[0-9_-]*[a-z])[a-z0-9_-]{1,20}")

# Text that a browser, Excel or Windows would treat as something to run rather than read, by how it starts.
_BOMS = (codecs.BOM_UTF8, b"\x84\x31\x95\x33")  # UTF-8's and GB18030's
_MARKUP_START = re.compile(rb"<[a-z!?/]")  # <html, <!doctype, <?xml, <svg, <script, <!-- …
_MARKUP_TAG = re.compile(rb"<(?:script|html|svg|iframe|frame|frameset|object|embed|body|head|meta|base|form|"
                         rb"style|img|link|xml|!doctype)[\s/>]")  # old browsers sniffed these anywhere in the start
_SHORTCUT_START = (b"[internetshortcut]", b"[{000214a0-0000-0000-c000-000000000046}]", b"[desktop entry]",
                   b"[shell]")
_WEB_QUERY = re.compile(rb"web\r?\n")  # an Excel web query (.iqy): "WEB", "1", a URL


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
class Upload:
    """A file to keep: where it lies now, and the name its sender gave it (the path's own name when None)."""
    path: Path
    name: str | None = None


@dataclass(frozen=True)
class EvidenceLink:
    url: str
    title: str | None = None


@dataclass(frozen=True)
class _Staged:
    """A file checked and written to a temporary place in the store, not yet kept."""
    temp: Path
    stored: StoredFile


def _mb(n: int) -> str:
    mb = n / (1024 * 1024)
    return f"{mb:g} MB" if mb >= 1 else f"{mb:.4g} MB({n} 字节)"


def _extension(name: str) -> str:
    """The name's extension, lower case, or "" when it has none."""
    ext = os.path.splitext(name)[1].lower()
    return ext if _EXTENSION.fullmatch(ext) else ""


def safe_filename(name: str, extension: str = "") -> str:
    """The display name: base name only, no control or Windows-illegal characters, ``extension`` added when it has
    none, and at most MAX_NAME_BYTES in UTF-8: cut on a character boundary, keeping the extension."""
    parts = [p for p in re.split(r"[\\/]", name) if p.strip()]
    base = parts[-1] if parts else ""
    base = "".join(c for c in base if unicodedata.category(c) not in ("Cc", "Cf", "Cs", "Co"))
    base = " ".join(_ILLEGAL.sub("", base).split()).lstrip(". ").rstrip(". ")
    if _WINDOWS_RESERVED.fullmatch(base):
        base = "_" + base
    n = len(_extension(base))  # the name's own extension, as it is spelled; or the one given
    stem, ext = (base[:-n], base[-n:]) if n else (base or "evidence", extension)
    budget = MAX_NAME_BYTES - len(ext.encode())
    if len(stem.encode()) > budget:  # "ignore" drops a character cut in half
        stem = stem.encode()[:budget].decode("utf-8", "ignore").rstrip(". ")
    return stem + ext


def check_size(filename: str, size: int, limit: int = MAX_EVIDENCE_BYTES) -> None:
    """Refuse a file over the limit, or empty; every door checks with this, as early as it knows the size."""
    if size > limit:
        raise EvidenceRejected(f"{safe_filename(filename)}:超过 {_mb(limit)} 的上限;请压缩,或拆分成几个文件后再提交")
    if size == 0:
        raise EvidenceRejected(f"{safe_filename(filename)}:文件是空的;请提交有内容的文件")


class EvidenceStore:
    def __init__(self, root: Path, *, max_bytes: int = MAX_EVIDENCE_BYTES) -> None:
        self.root = Path(root)
        self.max_bytes = max_bytes

    def put_file(self, source: Path, *, filename: str | None = None) -> StoredFile:
        return self.put_files([Upload(Path(source), filename)])[0]

    def put_files(self, files: Sequence[Path | Upload]) -> list[StoredFile]:
        """Check every file first, then keep them all: one refused leaves none of the others behind."""
        staged: list[_Staged] = []
        try:
            for item in files:
                staged.append(self._stage_file(item if isinstance(item, Upload) else Upload(Path(item))))
            return [self._keep(one) for one in staged]
        finally:
            for one in staged:
                one.temp.unlink(missing_ok=True)

    def put_bytes(self, data: bytes, *, filename: str) -> StoredFile:
        check_size(filename, len(data), self.max_bytes)
        view = memoryview(data)
        staged = self._stage((bytes(view[i:i + CHUNK]) for i in range(0, len(data), CHUNK)), filename, None)
        try:
            return self._keep(staged)
        finally:
            staged.temp.unlink(missing_ok=True)

    def open(self, sha256: str) -> BinaryIO:
        """Read back a stored file by its hash; a malformed hash never reaches the filesystem."""
        if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256.lower()):
            raise EvidenceRejected(f"{sha256!r}:不是有效的佐证材料编号(应为 64 位十六进制字符)")
        return self._path(sha256.lower()).open("rb")

    def _path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256[2:]

    def _stage_file(self, upload: Upload) -> _Staged:
        source = upload.path
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
        name = upload.name if upload.name is not None else source.name
        with handle:
            check_size(name, info.st_size, self.max_bytes)
            return self._stage(iter(lambda: handle.read(CHUNK), b""), name, source)

    def _stage(self, chunks: Iterable[bytes], name: str, source: Path | None) -> _Staged:
        """Copy into a temporary file named by mkstemp (never by the user's name) and check it there."""
        display = safe_filename(name)
        extension = _allowed_extension(display)  # before reading a byte: the name alone may be enough to refuse
        self.root.mkdir(parents=True, exist_ok=True)
        fd, temp_name = tempfile.mkstemp(dir=self.root, prefix=".incoming-", suffix=".part")
        temp = Path(temp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                sha, size, head, text = self._copy(chunks, out, display, source)
                out.flush()
                os.fsync(out.fileno())
            check_size(display, size, self.max_bytes)
            content_type = _content_type(temp, head, text, display)
            _check_name_fits(display, extension, content_type)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        filename = safe_filename(name, KINDS[content_type][1])
        return _Staged(temp, StoredFile(sha, size, content_type, filename, self._path(sha)))

    @staticmethod
    def _keep(staged: _Staged) -> StoredFile:
        final = staged.stored.path
        if final.exists():  # same content already kept: keep the first copy untouched
            staged.temp.unlink()
        else:
            final.parent.mkdir(exist_ok=True)
            os.replace(staged.temp, final)
            _fsync_dir(final.parent)
        return staged.stored

    def _copy(self, chunks: Iterable[bytes], out: BinaryIO, display: str,
              source: Path | None) -> tuple[str, int, bytes, bool]:
        """Stream into ``out`` while hashing, counting, keeping the start, and checking whether it is all NUL-free
        text in UTF-8 or GB18030 (the encodings the office's computers save text in)."""
        sha, size, head = hashlib.sha256(), 0, b""
        decoders = [codecs.getincrementaldecoder(encoding)() for encoding in ("utf-8", "gb18030")]
        for chunk in _guarded(chunks, source):
            size += len(chunk)
            if size > self.max_bytes:
                check_size(display, size, self.max_bytes)
            if len(head) < HEAD_BYTES:
                head = (head + chunk)[:HEAD_BYTES]
            decoders = [d for d in decoders if b"\x00" not in chunk and _decodes(d, chunk)]
            sha.update(chunk)
            out.write(chunk)
        text = any(_decodes(d, b"", final=True) for d in decoders)
        return sha.hexdigest(), size, head, text


# ── what a file is, and whether its name may say so ───────────────────────────────────────────────────


def _allowed_extension(display: str) -> str:
    """The name's extension ("" for none) if it is on the allowlist; a refusal saying why otherwise."""
    ext = _extension(display)
    if ext in RUNNABLE:
        why, instead = RUNNABLE[ext]
        raise EvidenceRejected(f"{display}:不接收此类文件:{ext} 文件{why}(可接收:{ACCEPTED}){';' * bool(instead)}"
                               f"{instead}")
    if ext and ext not in EXPECTED:
        raise EvidenceRejected(f"{display}:不接收此类文件(可接收:{ACCEPTED});"
                               f"文件名须以 {ACCEPTED_EXTENSIONS} 之一结尾,请另存为其中一种格式后再提交")
    return ext


def _check_name_fits(display: str, extension: str, content_type: str) -> None:
    if extension and content_type not in EXPECTED[extension]:
        raise EvidenceRejected(f"{display}:文件名是 {extension},内容却是{KINDS[content_type][0]};"
                               "请按内容改正文件名,或提交正确的文件")
    if not extension and not KINDS[content_type][1]:  # a legacy Office file: Word, Excel or PowerPoint?
        raise EvidenceRejected(f"{display}:文件名没有扩展名,无法判断是 Word、Excel 还是 PowerPoint 文档;"
                               "请按内容在文件名后加上 .doc、.xls 或 .ppt 后再提交")


def _content_type(temp: Path, head: bytes, text: bool, display: str) -> str:
    for magic, kind in MAGIC:
        if head.startswith(magic):
            return kind
    if head.startswith(ZIP_MAGIC):
        return _zip_kind(temp, display)
    if text:
        _refuse_active_text(head, display)
        return CSV if display.lower().endswith(".csv") else TEXT
    hint = "文本文件须以 UTF-8 或 GB18030 编码保存。" if display.lower().endswith((".txt", ".csv")) else ""
    raise EvidenceRejected(f"{display}:不接收此类文件(可接收:{ACCEPTED})。{hint}")


def _refuse_active_text(head: bytes, display: str) -> None:
    """Text is kept only if nothing would run it: not a web page, SVG or XML, a shortcut, SYLK or a web query,
    which a browser, Windows or Excel recognise by their first bytes whatever the file is named."""
    start = head
    for bom in _BOMS:
        start = start.removeprefix(bom)
    start = start.lstrip()
    lowered = start.lower()
    if _MARKUP_START.match(lowered) or _MARKUP_TAG.search(lowered):
        raise EvidenceRejected(f"{display}:内容是网页、SVG 或 XML,打开时可能运行其中的脚本,不接收(可接收:{ACCEPTED});"
                               "网页请另存为 PDF 后提交")
    if start.startswith(b"ID;"):
        raise EvidenceRejected(f"{display}:内容是 SYLK 表格(以“ID;”开头),Excel 会打开它并执行其中的公式,不接收;"
                               "请在 Excel 中另存为 .xlsx 后提交")
    if lowered.startswith(_SHORTCUT_START):
        raise EvidenceRejected(f"{display}:内容是快捷方式(如 .url 文件),打开时会转到别处的程序或网页,不接收;"
                               "网页请作为链接提交")
    if _WEB_QUERY.match(lowered):
        raise EvidenceRejected(f"{display}:内容是 Excel 网页查询(.iqy),打开时会从网上取数据,不接收;"
                               "请提交查询的结果(另存为 .xlsx)")


def _zip_kind(temp: Path, display: str) -> str:
    """OFD, an OOXML document, or a plain ZIP, by the archive's members."""
    names = [entry.filename for entry in _zip_entries(temp, display)]
    if "OFD.xml" in names:
        return OFD
    if "[Content_Types].xml" in names:
        for prefix, kind in (("word/", DOCX), ("xl/", XLSX), ("ppt/", PPTX)):
            if any(n.startswith(prefix) for n in names):
                if any(n.lower().endswith("vbaproject.bin") for n in names):
                    raise EvidenceRejected(f"{display}:文件{_MACRO[0]},不接收;{_MACRO[1]}")
                return kind
    for name in names:  # a plain archive: what a reviewer would find inside after unpacking it
        if (ext := _extension(name.rstrip("/"))) in RUNNABLE:
            raise EvidenceRejected(f"{display}:压缩包内的“{_member(name)}”{RUNNABLE[ext][0]},不接收;"
                                   "请从压缩包中删去后再提交")
    return ZIP


def _member(name: str) -> str:
    """An archive member's path as a message shows it: one line, not too long."""
    return "".join(c for c in name if unicodedata.category(c) not in ("Cc", "Cf"))[:100]


def _zip_entries(temp: Path, display: str) -> list[zipfile.ZipInfo]:
    """The archive's entries as its central directory declares them, within the bounds (responsibilities.zips).
    Nothing is extracted, so members with odd paths (absolute, "..") never reach a disk of ours."""
    try:
        return checked_entries(temp, _ZIP_BOUNDS)
    except ZipRefused as refused:
        raise EvidenceRejected(_zip_refusal(refused, display)) from None


def _zip_refusal(refused: ZipRefused, display: str) -> str:
    if refused.reason == "corrupt":
        return f"{display}:看起来是 ZIP 或 Office 文件,但无法打开(已损坏或不完整);请重新保存或导出后再提交"
    if refused.reason == "empty":
        return f"{display}:压缩包是空的;请提交有内容的文件"
    if refused.reason == "entries":
        return f"{display}:压缩包内有 {refused.count} 个文件,超过 {MAX_ZIP_ENTRIES} 个的上限;请分成几个压缩包提交"
    if refused.reason == "encrypted":
        return f"{display}:文件设有密码(已加密),无法检查其中的内容;请去掉密码后再提交"
    if refused.reason == "unpacked":
        return (f"{display}:解压后共 {_mb(refused.size)},超过 {_mb(MAX_UNPACKED_BYTES)} 的上限"
                "(可能是“压缩炸弹”),不接收;请拆分成几个文件后再提交")
    return (f"{display}:其中的“{_member(refused.member)}”解压后 {_mb(refused.size)},"
            f"压缩比超过 {MAX_ZIP_RATIO} 倍(可能是“压缩炸弹”),不接收;请检查文件后重新打包")


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
