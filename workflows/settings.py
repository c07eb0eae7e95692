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
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo


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

    @classmethod
    def from_environment(cls) -> "Settings":
        env = os.environ
        return cls(
            database_url=env.get("DUBAN_DATABASE_URL") or None,
            evidence_dir=Path(env.get("DUBAN_EVIDENCE_DIR") or "var/evidence"),
            plan_file=Path(env.get("DUBAN_PLAN") or "deadlines.yaml"),
            time_zone=ZoneInfo(env.get("DUBAN_TIME_ZONE") or "Asia/Shanghai"),
            base_url=(env.get("DUBAN_BASE_URL") or "http://127.0.0.1:8000").rstrip("/"),
            smtp_url=env.get("DUBAN_SMTP_URL") or None,
            mail_dir=Path(env.get("DUBAN_MAIL_DIR") or "var/mail"),
            mail_from=env.get("DUBAN_MAIL_FROM") or "duban@localhost",
            reports_dir=Path(env.get("DUBAN_REPORTS_DIR") or "var/reports"),
            prefect_home=Path(env.get("DUBAN_PREFECT_HOME") or "var/prefect"),
        )

    def smtp_url_with_sender(self) -> str | None:
        """DUBAN_SMTP_URL, with DUBAN_MAIL_FROM as the sender when the URL names none."""
        url = self.smtp_url
        if url and "from=" not in urlsplit(url).query:
            url += ("&" if urlsplit(url).query else "?") + urlencode({"from": self.mail_from})
        return url


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
