"""One smoke test per flow through Prefect's real engine, offline, with Prefect's home in the test's folder.

Prefect's temporary server takes ~10 s to start, so all four flows run in one child process (which also
keeps Prefect out of the test process); each test then checks its own flow's result.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

RUN_ALL = """
import json, sys
from workflows.schedule.flows import run_flow
import prefect.settings
settings = prefect.settings.get_current_settings()
results = {"settings": {"home": str(settings.home), "analytics": settings.server.analytics_enabled,
                        "startup_timeout": settings.server.ephemeral.startup_timeout_seconds}}
for name, as_of in [("sweep", "2019-10-28"), ("deliver", "2019-10-28"), ("digests", "2019-10-28"),
                    ("year_end", "2019-12-31T18:00")]:
    results[name] = run_flow(name, as_of)
print("RESULT " + json.dumps(results, ensure_ascii=False, default=str))
"""


@pytest.fixture(scope="module")
def flow_results(tmp_path_factory) -> dict:
    workdir = tmp_path_factory.mktemp("prefect")
    shutil.copy(ROOT / "deadlines.yaml", workdir)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DUBAN_TIME_ZONE": "Asia/Shanghai"}
    for name in list(env):
        if name.startswith(("PREFECT_", "DUBAN_DATABASE", "DUBAN_SMTP", "DUBAN_PREFECT")):
            env.pop(name)
    subprocess.run([sys.executable, "-m", "workflows.cli", "load", "--as-of", "2019-10-23"], cwd=workdir, env=env,
                   check=True, capture_output=True)
    result = subprocess.run([sys.executable, "-c", RUN_ALL], cwd=workdir, env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    line = next(out for out in result.stdout.splitlines() if out.startswith("RESULT "))
    return {"workdir": workdir, **json.loads(line[len("RESULT "):])}


def test_prefect_runs_offline_with_its_home_under_var(flow_results):
    assert flow_results["settings"]["analytics"] is False
    assert flow_results["settings"]["startup_timeout"] == 120  # a busy machine starts its server slowly
    assert Path(flow_results["settings"]["home"]) == flow_results["workdir"] / "var" / "prefect"
    assert (flow_results["workdir"] / "var" / "prefect" / "prefect.db").exists()


def test_the_sweep_flow_writes_the_reminders_owed_that_day(flow_results):
    assert flow_results["sweep"]["working_day"] is True and flow_results["sweep"]["reminder"] == 14


def test_the_deliver_flow_sends_them_to_the_mail_folder(flow_results):
    assert flow_results["deliver"]["sent"] >= 18
    assert len(list((flow_results["workdir"] / "var" / "mail").glob("*.eml"))) == flow_results["deliver"]["sent"]


def test_the_digests_flow_writes_the_digests_owed_that_day(flow_results):
    counts = {k: v for k, v in flow_results["digests"].items() if k != "day"}
    assert flow_results["digests"]["day"] == "2019-10-28" and sum(counts.values()) > 0


def test_the_year_end_flow_writes_the_summary_of_the_year(flow_results):
    reports = flow_results["year_end"]["reports"]
    assert flow_results["year_end"]["year"] == 2019
    assert {Path(p).name for p in reports.values()} >= {"summary-2019.html", "summary-2019.xlsx"}
    assert all((flow_results["workdir"] / p).exists() or Path(p).exists() for p in reports.values())


def test_deployments_made_before_the_flows_moved_still_load_them_from_their_old_entrypoint(tmp_path):
    code = ("from prefect.flows import load_flow_from_entrypoint; "
            "print(sorted(load_flow_from_entrypoint(f'workflows/flows.py:{name}').name "
            "for name in ('sweep_flow', 'deliver_flow', 'digests_flow', 'year_end_flow')))")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DUBAN_PREFECT_HOME": str(tmp_path / "prefect")}
    env.pop("PREFECT_API_URL", None)
    result = subprocess.run([sys.executable, "-c", "import workflows.schedule.flows; " + code], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "['duban-deliver', 'duban-digests', 'duban-sweep', 'duban-year-end']", result.stderr
