#!/usr/bin/env bash
# Debian's Chromium for the browser tests (tests/python/test_browser.py): installs the package
# when /usr/bin/chromium is missing and prints the executable's path. Playwright (Python, pinned
# in scripts/requirements.txt) drives it headless with `executable_path`; no browser is
# downloaded.
#
# Usage: scripts/chromium.sh [install]     (the default and only command)
# Installing needs root and apt-get (Debian 12: chromium 156). Exit codes: 0 ready (the path on
# stdout), 2 it could not be installed (why on stderr).
set -euo pipefail

say() { echo "chromium.sh: $*" >&2; }
case "${1:-install}" in
    install) ;;
    -h | --help)
        sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
        exit 0
        ;;
    *)
        say "unknown command \`$1\` (try --help)"
        exit 2
        ;;
esac

exe=/usr/bin/chromium
if [ ! -x "$exe" ]; then
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
        say "Chromium is not installed (\`$exe\`), and installing it needs root and apt-get (Debian 12):"
        say "  apt-get install -y --no-install-recommends chromium"
        exit 2
    fi
    log="$(mktemp -t chromium-apt.XXXXXX.log)"
    say "installing chromium with apt-get (about 100 MB; output in \`$log\`)"
    install() { DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium; }
    if ! install >"$log" 2>&1; then
        say "apt-get install failed; running apt-get update and trying once more"
        if ! { apt-get update -q && install; } >>"$log" 2>&1; then
            say "could not install chromium (see \`$log\`)"
            exit 2
        fi
    fi
fi
"$exe" --version >&2 || { say "\`$exe --version\` failed"; exit 2; }
echo "$exe"
