#!/usr/bin/env bash
# Install everything collabbot needs, then start the demo or run the whole test suite.
#
#   ./scripts/setup.sh demo [collabbot demo options]   # simulator + SQLite on http://127.0.0.1:8080/sim/
#   ./scripts/setup.sh test [pytest options]           # ruff, then pytest on SQLite, then pytest on PostgreSQL 15
#
# Needs Python 3.11+, git and the package registries (PyPI, Debian apt). Debian packages are
# installed only when missing (as root, or through sudo). Safe to run again: the virtualenv in
# .venv is reused and reinstalled only when pyproject.toml changes. See docs/setup.md.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="${COLLABBOT_VENV:-$ROOT/.venv}"
PGBIN="${COLLABBOT_PGBIN:-/usr/lib/postgresql/15/bin}"
CHROMIUM="${COLLABBOT_CHROMIUM:-/usr/bin/chromium}"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 DEBIAN_FRONTEND=noninteractive

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'setup: %s\n' "$*" >&2; exit 1; }

usage() {
    sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

as_root() {
    if [ "$(id -u)" = 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "need root to run: $* (run as root, or install sudo)"
    fi
}

APT_UPDATED=0
apt_install() { # apt_install PKG... : installs only those not installed yet
    local missing=() pkg
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    command -v apt-get >/dev/null 2>&1 || die "missing system packages: ${missing[*]} (no apt-get here: install them yourself)"
    say "apt-get install ${missing[*]}"
    if [ "$APT_UPDATED" = 0 ]; then
        as_root apt-get update -qq
        APT_UPDATED=1
    fi
    as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

find_python() {
    local candidate
    for candidate in "${PYTHON:-}" python3.11 python3.12 python3.13 python3; do
        [ -n "$candidate" ] || continue
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            command -v "$candidate"
            return 0
        fi
    done
    die "Python 3.11 or newer is needed (set PYTHON=/path/to/python3.11)"
}

pip_install() {
    local log status=0
    log="$(mktemp)"
    "$VENV/bin/python" -m pip install -q "$@" >"$log" 2>&1 || status=$?
    # this machine's pip.conf names local indexes that may be absent: pip warns about each, harmlessly
    grep -v "is ignored: it is neither a file nor a directory" "$log" >&2 || true
    rm -f "$log"
    return "$status"
}

venv() { # venv EXTRAS : create .venv and install the project (editable) with those extras
    local extras="$1" python stamp want
    if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
        python="$(find_python)"
        say "creating $VENV with $python"
        rm -rf "$VENV"
        if ! "$python" -m venv "$VENV" 2>/dev/null; then
            # Debian's python3 keeps ensurepip in a separate package
            rm -rf "$VENV"
            apt_install "python3-venv"
            "$python" -m venv "$VENV"
        fi
    fi
    stamp="$VENV/.collabbot-installed"
    want="$(sha256sum <pyproject.toml | cut -c1-16) $extras"
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ] || ! "$VENV/bin/python" -c 'import bot' 2>/dev/null; then
        say "pip install -e '.[$extras]'"
        pip_install -e ".[$extras]"
        echo "$want" >"$stamp"
    fi
}

# ---------------------------------------------------------------- PostgreSQL 15 for the second test pass

PGDIR=""
PGPORT=""
PGLOG=""

pg_as_owner() { # run a PostgreSQL binary as the data directory's owner (never root)
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

free_port() {
    "$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

pg_stop() {
    [ -n "$PGDIR" ] || return 0
    if [ -f "$PGDIR/data/postmaster.pid" ]; then
        pg_as_owner "$PGBIN/pg_ctl" -D "$PGDIR/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$PGDIR"
}

pg_start() {
    [ -x "$PGBIN/pg_ctl" ] || apt_install postgresql-15
    [ -x "$PGBIN/pg_ctl" ] || die "PostgreSQL 15 binaries not found in $PGBIN (set COLLABBOT_PGBIN)"
    if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
        useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
    fi
    # one directory per checkout: a server left over by an interrupted run of this checkout is stopped first
    PGDIR="/tmp/collabbot-pg-$(printf '%s' "$ROOT" | sha256sum | cut -c1-10)"
    pg_stop
    mkdir -p "$PGDIR"
    if [ "$(id -u)" = 0 ]; then chown postgres: "$PGDIR"; fi
    chmod 700 "$PGDIR"
    PGLOG="$PGDIR/server.log"
    PGPORT="$(free_port)"
    say "starting PostgreSQL 15 on 127.0.0.1:$PGPORT ($PGDIR)"
    pg_as_owner "$PGBIN/initdb" -D "$PGDIR/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$PGDIR/initdb.log" 2>&1 ||
        pg_as_owner "$PGBIN/initdb" -D "$PGDIR/data" -U postgres --auth=trust -E UTF8 --locale=C >"$PGDIR/initdb.log" 2>&1 ||
        { cat "$PGDIR/initdb.log" >&2; die "initdb failed"; }
    # a throwaway test server: durability off makes the suite several times faster
    pg_as_owner "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGLOG" -w -t 60 \
        -o "-h 127.0.0.1 -p $PGPORT -k $PGDIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
        start >/dev/null || { cat "$PGLOG" >&2; die "PostgreSQL did not start"; }
    pg_as_owner "$PGBIN/createdb" -h 127.0.0.1 -p "$PGPORT" -U postgres collabbot_test
}

# ---------------------------------------------------------------- the two commands

run_demo() {
    apt_install fonts-noto-cjk # the Gantt and burndown charts draw Chinese with it
    venv test
    say "starting the demo: open http://127.0.0.1:8080/sim/ (Ctrl+C stops it)"
    exec "$VENV/bin/collabbot" demo "$@"
}

run_tests() {
    local chromium_pkgs=(fonts-noto-cjk fonts-noto-color-emoji)
    [ -x "$CHROMIUM" ] || chromium_pkgs+=(chromium)
    apt_install "${chromium_pkgs[@]}"
    [ -x "$CHROMIUM" ] || die "Chromium is still missing at $CHROMIUM after installing Debian's chromium package"
    venv test
    # shellcheck disable=SC1091
    source "$VENV/bin/activate"
    trap pg_stop EXIT
    trap 'exit 130' INT TERM
    pg_start

    local failed=() rc
    say "ruff check ."
    ruff check . || failed+=("ruff")

    say "pytest on SQLite"
    rc=0
    python -m pytest "$@" || rc=$?
    [ "$rc" = 5 ] && echo "setup: pytest collected no tests on SQLite" >&2
    [ "$rc" = 0 ] || failed+=("pytest-sqlite(exit $rc)")

    say "pytest on PostgreSQL 15"
    rc=0
    COLLABBOT_TEST_DATABASE_URL="postgres://postgres:postgres@127.0.0.1:$PGPORT/collabbot_test" python -m pytest "$@" || rc=$?
    [ "$rc" = 5 ] && echo "setup: pytest collected no tests on PostgreSQL" >&2
    [ "$rc" = 0 ] || failed+=("pytest-postgresql(exit $rc)")

    if [ "${#failed[@]}" -gt 0 ]; then
        echo "setup: FAILED: ${failed[*]}" >&2
        [ -n "$PGLOG" ] && [ -f "$PGLOG" ] && { echo "--- last PostgreSQL log lines:" >&2; tail -n 20 "$PGLOG" >&2; }
        exit 1
    fi
}

case "${1:-}" in
    demo) shift; run_demo "$@" ;;
    test) shift; run_tests "$@" ;;
    *) usage ;;
esac
