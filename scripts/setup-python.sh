#!/usr/bin/env bash
# Create the Python virtual environment used by the interop tests (tests/python) and the
# benchmarks (scripts/bench-*.sh), and install the pinned packages of scripts/requirements.txt.
#
# Usage: scripts/setup-python.sh [-h|--help]
#
# Environment:
#   POSTLAUNCH_VENV    where the venv lives (default: <repo>/target/py)
#   POSTLAUNCH_PYTHON  interpreter that creates it (default: python3 on PATH)
#
# Idempotent: an existing venv is reused, and pip runs only when requirements.txt (or the venv's
# Python version) changed since the last successful install, as recorded in
# <venv>/.requirements.stamp. Diagnostics go to stderr; the venv path is printed on stdout at the
# end, so callers can do `VENV="$(scripts/setup-python.sh)"`.
set -euo pipefail

usage() {
    sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
}

case "${1:-}" in
    -h | --help)
        usage
        exit 0
        ;;
    "") ;;
    *)
        echo "setup-python.sh: unexpected argument \`$1\` (try --help)" >&2
        exit 2
        ;;
esac

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
requirements="$repo/scripts/requirements.txt"
venv="${POSTLAUNCH_VENV:-$repo/target/py}"
python="${POSTLAUNCH_PYTHON:-python3}"

log() { echo "setup-python: $*" >&2; }
die() {
    log "error: $*"
    exit 2
}

[[ -f "$requirements" ]] || die "\`$requirements\` is missing"
command -v "$python" >/dev/null 2>&1 ||
    die "\`$python\` was not found on PATH; install Python 3 (e.g. \`apt-get install -y python3 python3-venv\`) or set POSTLAUNCH_PYTHON"
# The tests use 3.10 syntax (`X | None`), and requirements.txt has pins for 3.11 and 3.12+.
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null ||
    die "\`$python\` is $("$python" --version 2>&1), expected Python >= 3.10; set POSTLAUNCH_PYTHON to a newer one"

# A venv whose interpreter no longer runs (deleted pyenv version, moved folder) is rebuilt.
if [[ -e "$venv" ]] && ! "$venv/bin/python" -c 'import sys' >/dev/null 2>&1; then
    log "\`$venv\` exists but its interpreter does not run; recreating it"
    rm -rf "$venv"
fi

if [[ ! -x "$venv/bin/python" ]]; then
    log "creating venv \`$venv\` with $("$python" --version 2>&1) ($(command -v "$python"))"
    mkdir -p "$(dirname "$venv")"
    if ! "$python" -m venv "$venv"; then
        rm -rf "$venv"
        die "\`$python -m venv\` failed; on Debian/Ubuntu install the \`python3-venv\` package (\`apt-get install -y python3-venv\`), or point POSTLAUNCH_PYTHON at a Python that has venv and ensurepip"
    fi
fi

stamp="$venv/.requirements.stamp"
want="$(sha256sum "$requirements" | cut -d' ' -f1) $("$venv/bin/python" -c 'import platform; print(platform.python_version())')"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    log "requirements unchanged since the last install; skipping pip"
else
    log "installing \`$requirements\` into \`$venv\`"
    "$venv/bin/python" -m pip install --disable-pip-version-check --quiet -r "$requirements" ||
        die "pip could not install \`$requirements\` into \`$venv\` (see pip's message above)"
    printf '%s\n' "$want" >"$stamp"
fi

echo "$venv"
