"""`duban backup PATH`: an online, consistent copy of the database, checked before it is handed over.

SQLite's backup API copies pages under a read transaction, so writers may keep working and the copy is
one consistent point in time; SQLite's integrity check then reads the copy. On PostgreSQL, pg_dump does the
same job (one snapshot, writers unhindered) into its custom format, which pg_restore reads back to check it
and to restore it. Either way the copy is written next to the target and renamed only once it is whole.
"""

from __future__ import annotations

import glob
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.engine import URL

from responsibilities.errors import InvalidInput
from responsibilities.storage.db import is_sqlite

# Debian and Ubuntu keep each PostgreSQL version's programs here, not always on PATH.
POSTGRES_BIN_DIRS = "/usr/lib/postgresql/*/bin"


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size: int
    integrity: str


def backup(engine: Engine, target: Path) -> BackupResult:
    """Copy the database to ``target`` (which must not exist yet), then check the copy."""
    if target.exists():
        raise InvalidInput(f"{target} 已存在:备份不会覆盖已有文件,请换一个新文件名")
    if not target.parent.is_dir():
        raise InvalidInput(f"文件夹 {target.parent} 不存在:请先建好该文件夹,或换一个位置")
    partial = target.with_name(f".{target.name}.partial")
    try:
        if is_sqlite(engine):
            verdict = _backup_sqlite(engine, partial, target)
        elif engine.dialect.name == "postgresql":
            verdict = _backup_postgres(engine.url, partial, target)
        else:
            raise InvalidInput(f"duban backup 不支持 {engine.dialect.name} 数据库:请用该数据库自带的备份工具")
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return BackupResult(target, target.stat().st_size, verdict)


# ── SQLite ───────────────────────────────────────────────────────────────────────────────────────────


def integrity_check(path: Path) -> str:
    """SQLite's own verdict on a database file: "ok", or the first problems it found."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return "; ".join(row[0] for row in connection.execute("PRAGMA integrity_check").fetchmany(5))
    finally:
        connection.close()


def _backup_sqlite(engine: Engine, partial: Path, target: Path) -> str:
    raw = engine.raw_connection()
    try:
        destination = sqlite3.connect(partial)
        try:
            raw.driver_connection.backup(destination)
            destination.execute("PRAGMA journal_mode = DELETE")  # a single self-contained file
        finally:
            destination.close()
    finally:
        raw.close()
    verdict = integrity_check(partial)
    if verdict != "ok":
        raise InvalidInput(f"备份副本未通过完整性检查({verdict}),未写入 {target}:请重试;"
                           "如仍失败,请检查数据库所在磁盘")
    return verdict


# ── PostgreSQL ───────────────────────────────────────────────────────────────────────────────────────


def postgres_tool(name: str, *, search_path: str | None = None, bin_dirs: str = POSTGRES_BIN_DIRS) -> Path:
    """Where the PostgreSQL client program ``name`` (pg_dump, pg_restore) is: on PATH, else in the newest
    version's folder under ``bin_dirs``."""
    found = shutil.which(name, path=search_path)
    if found:
        return Path(found)
    versions = sorted(glob.glob(f"{bin_dirs}/{name}"), key=_version, reverse=True)
    if versions:
        return Path(versions[0])
    raise InvalidInput(f"找不到 {name}(PostgreSQL 客户端程序):请安装与数据库服务器同版本或更新的 PostgreSQL 客户端"
                       f"(Debian/Ubuntu:apt-get install postgresql-client),或把 {name} 所在的文件夹加入 PATH")


def _version(path: str) -> tuple[int, ...]:
    """/usr/lib/postgresql/15/bin/pg_dump → (15,)."""
    return tuple(int(part) for part in Path(path).parent.parent.name.split(".") if part.isdigit())


def libpq_arguments(url: URL) -> tuple[list[str], dict[str, str]]:
    """The connection of ``url`` for pg_dump: its command-line options, and the environment that carries the
    password (PGPASSWORD), which never goes on a command line where other users' `ps` could read it."""
    conninfo = {"dbname": url.database, "host": url.host, "port": url.port, "user": url.username,
                **{key: value for key, value in url.query.items() if isinstance(value, str)}}
    arguments = ["--dbname", " ".join(f"{key}={_quoted(str(value))}" for key, value in conninfo.items()
                                      if value is not None)]
    environment = {"PGPASSWORD": url.password} if url.password else {}
    return arguments, environment


def _quoted(value: str) -> str:
    """A libpq connection-string value: quoted, with quotes and backslashes escaped."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _run(command: list[str], environment: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(command, env={**os.environ, **environment}, capture_output=True, text=True, check=False)


def _backup_postgres(url: URL, partial: Path, target: Path) -> str:
    connection, environment = libpq_arguments(url)
    dumped = _run([str(postgres_tool("pg_dump")), "--format=custom", "--no-password", f"--file={partial}",
                   *connection], environment)
    if dumped.returncode != 0:
        raise InvalidInput(f"pg_dump 备份失败(退出码 {dumped.returncode}):{_last_line(dumped.stderr)};未写入 {target}")
    listed = _run([str(postgres_tool("pg_restore")), "--list", str(partial)], {})
    if listed.returncode != 0:
        raise InvalidInput(f"备份副本无法被 pg_restore 读取({_last_line(listed.stderr)}),未写入 {target}:请重试")
    return "ok"


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "没有输出"
