"""Settings from the environment, with the embedded defaults. Secrets (later: SMTP passwords) come only from here.

DUBAN_DATABASE_URL   database (default: sqlite:///var/duban.sqlite3)
DUBAN_EVIDENCE_DIR   where evidence files are kept (default: var/evidence)
DUBAN_PLAN           the plan file (default: deadlines.yaml)
DUBAN_TIME_ZONE      the zone of "today" and of --as-of dates before a plan is loaded (default: Asia/Shanghai);
                     once one is, the plan's own time_zone is used everywhere (workflows.runtime)
DUBAN_BASE_URL       the address of duban's web pages, for links in emails (default: http://127.0.0.1:8000)
DUBAN_SMTP_URL       smtp://user:password@host:587?starttls=true&from=duban%40example.gov.cn; unset: mail
                     goes to DUBAN_MAIL_DIR instead (default: var/mail), one .eml file per message
DUBAN_MAIL_FROM      the sender when no SMTP URL names one (default: duban@localhost)
DUBAN_REPORTS_DIR    where year-end summaries are written (default: var/reports)
DUBAN_PREFECT_HOME   Prefect's own home and database, for the flows (default: var/prefect)
DUBAN_ALLOWED_HOSTS  the host names the web pages answer to, comma-separated (default: DUBAN_BASE_URL's host,
                     localhost, 127.0.0.1 and ::1; `*` for any): another Host header gets 400, so a page of
                     another site cannot reach duban through a name that resolves to it (DNS rebinding)
DUBAN_HSTS_SECONDS   when above 0, HTTPS responses ask browsers to use HTTPS only for that long
                     (Strict-Transport-Security; default: 0, off: set it once HTTPS works for good)
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


@dataclass(frozen=True)
class Settings:
    database_url: str | None
    evidence_dir: Path
    plan_file: Path
    time_zone: ZoneInfo
    base_url: str
    smtp_url: str | None
    mail_dir: Path
    mail_from: str
    reports_dir: Path
    prefect_home: Path
    allowed_hosts: tuple[str, ...] | None = None  # None: base_url's host and this machine's names
    hsts_seconds: int = 0

    @property
    def hosts(self) -> tuple[str, ...]:
        """The host names the web pages answer to (DUBAN_ALLOWED_HOSTS, or base_url's host and the local names)."""
        if self.allowed_hosts is not None:
            return self.allowed_hosts
        return tuple(dict.fromkeys((urlsplit(self.base_url).hostname or "", "localhost", "127.0.0.1", "::1")))

    @classmethod
    def from_environment(cls) -> "Settings":
        """Raises SettingsInvalid, naming the variable, for a value duban cannot use."""
        env = os.environ
        base_url = _base_url(env.get("DUBAN_BASE_URL") or "http://127.0.0.1:8000")
        return cls(
            database_url=env.get("DUBAN_DATABASE_URL") or None,
            evidence_dir=Path(env.get("DUBAN_EVIDENCE_DIR") or "var/evidence"),
            plan_file=Path(env.get("DUBAN_PLAN") or "deadlines.yaml"),
            time_zone=_zone(env.get("DUBAN_TIME_ZONE") or "Asia/Shanghai"),
            base_url=base_url,
            smtp_url=env.get("DUBAN_SMTP_URL") or None,
            mail_dir=Path(env.get("DUBAN_MAIL_DIR") or "var/mail"),
            mail_from=env.get("DUBAN_MAIL_FROM") or "duban@localhost",
            reports_dir=Path(env.get("DUBAN_REPORTS_DIR") or "var/reports"),
            prefect_home=Path(env.get("DUBAN_PREFECT_HOME") or "var/prefect"),
            allowed_hosts=_allowed_hosts(env.get("DUBAN_ALLOWED_HOSTS")),
            hsts_seconds=_seconds("DUBAN_HSTS_SECONDS", env.get("DUBAN_HSTS_SECONDS")),
        )

    def smtp_url_with_sender(self) -> str | None:
        """DUBAN_SMTP_URL, with DUBAN_MAIL_FROM as the sender when the URL names none."""
        url = self.smtp_url
        if url and "from=" not in urlsplit(url).query:
            url += ("&" if urlsplit(url).query else "?") + urlencode({"from": self.mail_from})
        return url


class SettingsInvalid(ValueError):
    """An environment variable duban cannot use: the message names it and says what is expected."""


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ValueError, ZoneInfoNotFoundError):
        raise SettingsInvalid(f"DUBAN_TIME_ZONE “{name[:60]}”不是时区名:"
                              "请写成 Asia/Shanghai 这样的 IANA 时区名") from None


def _base_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SettingsInvalid(f"DUBAN_BASE_URL “{url[:100]}”不是网页地址:"
                              "请写成 https://duban.example.gov.cn 这样的地址")
    return url.strip().rstrip("/")


def _allowed_hosts(value: str | None) -> tuple[str, ...] | None:
    if value is None or not value.strip():
        return None
    hosts = tuple(h.strip().lower() for h in value.split(",") if h.strip())
    for host in hosts:
        if host != "*" and not _HOST.fullmatch(host.removeprefix("*.")):
            raise SettingsInvalid(f"DUBAN_ALLOWED_HOSTS 中的“{host[:60]}”不是主机名:请写主机名(不带端口),"
                                  "多个用逗号分隔,例如 duban.example.gov.cn,127.0.0.1")
    return hosts


def _seconds(name: str, value: str | None) -> int:
    if value is None or not value.strip():
        return 0
    if not value.strip().isdigit() or int(value) > 10 * 365 * 24 * 3600:
        raise SettingsInvalid(f"{name} “{value[:20]}”应为 0 至 315360000 之间的秒数")
    return int(value)


_HOST = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*|[0-9a-f:.]{2,45}")


def resolve_now(as_of: str | None, zone: ZoneInfo) -> datetime:
    """The "now" of a command: the real clock, or --as-of.

    --as-of takes a date (that day, at the current time of day, so that commands replayed on one day keep
    their order) or a full ISO datetime (naive ones are read in ``zone``).
    """
    real = datetime.now(zone)
    if as_of is None:
        return real
    try:
        if len(as_of) == 10:
            day = date.fromisoformat(as_of)
            return real.replace(year=day.year, month=day.month, day=day.day)
        moment = datetime.fromisoformat(as_of)
    except ValueError:
        raise ValueError(f"--as-of “{as_of}”既不是日期(YYYY-MM-DD)也不是时间(YYYY-MM-DDTHH:MM)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)
