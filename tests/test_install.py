"""The install plumbing, run as a developer runs it: the Makefile's real install step."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.install
def test_the_lock_installs_with_a_global_pip_constraints_file_naming_an_unrelated_package(tmp_path: Path):
    """A machine's pip may carry constraints (PIP_CONSTRAINT, or `constraint =` in /etc/xdg/pip/pip.conf).
    With one, pip's resolver refuses a hash-checked install of the lock ("all requirements must have their
    versions pinned with ==", for httpx[http2]); the Makefile installs the complete lock without resolving."""
    constraints = tmp_path / "constraints.txt"
    constraints.write_text("torch<=2.14.1\n")
    venv = tmp_path / "venv"
    env = {**os.environ, "PIP_CONSTRAINT": str(constraints)}
    # The Makefile's own target, with the virtualenv somewhere else (`make install VENV=…` is the same).
    result = subprocess.run(["make", "--no-print-directory", "-C", str(ROOT), f"VENV={venv}",
                             f"{venv}/.installed"], env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No broken requirements found." in result.stdout  # `pip check` ran after the installs
    assert (venv / ".installed").exists()

    help_ = subprocess.run([venv / "bin" / "duban", "--help"], cwd=tmp_path, capture_output=True, text=True,
                           timeout=60)
    assert help_.returncode == 0, help_.stderr
    assert "plan" in help_.stdout and "serve" in help_.stdout
    # The postgres extra is in the lock: psycopg with the libpq of its binary wheel.
    driver = subprocess.run([venv / "bin" / "python", "-c", "import psycopg; print(psycopg.pq.__impl__)"],
                            capture_output=True, text=True, timeout=60)
    assert driver.stdout.strip() == "binary", driver.stderr

