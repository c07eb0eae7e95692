"""`duban backup PATH`: an online, consistent copy of the database, checked before it is handed over.

SQLite's backup API copies pages under a read transaction, so writers may keep working and the copy is
one consistent point in time. PostgreSQL installs use pg_dump, which does the same job better.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from responsibilities.db import is_sqlite
from responsibilities.errors import InvalidInput


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size: int
    integrity: str


def integrity_check(path: Path) -> str:
    """SQLite's own verdict on a database file: "ok", or the first problems it found."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return "; ".join(row[0] for row in connection.execute("PRAGMA integrity_check").fetchmany(5))
    finally:
        connection.close()


def backup(engine: Engine, target: Path) -> BackupResult:
    """Copy the database to ``target`` (which must not exist yet), then check the copy."""
    if not is_sqlite(engine):
        raise InvalidInput("duban backup 只能备份 SQLite 数据库;PostgreSQL 数据库请用 pg_dump 备份")
    if target.exists():
        raise InvalidInput(f"{target} 已存在:备份不会覆盖已有文件,请换一个新文件名")
    if not target.parent.is_dir():
        raise InvalidInput(f"文件夹 {target.parent} 不存在:请先建好该文件夹,或换一个位置")
    partial = target.with_name(f".{target.name}.partial")
    raw = engine.raw_connection()
    try:
        destination = sqlite3.connect(partial)
        try:
            raw.driver_connection.backup(destination)
            destination.execute("PRAGMA journal_mode = DELETE")  # a single self-contained file
        finally:
            destination.close()
        verdict = integrity_check(partial)
        if verdict != "ok":
            raise InvalidInput(f"备份副本未通过完整性检查({verdict}),未写入 {target}:请重试;"
                               "如仍失败,请检查数据库所在磁盘")
        os.replace(partial, target)
    finally:
        raw.close()
        partial.unlink(missing_ok=True)
    return BackupResult(target, target.stat().st_size, verdict)
