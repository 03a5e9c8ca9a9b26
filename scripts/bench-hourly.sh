#!/usr/bin/env bash
# Hourly-job benchmark: `postlaunch hourly` against DuckDB on the ingest benchmark's lake.
#
# Usage: scripts/bench-hourly.sh [-h|--help]
#
# Steps:
#   1. Build the release binary (`cargo build --release`), unless POSTLAUNCH_BIN names one.
#   2. The input is the ingest benchmark's events (`postlaunch demo --emit --tables requests
#      --days 7 --scale $SCALE`, about 5 million requests), generated once like
#      scripts/bench-ingest.sh does and ingested once into $BENCH_DIR/hourly/lake.
#   3. RUNS rounds, interleaved, each timed (wall seconds, peak RSS; see below):
#        postlaunch  `postlaunch hourly --all --only service_metrics --no-rollups`: 168 hours of
#                    hourly_service_metrics (exact p50/p95/p99 per hour, service, endpoint and
#                    per version, apdex, DDSketch column), written to the lake
#        duckdb      the same figures per hour, service and endpoint in one DuckDB query over the
#                    same Parquet files (quantile_cont = linear interpolation), fetched in full
#      then (after an untimed run that also writes the daily and weekly roll-ups) a weekly p95
#      per endpoint:
#        sketches    `postlaunch sql`: ddsketch_quantile(ddsketch_merge(latency_sketch), 0.95)
#                    over the 168 hourly sketches of each endpoint (168 files)
#        daily       the same over the 7 daily sketches (`daily_service_metrics`, 7 files; how
#                    the weekly roll-up itself is meant to be read)
#        raw rows    `postlaunch sql`: percentile_cont(0.95) over the week's raw requests
#        startup     `postlaunch sql "SELECT 1"`: process start and lake registration, which all
#                    weekly queries pay; the speed-ups are also shown without it
#      Wall times are taken with `date +%s%N` (ms resolution; GNU time's is 10 ms) and peak RSS
#      with GNU time.
#   4. Print medians and ratios, the largest relative error of the sketch p95s against the exact
#      ones, and the targets: backfill within 1.0x DuckDB's time; weekly percentiles from
#      sketches at least 20x faster than from raw rows, within 1 % relative error.
#
# Environment: SCALE (default 28), RUNS (default 3), BENCH_DIR (default target/bench),
#   POSTLAUNCH_BIN, POSTLAUNCH_VENV (venv with DuckDB, made by scripts/setup-python.sh).
# Exit codes: 0 done, 1 a check failed, 2 the benchmark could not run.
set -euo pipefail

case "${1:-}" in
    -h | --help)
        sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
        exit 0
        ;;
    "") ;;
    *)
        echo "bench-hourly.sh: unexpected argument \`$1\` (try --help)" >&2
        exit 2
        ;;
esac

log() { echo "bench-hourly: $*" >&2; }
die() {
    log "error: $*"
    exit 2
}

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
scale="${SCALE:-28}"
runs="${RUNS:-3}"
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || die "RUNS=\`$runs\`, expected a positive integer"
mkdir -p "${BENCH_DIR:-target/bench}"
bench_dir="$(cd "${BENCH_DIR:-target/bench}" && pwd)"
work="$bench_dir/hourly"
mkdir -p "$work" "$bench_dir/ingest"
[[ -x /usr/bin/time ]] || die "GNU time (/usr/bin/time) is missing; run scripts/bench-ingest.sh once (it installs it)"

if [[ -n "${POSTLAUNCH_BIN:-}" ]]; then
    bin="$POSTLAUNCH_BIN"
else
    log "building the release binary"
    cargo build --release --bin postlaunch >&2 || die "\`cargo build --release\` failed"
    bin="${CARGO_TARGET_DIR:-$repo/target}/release/postlaunch"
fi
[[ -x "$bin" ]] || die "\`$bin\` is not an executable file"
venv="$("$repo/scripts/setup-python.sh")" || die "scripts/setup-python.sh failed"
py="$venv/bin/python"

# --- input: the ingest benchmark's events, in a lake of their own ----------------------------------
data="$bench_dir/ingest/requests.ndjson"
stamp="$bench_dir/ingest/requests.ndjson.params"
params="tables=requests days=7 scale=$scale no-malformed"
if ! [[ -f "$data" && -f "$stamp" && "$(cat "$stamp")" == "$params" ]]; then
    rm -f "$data" "$stamp"
    log "generating \`$data\` ($params)"
    "$bin" demo --emit "$bench_dir/ingest" --tables requests --days 7 --scale "$scale" --no-malformed -q ||
        die "\`postlaunch demo --emit\` failed"
    printf '%s\n' "$params" >"$stamp"
fi
lake="$work/lake"
if ! [[ -f "$work/lake.params" && "$(cat "$work/lake.params")" == "$params" ]]; then
    rm -rf "$lake" "$work/lake.params"
    log "ingesting \`$data\` into \`$lake\`"
    "$bin" ingest -q --lake "$lake" --table requests "$data" || die "ingest failed"
    printf '%s\n' "$params" >"$work/lake.params"
fi
events="$("$bin" sql -q --lake "$lake" --format csv "SELECT count(*) FROM requests" | tail -1)"
log "lake: $events requests"

duckdb_py="$(
    cat <<'PY'
