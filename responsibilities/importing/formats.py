"""A document's format, told by its content: for now plain text (UTF-8 or GB18030); the binary formats follow."""

from __future__ import annotations

from responsibilities.importing.tables import Document, DocumentUnreadable, too_large


def read_document(data: bytes, file_name: str) -> Document:
    from responsibilities.importing.text import read_text

    refused = too_large(file_name, len(data))
    if refused:
        raise refused
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return read_text(data.decode(encoding), file_name)
        except UnicodeDecodeError:
            continue
    raise DocumentUnreadable(f"{file_name} 不是可读的文本文件(既非 UTF-8 也非 GB18030 编码)")
