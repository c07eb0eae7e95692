"""The folders duban writes to (evidence, reports, the mail folder, Prefect's home when Prefect is used), made
when missing and checked before a long-running command starts, so that a folder that cannot be used is one line at
start-up rather than a job failing every minute."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


class UnusablePath(Exception):
    """A folder duban must write to cannot be made or written; the message names it and why."""


def writable_folder(folder: Path, what: str) -> Path:
    """``folder`` (made with its parents when missing), after proving a file can be written in it."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".duban-write-check-"):
            pass
    except OSError as error:
        reason = error.strerror or str(error)
        raise UnusablePath(f"{what}文件夹 {folder} 无法使用({reason}):请修改其权限或换一个位置") from None
    return folder


def folders_in_use(settings, *, prefect: bool) -> dict[str, Path]:  # workflows.settings.Settings
    """What a running duban writes to, by what it is for (in the words of the start-up message)."""
    folders = {"佐证材料": settings.evidence_dir, "年度总结": settings.reports_dir}
    if not settings.smtp_url:
        folders["邮件"] = settings.mail_dir
    if prefect:
        folders["Prefect"] = Path(os.environ.get("PREFECT_HOME") or settings.prefect_home)
    return folders


def check_folders(settings, *, prefect: bool) -> None:
    for what, folder in folders_in_use(settings, prefect=prefect).items():
        writable_folder(Path(os.path.expanduser(folder)), what)
