"""The failures duban expects, as one line a person can act on (in Chinese, for the office's staff and operators).

The command line prints it and exits 1; `duban serve` logs it for a failed job and shows it on /healthz and the
dashboard. Anything not recognised here is a bug, and keeps its traceback.
"""

from __future__ import annotations

import errno

DATABASE_HINT = "请检查 DUBAN_DATABASE_URL 所指的数据库"
PATH_PROBLEMS = {
    errno.ENOENT: "不存在:请检查路径是否写对",
    errno.EEXIST: "已存在,且不是所需的文件夹:请换一个路径",
    errno.ENOTDIR: "路径中有一段不是文件夹:请检查路径是否写对",
    errno.EISDIR: "是文件夹,不是文件:请写明文件的路径",
    errno.EACCES: "没有访问权限:请换一个路径,或请系统管理员授权",
    errno.EPERM: "不允许此操作:请换一个路径,或请系统管理员授权",
    errno.EROFS: "位于只读的文件系统上:请换一个可写的路径",
    errno.ENAMETOOLONG: "路径过长:请换一个短一些的路径",
}


def known_failure(error: BaseException) -> str | None:
    """A message for the failures duban expects, or None for a real bug."""
    from responsibilities.errors import DomainError
    from responsibilities.storage.db import DatabaseUnusable
    from responsibilities.storage.migrate import SchemaOutOfDate
    from workflows.paths import UnusablePath
    from workflows.settings import SettingsInvalid

    if isinstance(error, (DomainError, SchemaOutOfDate, DatabaseUnusable, UnusablePath, SettingsInvalid)):
        return str(error)
    if isinstance(error, OSError) and error.errno == errno.ENOSPC:
        return f"磁盘已满,无法写入{f' {error.filename}' if error.filename else ''}:请清理磁盘空间后重试"
    if isinstance(error, OSError) and error.filename is not None and error.errno in PATH_PROBLEMS:
        # A path a person gave (--out, --folder, a file to read) that is a folder, a file, missing or not theirs.
        return f"{error.filename}:{PATH_PROBLEMS[error.errno]}"
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