import sys
import duckdb
con = duckdb.connect()
rows = con.execute("""
    SELECT date, hour, service, endpoint, count(*) AS requests,
           sum(CASE WHEN status >= 500 THEN 1 ELSE 0 END) AS errors,
           quantile_cont(duration_ms, 0.5) AS p50_ms,
           quantile_cont(duration_ms, 0.95) AS p95_ms,
           quantile_cont(duration_ms, 0.99) AS p99_ms,
           max(duration_ms) AS max_ms
    FROM read_parquet(?, hive_partitioning = true)
    GROUP BY ALL
""", [sys.argv[1] + "/requests/*/*/*.parquet"]).fetchall()
print(len(rows))
PY
)"

timed() { # name, command...: appends "name seconds rss_kib" to $work/times
    local name="$1"
    shift
    local t0 t1 secs
    t0="$(date +%s%N)"
    /usr/bin/time -f '%M' -o "$work/time.out" "$@" >"$work/$name.out" 2>"$work/$name.err" ||
        { cat "$work/$name.err" >&2; die "$name failed"; }
    t1="$(date +%s%N)"
    secs="$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')"
    echo "$name $secs $(tail -1 "$work/time.out")" >>"$work/times"
    log "$name: $secs s"
}

: >"$work/times"
for run in $(seq 1 "$runs"); do
    log "run $run/$runs"
    rm -rf "$lake"/hourly_* "$lake"/daily_* "$lake"/weekly_* "$lake/.postlaunch"
    timed postlaunch "$bin" hourly -q --lake "$lake" --all --only service_metrics --no-rollups
    timed duckdb "$py" -c "$duckdb_py" "$lake"
    "$bin" hourly -q --lake "$lake" --all --only service_metrics >/dev/null ||
        die "\`postlaunch hourly\` with roll-ups failed"
    timed startup "$bin" sql -q --lake "$lake" --format csv "SELECT 1"
    timed sketches "$bin" sql -q --lake "$lake" --format csv \
        "SELECT service, endpoint, ddsketch_quantile(ddsketch_merge(latency_sketch), 0.95) AS p95 FROM hourly_service_metrics WHERE version = '*' GROUP BY 1, 2 ORDER BY 1, 2"
    timed daily "$bin" sql -q --lake "$lake" --format csv \
        "SELECT service, endpoint, ddsketch_quantile(ddsketch_merge(latency_sketch), 0.95) AS p95 FROM daily_service_metrics WHERE version = '*' GROUP BY 1, 2 ORDER BY 1, 2"
    timed raw "$bin" sql -q --lake "$lake" --format csv \
        "SELECT service, endpoint, percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms) AS p95 FROM requests GROUP BY 1, 2 ORDER BY 1, 2"
done

hours="$("$bin" sql -q --lake "$lake" --format csv "SELECT count(DISTINCT hour_start) FROM hourly_service_metrics" | tail -1)"
[[ "$hours" == 168 ]] || { log "expected 168 hours in hourly_service_metrics, found $hours"; exit 1; }

"$py" - "$work" <<'PY'
import csv, statistics, sys
work = sys.argv[1]
t = {}
for line in open(f"{work}/times"):
    name, secs, rss = line.split()
    t.setdefault(name, []).append((float(secs), int(rss) / 1024))
med = {k: (statistics.median(s for s, _ in v), statistics.median(r for _, r in v)) for k, v in t.items()}
print(f"{'tool':<12}{'median s':>10}{'peak RSS MiB':>14}")
for k, (s, r) in med.items():
    print(f"{k:<12}{s:>10.2f}{r:>14.1f}")
def load(name):
    rows = list(csv.reader(open(f"{work}/{name}.out")))[1:]
    return {(r[0], r[1]): float(r[2]) for r in rows}
sk, daily, raw = load("sketches"), load("daily"), load("raw")
err = max(abs(sk[k] - raw[k]) / raw[k] for k in raw)
err_daily = max(abs(daily[k] - raw[k]) / raw[k] for k in raw)
back = med["postlaunch"][0] / med["duckdb"][0]
# Every weekly query pays the same process start and lake registration (`SELECT 1`); without it
# (floored at 1 ms, the timer's resolution):
start = med["startup"][0]
def speed(name):
    return med["raw"][0] / med[name][0], (med["raw"][0] - start) / max(med[name][0] - start, 0.001)
print()
print(f"hourly backfill: postlaunch / DuckDB time = {back:.2f}x   (target <= 1.0x: {'met' if back <= 1.0 else 'NOT met'})")
print(f"weekly p95 (start-up `SELECT 1` = {start:.3f} s), raw rows / sketches time:")
best = 0.0
for name, what in (("sketches", "168 hourly sketches"), ("daily", "7 daily sketches")):
    gross, net = speed(name)
    best = max(best, net)
    print(f"  from {what:<20} {gross:5.1f}x end to end, {net:6.1f}x without the start-up")
print(f"  target >= 20x without the start-up: {'met' if best >= 20 else 'NOT met'} (best of the two)")
print(f"weekly p95: largest relative error of the sketches = {100 * err:.3f} % (hourly), "
      f"{100 * err_daily:.3f} % (daily)   (target <= 1 %: {'met' if max(err, err_daily) <= 0.01 else 'NOT met'})")
PY
