"""Evidence files on the web: an upload copied aside under a random name (bounded in size; the sender's name is
carried along, only ever a display name), and a stored file served back, always as an attachment and with a content
type no browser renders as a page."""

from __future__ import annotations

import secrets
from pathlib import Path
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import Response, StreamingResponse

from responsibilities.errors import NotFound
from responsibilities.reading import queries
from responsibilities.tracking.evidence import CHUNK, MAX_EVIDENCE_BYTES, EvidenceRejected, Upload, check_size
from workflows.web.context import web

MAX_FILES = 3  # files in one submission
SAFE_TYPES = {"application/pdf", "image/png", "image/jpeg", "image/gif", "text/plain", "text/csv"}


def save_upload(upload, folder: Path) -> Upload:  # a Starlette UploadFile
    """Copy an upload into ``folder`` under a random name (the sender's, however long or odd, could not be a file
    name there), refusing it as soon as it passes the size limit; the store checks the rest."""
    name = upload.filename or ""
    if upload.size is not None:
        check_size(name, upload.size)
    target = folder / f"upload-{secrets.token_hex(16)}"
    size = 0
    with target.open("wb") as out:
        upload.file.seek(0)
        while chunk := upload.file.read(CHUNK):
            size += len(chunk)
            if size > MAX_EVIDENCE_BYTES:
                check_size(name, size)
            out.write(chunk)
    return Upload(target, name)


def evidence_response(request: Request, view: queries.DeliverableView, evidence_id: int) -> Response:
    """A stored file, always as an attachment, with a content type that no browser renders as a page."""
    item = next((e for e in view.evidence if e.id == evidence_id and e.kind == "file"), None)
    if item is None:
        raise NotFound("没有这个附件")
    try:
        handle = web(request).evidence.open(item.sha256)
    except (OSError, EvidenceRejected):
        raise NotFound("附件文件已不在存储中") from None
    media = item.content_type if item.content_type in SAFE_TYPES else "application/octet-stream"
    if media.startswith("text/"):
        media += "; charset=utf-8"
    name = item.filename or "evidence"
    disposition = f"attachment; filename=\"evidence-{item.id}\"; filename*=UTF-8''{quote(name, safe='')}"

    def chunks():
        with handle:
            while chunk := handle.read(64 * 1024):
                yield chunk

    return StreamingResponse(chunks(), media_type=media, headers={"content-disposition": disposition,
                                                                   "content-length": str(item.size)})
