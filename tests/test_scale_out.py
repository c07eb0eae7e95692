"""Scale-out, tried for real: a local Prefect server on 127.0.0.1, `duban deploy`, a triggered run, a process worker.

Slow by nature (the server takes ~10 s to become healthy, a worker run ~10 s more), so it is one test.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from notifications.sink import free_port

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def wait_healthy(url: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:  # loopback only
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"the Prefect server at {url} did not become healthy")


def test_flows_deployed_to_a_local_prefect_server_run_on_a_process_worker(tmp_path):
    shutil.copy(ROOT / "deadlines.yaml", tmp_path)
    api = f"http://127.0.0.1:{free_port()}/api"
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "DUBAN_"))},
           "PYTHONPATH": str(ROOT), "PREFECT_HOME": str(tmp_path / "prefect-home"), "PREFECT_API_URL": api,
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1", "PREFECT_LOGGING_LEVEL": "WARNING",
           "DUBAN_DATABASE_URL": f"sqlite:///{tmp_path / 'duban.sqlite3'}", "DUBAN_MAIL_DIR": str(tmp_path / "mail"),
           "DUBAN_TIME_ZONE": "Asia/Shanghai"}

    def run(*args: str, timeout: float = 180) -> str:
        result = subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=timeout)
        assert result.returncode == 0, f"{args}: {result.stderr[-2000:]}"
        return result.stdout

    port = api.split(":")[2].split("/")[0]
    server = subprocess.Popen([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", port,
                               "--analytics-off"], cwd=tmp_path, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        run(sys.executable, "-m", "workflows.cli", "load", "--as-of", "2019-10-23")
        wait_healthy(api)
        deployed = run(sys.executable, "-m", "workflows.cli", "deploy")
        assert deployed.count("deployed ") == 4 and "0 8 * * * (Asia/Shanghai)" in deployed
        triggered = run(str(BIN / "prefect"), "deployment", "run", "duban-sweep/sweep", "-p", "as_of=2019-11-15")
        flow_run_id = next(line.split("UUID:")[1].strip() for line in triggered.splitlines() if "UUID:" in line)
        run(str(BIN / "prefect"), "worker", "start", "--pool", "duban", "--run-once", timeout=240)
        state = run(sys.executable, "-c", (
            "import asyncio, json\n"
            "from prefect.client.orchestration import get_client\n"
            "async def main():\n"
            "    async with get_client() as client:\n"
            f"        run = await client.read_flow_run('{flow_run_id}')\n"
            "        print(json.dumps({'type': run.state.type.value, 'name': run.state.name}))\n"
            "asyncio.run(main())\n"))
        assert json.loads(state.strip().splitlines()[-1]) == {"type": "COMPLETED", "name": "Completed"}
    finally:
        server.terminate()
        server.wait(timeout=30)
    database = sqlite3.connect(tmp_path / "duban.sqlite3")
    try:
        written = database.execute("SELECT count(*) FROM notices WHERE owed_on = '2019-11-15'").fetchone()[0]
    finally:
        database.close()
    assert written > 0  # the worker's run swept the duban database as of the given day
