#!/usr/bin/env bash
# The Debian packages the test suite uses besides the Python ones in requirements.lock. `make test` runs this
# before pytest.
#
#   chromium         the browser tests drive the system's Chromium through Playwright (Playwright's own
#                    browser download is not used);
#   fonts-noto-cjk   so the Chinese pages render in the browser tests' screenshots;
#   postgresql       the server binaries (initdb, postgres): the PostgreSQL tests start their own throwaway
#                    cluster on a free port on 127.0.0.1. The driver needs nothing from Debian: psycopg's
#                    binary wheel carries libpq.
#
# What is present is left alone, and nothing runs when everything is (a few milliseconds). What is missing is
# installed with apt-get as root, or through `sudo -n` when that works without a password; otherwise each
# missing package gets one line saying what to run and what the tests will do without it, and the tests run
# anyway. This script never fails `make test`: the tests themselves say what is missing.
#
# DUBAN_SKIP_BROWSER=1 (browser tests skipped) needs neither chromium nor the fonts;
# DUBAN_TEST_POSTGRES=off (PostgreSQL tests skipped) does not need postgresql.
set -uo pipefail

say() { printf 'system-packages: %s\n' "$*" >&2; }

has_chromium() {
    { [ -n "${DUBAN_CHROMIUM:-}" ] && command -v "$DUBAN_CHROMIUM" >/dev/null; } ||
        command -v chromium >/dev/null || command -v chromium-browser >/dev/null
}

has_cjk_fonts() {
    if command -v fc-list >/dev/null; then
        fc-list 2>/dev/null | grep -qi "noto sans cjk"
    else  # fontconfig's tools absent: look for the package's files
        compgen -G "/usr/share/fonts/opentype/noto/NotoSansCJK*" >/dev/null
    fi
}

has_postgresql_server() {
    compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || command -v initdb >/dev/null
}

# What is missing, and what happens without it.
missing=()
declare -A without
if [ "${DUBAN_SKIP_BROWSER:-}" != 1 ]; then
    has_chromium || {
        missing+=(chromium)
        without[chromium]="the browser tests fail saying Chromium is missing (DUBAN_SKIP_BROWSER=1 skips them)"
    }
    has_cjk_fonts || {
        missing+=(fonts-noto-cjk)
        without[fonts-noto-cjk]="the browser tests' screenshots show boxes instead of Chinese text"
    }
fi
if [ "${DUBAN_TEST_POSTGRES:-auto}" != off ]; then
    has_postgresql_server || {
        missing+=(postgresql)
        without[postgresql]="the PostgreSQL tests are skipped (they fail if DUBAN_TEST_POSTGRES=required)"
    }
fi
((${#missing[@]})) || exit 0

export DEBIAN_FRONTEND=noninteractive
as_root=()
if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
        as_root=(sudo -n env DEBIAN_FRONTEND=noninteractive)
    else
        as_root=(unavailable)
    fi
fi

if [ "${as_root[0]:-}" != unavailable ] && command -v apt-get >/dev/null; then
    say "installing ${missing[*]} (apt-get)"
    # The server package's post-install may create and try to start a cluster (port 5432). The tests do not
    # use it, and in a container without an init system it cannot start: an error from that is not ours to
    # fail on, so what counts below is whether the packages' files are there afterwards.
    if ! { "${as_root[@]}" apt-get update -qq &&
        "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"; }; then
        say "apt-get reported an error; checking what is installed now"
    fi
    still=()
    for package in "${missing[@]}"; do
        case $package in
            chromium) has_chromium || still+=("$package") ;;
            fonts-noto-cjk) has_cjk_fonts || still+=("$package") ;;
            postgresql) has_postgresql_server || still+=("$package") ;;
        esac
    done
    missing=("${still[@]+"${still[@]}"}")
    ((${#missing[@]})) || exit 0
    command="apt-get install ${missing[*]}"
    [ "${as_root[0]:-}" = sudo ] && command="sudo $command"
else
    if command -v apt-get >/dev/null; then
        command="sudo apt-get install ${missing[*]}"
    else
        command="install ${missing[*]} with this system's package manager"
    fi
fi

for package in "${missing[@]}"; do
    say "$package is missing: ${without[$package]}. To install it: $command"
done
exit 0
