"""A document's format, told by its content, never by its name alone: a person renames files, and a page saved
from a browser may be called .doc.

- ZIP holding word/document.xml → Word (.docx); xl/workbook.xml → Excel (.xlsx); the archive's central directory is
  checked against zip-bomb bounds (responsibilities.zips) before anything is unpacked;
- %PDF- → PDF;
- an OLE compound file (D0 CF 11 E0) → an old Office file, converted through LibreOffice, or an encrypted .docx/.xlsx,
  refused (importing.legacy);
- a page starting with <!DOCTYPE html, <html or <table → HTML;
- anything else is text, UTF-8 (with or without BOM) or GB18030, read by importing.text.

Every refusal is a DocumentUnreadable whose message says, in one Chinese line, what to do.
"""

from __future__ import annotations

import io
import os
import re
import unicodedata

from responsibilities.importing.legacy import OLE_MAGIC, convert_legacy
from responsibilities.importing.tables import Document, DocumentUnreadable, too_large
from responsibilities.zips import ZipBounds, ZipRefused, checked_entries

# An Office file of the 20 MB upload bound unpacks to some 10 times that; a plan's Word file to a few hundred KB.
MAX_UNPACKED_BYTES = 64 * 1024 * 1024
ZIP_BOUNDS = ZipBounds(entries=2000, unpacked=MAX_UNPACKED_BYTES, ratio=100)
HTML_START = re.compile(rb"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|meta|table|body)\b",
                        re.IGNORECASE | re.DOTALL)
SNIFF_BYTES = 4096


def read_document(data: bytes, file_name: str) -> Document:
    refused = too_large(file_name, len(data))
    if refused:
        raise refused
    if not data.strip():
        raise DocumentUnreadable(f"{file_name} 是空文件:请选择含分工表的文件")
    if data.startswith(b"PK"):
        return _read_zip(data, file_name)
    if b"%PDF-" in data[:1024]:  # the PDF header may follow some bytes of junk (the specification allows 1024)
        from responsibilities.importing.pdf_reader import read_pdf

        return read_pdf(data, file_name)
    if data.startswith(OLE_MAGIC):
        kind, converted = convert_legacy(data, file_name)
        return _read_zip(converted, file_name, expected=kind)
    head = data[:SNIFF_BYTES].removeprefix(b"\xef\xbb\xbf")
    if HTML_START.match(head):
        from responsibilities.importing.html_reader import read_html

        return read_html(data, file_name)
    return _read_text(data, file_name)


def _read_zip(data: bytes, file_name: str, expected: str | None = None) -> Document:
    what = _expected_kind(file_name) if expected is None else ("Word" if expected == "docx" else "Excel")
    try:
        names = {entry.filename for entry in checked_entries(io.BytesIO(data), ZIP_BOUNDS)}
    except ZipRefused as refused:
        raise DocumentUnreadable(_zip_refusal(refused, file_name, what)) from None
    if "word/document.xml" in names:
        from responsibilities.importing.docx_reader import read_docx

        return read_docx(data, file_name)
    if "xl/workbook.xml" in names:
        from responsibilities.importing.xlsx_reader import read_xlsx

        return read_xlsx(data, file_name)
    if any(n.startswith("ppt/") for n in names):
        raise DocumentUnreadable(f"{file_name} 是 PowerPoint 演示文稿,读不出分工表:请导入 Word、Excel、PDF 或网页文件")
    if "OFD.xml" in names:
        raise DocumentUnreadable(f"{file_name} 是 OFD 版式文件,暂不能导入:请用 Word 或 WPS 另存为 .docx,"
                                 "或导出为 PDF 后再导入")
    raise DocumentUnreadable(f"{file_name} 是 ZIP 压缩包,不是 Word(.docx)或 Excel(.xlsx)文件:"
                             "请解压后导入其中的分工表文件")


def _expected_kind(file_name: str) -> str:
    extension = os.path.splitext(file_name)[1].lower()
    return "Excel" if extension in (".xlsx", ".xlsm", ".xls", ".et") else "Word"


def _zip_refusal(refused: ZipRefused, file_name: str, what: str) -> str:
    suffix = ".xlsx" if what == "Excel" else ".docx"
    if refused.reason in ("corrupt", "empty"):
        return (f"{file_name}:文件已损坏或不是 {what} 文件({suffix}):"
                f"请在 {what} 或 WPS 中打开后重新另存为 {suffix} 再导入")
    if refused.reason == "encrypted":
        return f"{file_name} 设有密码(已加密),无法读取:请先在 {what}/WPS 中取消密码后另存,再导入"
    if refused.reason == "entries":
        return (f"{file_name} 内含 {refused.count} 个部件,超过 {ZIP_BOUNDS.entries} 个的上限,"
                f"不像一份 {what} 文件:请检查文件")
    size = f"{refused.size / 1048576:.0f} MB"
    return (f"{file_name} 解压后有 {size},超过 {MAX_UNPACKED_BYTES // 1048576} MB 的上限或压缩比异常"
            "(可能是“压缩炸弹”),不导入:请检查文件,或重新另存后再导入")


def _read_text(data: bytes, file_name: str) -> Document:
    from responsibilities.importing.text import read_text  # the text reader imports reading, which is larger

    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if any(unicodedata.category(c) == "Cc" and c not in "\n\r\t\f\v" for c in text):
            break  # decodes, but holds control characters (NUL…): a binary file, not text
        return read_text(text, file_name)
    raise DocumentUnreadable(f"{file_name} 既不是 Word、Excel、PDF 或网页文件,也不是可读的文本(UTF-8 或 GB18030 编码):"
                             "请导入含分工表的文件")
