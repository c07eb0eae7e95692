#!/usr/bin/env bash
# The three benchmarks on SQLite with the commands of benchmarks/README.md's "Figures — 2026-12-04, before
# issue 13's restructuring (commit cf8259f)", so that the "after" run repeats them exactly:
#
#   benchmarks/run_all.sh [--db PATH]          # or: WEB_DB=PATH benchmarks/run_all.sh
#
# PATH is the web benchmark's SQLite file (default /tmp/webbench13.sqlite3). If it is missing, it is built
# and kept (one web run with --keep); then the web benchmark runs on it with --reuse, whose figures are the
# ones recorded. The load average is printed before each command: compare runs made under similar load.
# Needs the virtualenv (`make install`); runs from the repository root whatever the current folder.
set -euo pipefail
cd "$(dirname "$0")/.."

db="${WEB_DB:-/tmp/webbench13.sqlite3}"
while [ $# -gt 0 ]; do
    case "$1" in
        --db) db="${2:?--db needs a path}"; shift 2 ;;
        --db=*) db="${1#--db=}"; shift ;;
        -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "run_all.sh: unknown argument: $1 (only --db PATH)" >&2; exit 2 ;;
    esac
done

run() {
    echo
    echo "== $(date '+%F %T'), load average:$(uptime | sed 's/.*load average[s]*://')"
    echo "== $*"
    "$@"
}

run .venv/bin/python benchmarks/sweep_benchmark.py --deliverables 1000000 --units 5000 --repeat 5
run .venv/bin/python benchmarks/delivery_benchmark.py --notices 10000 --batch-size 100
if [ ! -e "$db" ]; then
    run .venv/bin/python benchmarks/web_benchmark.py --deliverables 1000000 --units 5000 --requests 50 \
        --db "$db" --keep
fi
run .venv/bin/python benchmarks/web_benchmark.py --deliverables 1000000 --units 5000 --requests 50 \
    --db "$db" --reuse
