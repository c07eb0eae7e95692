"""The install plumbing, run as a developer runs it: the Makefile's real install step, and the script that
`make test` runs for the Debian packages (with stand-ins for root, sudo and apt-get: nothing is installed)."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SYSTEM_PACKAGES = ROOT / "tests" / "system-packages.sh"


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


# --- tests/system-packages.sh, on a PATH of stand-ins --------------------------------------------------


def stand_ins(tmp_path: Path, *, uid: int, sudo_works: bool, installed: set[str]) -> tuple[Path, Path]:
    """A PATH holding only grep, env, true and stand-ins: `id -u` says uid, sudo works or not, `fc-list` and `chromium`
    exist when named in installed, and apt-get only writes its arguments and environment to a log."""
    bin_ = tmp_path / "bin"
    bin_.mkdir()
    log = tmp_path / "apt-get.log"

    def script(name: str, body: str) -> None:
        (bin_ / name).write_text(f"#!/bin/sh\n{body}\n")
        (bin_ / name).chmod(0o755)

    for tool in ("grep", "env", "true"):
        (bin_ / tool).symlink_to(shutil.which(tool))
    script("id", f"echo {uid}")
    script("sudo", 'if [ "$1" = -n ]; then shift; fi\nexec "$@"' if sudo_works else "exit 1")
    # `apt-get install` fails as a package's post-install does when its service cannot start.
    script("apt-get", f'echo "DEBIAN_FRONTEND=$DEBIAN_FRONTEND $*" >> {log}\n[ "$1" = update ] || exit 100')
    script("fc-list", "echo 'NotoSansCJK-Regular.ttc: Noto Sans CJK SC:style=Regular'"
           if "fonts-noto-cjk" in installed else "exit 0")
    if "chromium" in installed:
        script("chromium", "exit 0")
    return bin_, log


def run_system_packages(bin_: Path, **env: str) -> subprocess.CompletedProcess:
    bash = shutil.which("bash")
    return subprocess.run([bash, SYSTEM_PACKAGES], env={"PATH": str(bin_), "HOME": str(bin_.parent), **env},
                          capture_output=True, text=True, timeout=30)


def postgresql_server_here() -> bool:
    return bool(glob.glob("/usr/lib/postgresql/*/bin/initdb"))


def test_system_packages_without_root_or_sudo_say_what_to_run_and_what_the_tests_will_do(tmp_path: Path):
    bin_, log = stand_ins(tmp_path, uid=1000, sudo_works=False, installed=set())
    result = run_system_packages(bin_)
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    missing = ["chromium", "fonts-noto-cjk"] + ([] if postgresql_server_here() else ["postgresql"])
    command = "sudo apt-get install " + " ".join(missing)
    assert lines[0] == (f"system-packages: chromium is missing: the browser tests fail saying Chromium is missing "
                        f"(DUBAN_SKIP_BROWSER=1 skips them). To install it: {command}")
    assert lines[1].startswith("system-packages: fonts-noto-cjk is missing: ") and lines[1].endswith(command)
    if "postgresql" in missing:
        assert "the PostgreSQL tests are skipped" in lines[2]
    assert len(lines) == len(missing)
    assert not log.exists()  # apt-get never ran


def test_system_packages_through_sudo_install_only_what_is_missing_and_carry_on_when_apt_get_fails(tmp_path: Path):
    bin_, log = stand_ins(tmp_path, uid=1000, sudo_works=True, installed={"chromium"})
    result = run_system_packages(bin_, DUBAN_TEST_POSTGRES="off")
    assert result.returncode == 0, result.stderr
    assert log.read_text().splitlines() == [
        "DEBIAN_FRONTEND=noninteractive update -qq",
        "DEBIAN_FRONTEND=noninteractive install -y -qq --no-install-recommends fonts-noto-cjk",
    ]
    assert result.stderr.splitlines() == [
        "system-packages: installing fonts-noto-cjk (apt-get)",
        "system-packages: apt-get reported an error; checking what is installed now",
        "system-packages: fonts-noto-cjk is missing: the browser tests' screenshots show boxes instead of "
        "Chinese text. To install it: sudo apt-get install fonts-noto-cjk",
    ]


def test_system_packages_do_nothing_when_everything_is_there_or_not_wanted(tmp_path: Path):
    bin_, log = stand_ins(tmp_path, uid=1000, sudo_works=True, installed={"chromium", "fonts-noto-cjk"})
    (bin_ / "initdb").write_text("#!/bin/sh\n")  # a PostgreSQL server on PATH counts too
    (bin_ / "initdb").chmod(0o755)
    assert run_system_packages(bin_).stderr == ""
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "grep").symlink_to(shutil.which("grep"))
    assert run_system_packages(empty, DUBAN_SKIP_BROWSER="1", DUBAN_TEST_POSTGRES="off").stderr == ""
    assert not log.exists()
