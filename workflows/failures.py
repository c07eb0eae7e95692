"""The failures duban expects, as one line a person can act on (in Chinese, for the office's staff and operators).

The command line prints it and exits 1; `duban serve` logs it for a failed job and shows it on /healthz and the
dashboard. Anything not recognised here is a bug, and keeps its traceback.
"""

from __future__ import annotations

import errno

DATABASE_HINT = "请检查 DUBAN_DATABASE_URL 所指的数据库"


def known_failure(error: BaseException) -> str | None:
    """A message for the failures duban expects, or None for a real bug."""
    from responsibilities.errors import DomainError
    from responsibilities.storage.db import DatabaseUnusable
    from responsibilities.storage.migrate import SchemaOutOfDate
    from responsibilities.vocabulary import PATH_PROBLEM_NAMES
    from workflows.paths import UnusablePath
    from workflows.settings import SettingsInvalid

    if isinstance(error, (DomainError, SchemaOutOfDate, DatabaseUnusable, UnusablePath, SettingsInvalid)):
        return str(error)
    if isinstance(error, OSError) and error.errno == errno.ENOSPC:
        return f"磁盘已满,无法写入{f' {error.filename}' if error.filename else ''}:请清理磁盘空间后重试"
    problem = PATH_PROBLEM_NAMES.get(errno.errorcode.get(error.errno, "")) if isinstance(error, OSError) else None
    if problem is not None and error.filename is not None:
        # A path a person gave (--out, --folder, a file to read) that is a folder, a file, missing or not theirs.
        return f"{error.filename}:{problem}"
    if type(error).__module__.startswith("sqlalchemy"):
        return _database_failure(error)
    return None


def _database_failure(error: BaseException) -> str | None:
    from sqlalchemy.exc import DataError, DBAPIError, OperationalError

    if not isinstance(error, DBAPIError):
        return None
    reason = str(error.orig).strip().splitlines()[0] if str(error.orig).strip() else type(error.orig).__name__
    if "disk is full" in reason or "No space left" in reason:
        return f"数据库所在磁盘已满({reason}):请清理磁盘空间后重试;未完成的操作没有写入任何内容"
    if isinstance(error, OperationalError):
        return f"无法使用数据库:{reason};{DATABASE_HINT}是否可用"
    if isinstance(error, DataError):  # a value the checks let through and the database cannot keep: nothing written
        return f"数据库拒绝了过长或超出范围的内容({reason}),未写入任何内容:请缩短或改正后重试"
    return None
