"""Old binary Office files (.doc, .wps, .xls, .et) and password-protected .docx/.xlsx, which share one container:
the OLE compound file (its first bytes D0 CF 11 E0 A1 B1 1A E1).

What the container holds is told by the names in its directory: an encrypted Word or Excel 2007+ file is an OLE
file holding an "EncryptedPackage" stream (ECMA-376 encryption), an old Word or WPS text file a "WordDocument"
stream, an old Excel or WPS spreadsheet a "Workbook" (or "Book") stream. Directory entries are 128-byte records in
512- or 4096-byte sectors, so each sits at a multiple of 128 in the file: a name is looked for only there, with the
record's name length, so that the same words inside a document's text are not taken for a stream.

Old files are converted to .docx/.xlsx by LibreOffice when the server has it; otherwise the office is told how to
convert them itself.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import tempfile
from pathlib import Path

from responsibilities.importing.tables import DocumentUnreadable

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
CONVERT_TIMEOUT_SECONDS = 120
WORD_EXTENSIONS = (".doc", ".wps", ".dot", ".wpt")
SHEET_EXTENSIONS = (".xls", ".et", ".xlt", ".ett")


def holds_stream(data: bytes, name: str) -> bool:
    """Whether the OLE directory of ``data`` has an entry called ``name``."""
    encoded = name.encode("utf-16-le") + b"\x00\x00"
    start = data.find(encoded, 512)
    while start != -1:
        if start % 128 == 0 and len(data) >= start + 67:
            (length,) = struct.unpack_from("<H", data, start + 64)
            if length == len(encoded) and data[start + 66] in (1, 2, 5):  # storage, stream, root
                return True
        start = data.find(encoded, start + 1)
    return False


def convert_legacy(data: bytes, file_name: str) -> tuple[str, bytes]:
    """("docx" | "xlsx", the converted file's bytes) for an old Office file; refuses encrypted files, and old
    ones when LibreOffice is not installed, saying what to do."""
    if holds_stream(data, "EncryptedPackage"):
        raise DocumentUnreadable(f"{file_name} 设有打开密码(已加密),无法读取:请先在 Word/WPS 中取消密码后另存,"
                                 "再导入")
    extension = os.path.splitext(file_name)[1].lower()
    if holds_stream(data, "WordDocument") or (extension in WORD_EXTENSIONS and not holds_stream(data, "Workbook")):
        kind, old, new = "docx", "旧版 Word/WPS 文字文件(.doc/.wps)", ".docx"
    elif holds_stream(data, "Workbook") or holds_stream(data, "Book") or extension in SHEET_EXTENSIONS:
        kind, old, new = "xlsx", "旧版 Excel/WPS 表格文件(.xls/.et)", ".xlsx"
    else:
        raise DocumentUnreadable(f"{file_name} 是 Office 旧版格式的文件,但不是 Word 或 Excel 文件:"
                                 "请导入含分工表的 Word、Excel、PDF 或网页文件")
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        raise DocumentUnreadable(f"{file_name} 是{old},无法直接读取:请在 WPS 或 Word 中另存为 {new} 后再导入"
                                 "(或由管理员在服务器上安装 LibreOffice,即可直接导入旧版文件)")
    return kind, _converted(soffice, data, kind, file_name, old, new)


def _converted(soffice: str, data: bytes, kind: str, file_name: str, old: str, new: str) -> bytes:
    refusal = DocumentUnreadable(f"{file_name} 是{old},LibreOffice 未能转换它(文件可能已损坏或设有密码):"
                                 f"请在 WPS 或 Word 中另存为 {new} 后再导入")
    with tempfile.TemporaryDirectory(prefix="duban-import-") as folder:
        source = Path(folder) / ("document.doc" if kind == "docx" else "document.xls")
        source.write_bytes(data)
        # A profile of its own: LibreOffice refuses to start while another instance holds the user's profile.
        command = [soffice, "--headless", "--norestore", f"-env:UserInstallation=file://{folder}/profile",
                   "--convert-to", kind, "--outdir", folder, str(source)]
        try:
            subprocess.run(command, capture_output=True, timeout=CONVERT_TIMEOUT_SECONDS, check=False,
                           stdin=subprocess.DEVNULL)
        except (subprocess.TimeoutExpired, OSError):
            raise refusal from None
        converted = source.with_suffix("." + kind)
        if not converted.is_file():
            raise refusal
        return converted.read_bytes()
