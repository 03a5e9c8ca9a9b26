#!/usr/bin/env bash
# Ingest benchmark: NDJSON `requests` -> Parquet with `postlaunch ingest`, DuckDB and Polars.
#
# Usage: scripts/bench-ingest.sh [--strict] [-h|--help]
#
# Steps:
#   1. Build the release binary (`cargo build --release`), unless POSTLAUNCH_BIN names one.
#   2. Generate the input once: `postlaunch demo --emit DIR --tables requests --days 7
#      --scale $SCALE --no-malformed` -> $BENCH_DIR/ingest/requests.ndjson. It is reused while
#      its parameters (recorded beside it in requests.ndjson.params) are unchanged.
#   3. RUNS rounds of one run per tool, interleaved so that drift (other load, thermal, page
#      cache) hits every tool alike; each run is timed with GNU time (wall seconds, peak RSS):
#        postlaunch  `postlaunch ingest --lake <fresh dir> --table requests FILE -q`
#        duckdb      `COPY (SELECT * FROM read_ndjson(FILE, columns={...})) TO x.parquet`, zstd
#        polars      `pl.scan_ndjson(FILE, schema=...).sink_parquet(x.parquet, compression="zstd")`
#   4. Check each tool wrote one row per input line, then print median seconds, events/s,
#      median peak RSS, postlaunch's throughput ratio to each peer, and the targets:
#      >= 1.5x DuckDB's events/s, and peak RSS < 512 MiB.
#
# The peers read `ts` as text: the file mixes RFC 3339 strings with a few epoch-millisecond
# integers, which neither parses into one timestamp column by itself. postlaunch parses and
# validates `ts`, so the comparison favours the peers. Their times also include starting Python
# and importing the library (a fraction of a second, small against the default input's size).
#
# Options:
#   --strict   exit 1 when a target is missed (a row-count mismatch always exits 1)
#
# Environment:
#   POSTLAUNCH_BIN  binary to benchmark (default: build target/release/postlaunch)
#   BENCH_DIR       working folder, every output stays in it (default: target/bench)
#   SCALE           demo scale of the input (default: 28)
#   RUNS            runs per tool (default: 3)
#   POSTLAUNCH_VENV venv with DuckDB and Polars, made by scripts/setup-python.sh
#
# Needs GNU time at /usr/bin/time; when it is missing the script installs Debian's `time`
# package with apt-get.
#
# Exit codes: 0 done, 1 a check failed (see above), 2 the benchmark could not run.
set -euo pipefail

usage() {
    sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
}

strict=0
for arg in "$@"; do
    case "$arg" in
        -h | --help)
            usage
            exit 0
            ;;
        --strict) strict=1 ;;
        *)
            echo "bench-ingest.sh: unexpected argument \`$arg\` (try --help)" >&2
            exit 2
            ;;
    esac
done

log() { echo "bench-ingest: $*" >&2; }
die() {
    log "error: $*"
    exit 2
}

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

days=7
scale="${SCALE:-28}"
runs="${RUNS:-3}"
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || die "RUNS=\`$runs\`, expected a positive integer"
[[ "$scale" =~ ^[0-9]+([.][0-9]+)?$ ]] || die "SCALE=\`$scale\`, expected a positive number"
mkdir -p "${BENCH_DIR:-target/bench}"
bench_dir="$(cd "${BENCH_DIR:-target/bench}" && pwd)"
work="$bench_dir/ingest"
mkdir -p "$work"

# --- tools -------------------------------------------------------------------------------------

if [[ ! -x /usr/bin/time ]]; then
    command -v apt-get >/dev/null 2>&1 ||
        die "GNU time (/usr/bin/time) is missing and apt-get is not available to install it"
    log "installing GNU time (Debian package \`time\`)"
    { apt-get update -qq && apt-get install -y -qq time; } >&2 ||
        die "\`apt-get install -y time\` failed; install GNU time by hand"
fi
/usr/bin/time --version 2>&1 | grep -q GNU ||
    die "/usr/bin/time is not GNU time (no \`-f '%e %M'\`); install Debian's \`time\` package"

if [[ -n "${POSTLAUNCH_BIN:-}" ]]; then
    bin="$POSTLAUNCH_BIN"
    log "using POSTLAUNCH_BIN=\`$bin\`; not building"
else
    command -v cargo >/dev/null 2>&1 || die "cargo is not on PATH; install Rust or set POSTLAUNCH_BIN"
    log "building the release binary"
    cargo build --release >&2 || die "\`cargo build --release\` failed"
    bin="${CARGO_TARGET_DIR:-$repo/target}/release/postlaunch"
