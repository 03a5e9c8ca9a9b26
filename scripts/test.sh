#!/usr/bin/env bash
# The test command (README "Run every test"): formatting, lints, all Rust tests (unit and
# integration), then the Python interop tests (pyarrow, DuckDB, Polars reading the lake; the
# reports in headless Chromium), after installing the Python packages into a venv under target/
# and Debian's Chromium (scripts/chromium.sh). A local Apache Kafka broker
# (scripts/kafka.sh) runs for the duration; if it cannot start, the run fails. Fails on the first
# failure.
#
# Usage: scripts/test.sh
# Environment: CARGO_TARGET_DIR (build cache), POSTLAUNCH_VENV (venv location).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n==> %s\n' "$*" >&2; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets -- -D warnings

step "Kafka broker for the Kafka tests (scripts/kafka.sh start; stopped on exit)"
export KAFKA_PORT="${KAFKA_PORT:-19092}"
export POSTLAUNCH_KAFKA="127.0.0.1:$KAFKA_PORT"
# the Kafka tests skip without a broker (plain `cargo test`); here they must run
export POSTLAUNCH_REQUIRE_KAFKA=1
trap 'scripts/kafka.sh stop --wipe >/dev/null 2>&1 || true' EXIT
scripts/kafka.sh stop --wipe >/dev/null 2>&1 || true
scripts/kafka.sh start

step "cargo test"
cargo test

step "Python venv (pyarrow, duckdb, polars, numpy, scipy, pytest)"
venv="$(scripts/setup-python.sh)"

target="${CARGO_TARGET_DIR:-target}"
bin="$(cd "$target" && pwd)/debug/postlaunch"
[ -x "$bin" ] || { echo "test.sh: $bin was not built by cargo test" >&2; exit 2; }

step "Chromium for the browser tests (scripts/chromium.sh: Debian's package, installed when missing)"
chromium="$(scripts/chromium.sh)"

step "pytest tests/python (interop: pyarrow, DuckDB, Polars read the lake; reports in Chromium)"
POSTLAUNCH_BIN="$bin" POSTLAUNCH_CHROMIUM="$chromium" "$venv/bin/python" -m pytest -q -p no:cacheprovider tests/python