fi
[[ -x "$bin" ]] || die "\`$bin\` is not an executable file"

venv="$("$repo/scripts/setup-python.sh")" || die "scripts/setup-python.sh failed"
py="$venv/bin/python"

# --- input -------------------------------------------------------------------------------------

data="$work/requests.ndjson"
stamp="$work/requests.ndjson.params"
params="tables=requests days=$days scale=$scale no-malformed"
if [[ -f "$data" && -f "$stamp" && "$(cat "$stamp")" == "$params" ]]; then
    log "reusing \`$data\` ($params)"
else
    rm -f "$data" "$stamp"
    log "generating \`$data\` ($params)"
    "$bin" demo --emit "$work" --tables requests --days "$days" --scale "$scale" --no-malformed -q ||
        die "\`postlaunch demo --emit\` failed"
    [[ -s "$data" ]] || die "\`postlaunch demo --emit $work --tables requests\` wrote no \`$data\`"
    # Written last, so an interrupted generation is redone next time.
    printf '%s\n' "$params" >"$stamp"
fi
lines="$(wc -l <"$data")"
bytes="$(stat -c %s "$data")"
[[ "$lines" -gt 0 ]] || die "\`$data\` is empty"
log "input: $(awk -v b="$bytes" 'BEGIN { printf "%.1f MiB", b / 1048576 }'), $lines lines"
cat "$data" >/dev/null # same warm page cache for every tool

# --- the peers ---------------------------------------------------------------------------------

# Explicit columns from schemas/requests.schema.json, so neither peer spends time on inference.
# `ts` is VARCHAR / String: see the header.
duckdb_py="$(
    cat <<'PY'
import sys

import duckdb

src, out, tmp = sys.argv[1:4]


def lit(text: str) -> str:
    """`text` as a SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


columns = {
    "ts": "VARCHAR", "service": "VARCHAR", "endpoint": "VARCHAR", "status": "INTEGER",
    "duration_ms": "DOUBLE", "region": "VARCHAR", "version": "VARCHAR", "host": "VARCHAR",
    "user_id": "VARCHAR", "session_id": "VARCHAR", "trace_id": "VARCHAR",
    "error_message": "VARCHAR",
}
spec = "{" + ", ".join(f"{lit(k)}: {lit(v)}" for k, v in columns.items()) + "}"
con = duckdb.connect()
con.execute(f"SET temp_directory = {lit(tmp)}")
con.execute(
    f"COPY (SELECT * FROM read_ndjson({lit(src)}, columns={spec})) "
    f"TO {lit(out)} (FORMAT parquet, COMPRESSION zstd)"
)
PY
)"

polars_py="$(
    cat <<'PY'
import sys

import polars as pl

src, out = sys.argv[1:3]
schema = {
    "ts": pl.String, "service": pl.String, "endpoint": pl.String, "status": pl.Int32,
    "duration_ms": pl.Float64, "region": pl.String, "version": pl.String, "host": pl.String,
    "user_id": pl.String, "session_id": pl.String, "trace_id": pl.String,
    "error_message": pl.String,
}
pl.scan_ndjson(src, schema=schema).sink_parquet(out, compression="zstd")
PY
)"

# --- runs --------------------------------------------------------------------------------------

runs_dir="$work/runs"
out_dir="$work/out"
tmp_dir="$work/tmp"
rm -rf "$runs_dir" "$out_dir" "$tmp_dir" "$work/lake"
mkdir -p "$runs_dir" "$out_dir" "$tmp_dir/duckdb" "$tmp_dir/polars"
export POLARS_TEMP_DIR="$tmp_dir/polars" TMPDIR="$tmp_dir"

tools=(postlaunch duckdb polars)

# measure TOOL RUN CMD...: run CMD under GNU time, append "seconds KiB" to runs/TOOL.results.
measure() {
    local tool="$1" run="$2"
    shift 2
    local timing="$runs_dir/$tool.$run.time" output="$runs_dir/$tool.$run.log"
    if ! /usr/bin/time -f '%e %M' -o "$timing" "$@" >"$output" 2>&1; then
        die "$tool (run $run) failed; its output is in \`$output\`"
    fi
    local secs kib
    read -r secs kib <"$timing"
    echo "$secs $kib" >>"$runs_dir/$tool.results"
    log "run $run/$runs $tool: ${secs} s, $((kib / 1024)) MiB peak RSS"
}

for ((run = 1; run <= runs; run++)); do
    rm -rf "$work/lake"
    measure postlaunch "$run" "$bin" ingest --lake "$work/lake" --table requests "$data" -q
    rm -f "$out_dir/duckdb.parquet"
    measure duckdb "$run" "$py" -c "$duckdb_py" "$data" "$out_dir/duckdb.parquet" "$tmp_dir/duckdb"
    rm -f "$out_dir/polars.parquet"
    measure polars "$run" "$py" -c "$polars_py" "$data" "$out_dir/polars.parquet"
done

# --- checks and report -------------------------------------------------------------------------

# A fast ingest that drops rows is no win: each tool must have written one row per line.
check_failed=0
pl_rows="$("$bin" sql -q --lake "$work/lake" --format csv "SELECT count(*) AS n FROM requests" |
    tail -n 1)" || die "\`postlaunch sql\` could not count the ingested rows"
peer_rows="$("$py" -c '
import sys
import pyarrow.parquet as pq
print(" ".join(str(pq.read_metadata(p).num_rows) for p in sys.argv[1:]))
' "$out_dir/duckdb.parquet" "$out_dir/polars.parquet")"
read -r duckdb_rows polars_rows <<<"$peer_rows"
for pair in "postlaunch:$pl_rows" "duckdb:$duckdb_rows" "polars:$polars_rows"; do
    if [[ "${pair#*:}" != "$lines" ]]; then
        log "error: ${pair%%:*} wrote ${pair#*:} rows from $lines lines"
        check_failed=1
    fi
done

# median of the first (field 1) or second (field 2) column of a results file
median() {
    cut -d' ' -f"$2" "$1" | sort -g | awk '{ v[NR] = $1 }
        END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# GNU time reports 0.00 s for a sub-10 ms run; never divide by it.
awk_lib='function floor_s(s) { return (s < 0.01) ? 0.01 : s } '

declare -A secs rss
for tool in "${tools[@]}"; do
    secs[$tool]="$(median "$runs_dir/$tool.results" 1)"
    rss[$tool]="$(median "$runs_dir/$tool.results" 2)"
done

# Two lines, one per target; awk's exit status says whether both are met.
targets_met=1
targets="$(awk -v d="${secs[duckdb]}" -v p="${secs[postlaunch]}" -v k="${rss[postlaunch]}" "$awk_lib"'BEGIN {
    r = floor_s(d) / floor_s(p); m = k / 1024
    printf "target: postlaunch/duckdb >= 1.50×      got %.2f×     %s\n", r, (r >= 1.5) ? "met" : "NOT met"
    printf "target: postlaunch peak RSS < 512 MiB   got %.1f MiB  %s\n", m, (m < 512) ? "met" : "NOT met"
    exit !(r >= 1.5 && m < 512)
}')" || targets_met=0

report="$work/results.txt"
{
    echo "ingest benchmark: $lines requests events ($(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1048576 }') MiB NDJSON, days=$days scale=$scale), $runs runs each, $(nproc) cores"
    echo "binary: $bin"
    echo "peers: $("$py" -c 'import duckdb, polars; print(f"duckdb {duckdb.__version__}, polars {polars.__version__}")') (ts read as text)"
    echo
    printf '%-12s %10s %14s %14s %18s\n' tool "median s" "events/s" "peak RSS MiB" "postlaunch/tool"
    for tool in "${tools[@]}"; do
        awk -v t="$tool" -v s="${secs[$tool]}" -v k="${rss[$tool]}" -v n="$lines" \
            -v p="${secs[postlaunch]}" "$awk_lib"'BEGIN {
                ratio = (t == "postlaunch") ? "" : sprintf("%.2fx", floor_s(s) / floor_s(p))
                printf "%-12s %10.2f %14.0f %14.1f %18s\n", t, s, n / floor_s(s), k / 1024, ratio
            }'
    done
    echo
    for tool in "${tools[@]:1}"; do
        awk -v t="$tool" -v s="${secs[$tool]}" -v p="${secs[postlaunch]}" "$awk_lib"'BEGIN {
            printf "postlaunch/%s = %.2f× (events/s)\n", t, floor_s(s) / floor_s(p)
        }'
    done
    echo
    echo "$targets"
    if ((check_failed)); then
        echo "check: row counts differ from the input's line count (see above): FAILED"
    fi
} | tee "$report"
log "report saved to \`$report\`"

if ((check_failed)); then
    exit 1
fi
if ((strict)) && ((targets_met == 0)); then
    exit 1
fi
