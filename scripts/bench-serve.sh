#!/usr/bin/env bash
# Dashboard benchmark: server time of every `postlaunch serve` page on the two-week demo, with
# DuckDB computing the Application page's service table from the raw requests as the peer.
#
# Usage: scripts/bench-serve.sh [-h|--help]
#
# Steps:
#   1. Build the release binary (`cargo build --release`), unless POSTLAUNCH_BIN names one.
#   2. The two-week demo (`postlaunch demo --days 14 --scale $SCALE`) into $BENCH_DIR/serve/lake,
#      with what the pages read: `hourly --all`, `funnel --write-daily`, `alerts replay --store`,
#      `impact` of three deployments, `incidents`, `experiment analyze checkout_redesign`. Made once; delete the folder to make it again.
#   3. `postlaunch serve` on a free port of 127.0.0.1; each page (the nine, and the drill-down
#      service → endpoint → version, a deployment, an incident, an experiment readout) requested
#      once to warm up, then RUNS times, one after the other, range "last 7 days". Each response's
#      `Server-Timing: total` is the server time; the client's wall time is taken too.
#   4. The peer, RUNS times: DuckDB (in-process, Python) computing the Application page's table —
#      requests, errors, error rate, p50/p95/p99 per service over the same 7 days — from the raw
#      `requests` Parquet files, as an analyst without the hourly tables would.
#   5. Print per page p50 and p95 of the server time and the client time, the ratio of the
#      Application page to DuckDB's query, and the target: every page under 300 ms server time
#      at p95 (exit 1 when one is not).
#
# Environment: SCALE (default 1.0, the README's demo), RUNS (default 20), BENCH_DIR (default
#   target/bench), POSTLAUNCH_BIN, POSTLAUNCH_VENV (venv with DuckDB, scripts/setup-python.sh).
# Exit codes: 0 done, 1 a page missed the target, 2 the benchmark could not run.
set -euo pipefail

case "${1:-}" in
    -h | --help)
        sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
        exit 0
        ;;
    "") ;;
    *)
        echo "bench-serve.sh: unexpected argument \`$1\` (try --help)" >&2
        exit 2
        ;;
esac

log() { echo "bench-serve: $*" >&2; }
die() {
    log "error: $*"
    exit 2
}

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
scale="${SCALE:-1.0}"
runs="${RUNS:-20}"
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || die "RUNS=\`$runs\`, expected a positive integer"
mkdir -p "${BENCH_DIR:-target/bench}"
bench_dir="$(cd "${BENCH_DIR:-target/bench}" && pwd)"
work="$bench_dir/serve"
mkdir -p "$work"

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

lake="$work/lake"
stamp="$work/lake.params"
params="days=14 scale=$scale"
if [[ ! -d "$lake" || "$(cat "$stamp" 2>/dev/null)" != "$params" ]]; then
    rm -rf "$lake" "$stamp"
    log "making the two-week demo lake (scale $scale) and its tables"
    "$bin" demo -q --lake "$lake" --days 14 --scale "$scale" || die "demo failed"
    "$bin" hourly -q --lake "$lake" --all || die "hourly failed"
    "$bin" funnel -q --lake "$lake" --write-daily --funnels pipelines/funnels.toml || die "funnel failed"
    "$bin" alerts replay -q --lake "$lake" --rules pipelines/alerts.toml --store --format csv >/dev/null ||
        die "alerts replay failed"
    for d in checkout@2.4.0 api@3.2.0 web@2.1.0; do
        "$bin" impact -q --lake "$lake" --deployment "$d" --optimizations pipelines/optimizations.toml \
            >/dev/null || die "impact $d failed"
    done
    "$bin" incidents -q --lake "$lake" --at 2026-11-17T00:00:00Z >/dev/null || die "incidents failed"
    # the readout as a scheduled `experiment analyze` leaves it: hourly sums stored for reuse
    "$bin" experiment analyze checkout_redesign -q --lake "$lake" --config pipelines/experiments.toml \
        >/dev/null || die "experiment analyze failed"
    echo "$params" >"$stamp"
fi

log "starting postlaunch serve"
"$bin" serve --lake "$lake" --listen 127.0.0.1:0 --rules pipelines/alerts.toml \
    --experiments pipelines/experiments.toml 2>"$work/serve.log" &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true' EXIT
base=""
for _ in $(seq 1 100); do
    base="$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$work/serve.log" | head -1 || true)"
    [[ -n "$base" ]] && break
    kill -0 "$pid" 2>/dev/null || die "serve exited: $(cat "$work/serve.log")"
    sleep 0.1
done
[[ -n "$base" ]] || die "serve did not print its address"

BASE="$base" LAKE="$lake" RUNS="$runs" "$py" - <<'EOF'
import os, re, statistics, sys, time, urllib.request

import duckdb

base, lake, runs = os.environ["BASE"], os.environ["LAKE"], int(os.environ["RUNS"])
pages = [
    ("overview", "/"),
    ("application", "/application"),
    ("application: service", "/application?service=checkout"),
    ("application: endpoint", "/application?service=checkout&endpoint=POST%20%2Fapi%2Fcheckout"),
    ("application: version", "/application?service=checkout&endpoint=POST%20%2Fapi%2Fcheckout&version=2.4.0"),
    ("infrastructure", "/infrastructure"),
    ("database", "/database"),
    ("dependencies", "/dependencies"),
    ("user experience", "/experience"),
    ("business", "/business"),
    ("experiments & deployments", "/changes"),
    ("deployment", "/changes?deployment=checkout%402.4.0"),
    ("experiment readout", "/changes?experiment=checkout_redesign"),
    ("incidents", "/incidents"),
    ("incident", "/incidents?id=INC-2026-001"),
]


def get(path):
    t = time.perf_counter()
    with urllib.request.urlopen(base + path + ("&" if "?" in path else "?") + "range=7d", timeout=120) as r:
        r.read()
        timing, status = r.headers["Server-Timing"], r.status
    wall = (time.perf_counter() - t) * 1000
    if status != 200:
        sys.exit(f"{path}: HTTP {status}")
    return float(re.search(r"total;dur=([0-9.]+)", timing).group(1)), wall


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, round(q * (len(xs) - 1))))]


results = {}
for name, path in pages:
    get(path)  # warm-up
    server, wall = zip(*(get(path) for _ in range(runs)))
    results[name] = (server, wall)

# the peer: the Application page's service table from the raw requests, over the same 7 days
con = duckdb.connect()
q = f"""
SELECT service, count(*) AS requests, sum(CASE WHEN status >= 500 THEN 1 ELSE 0 END) AS errors,
       avg(CASE WHEN status >= 500 THEN 1.0 ELSE 0.0 END) AS error_rate,
       quantile_cont(duration_ms, 0.5) AS p50, quantile_cont(duration_ms, 0.95) AS p95,
       quantile_cont(duration_ms, 0.99) AS p99
FROM read_parquet('{lake}/requests/*/*/*.parquet', hive_partitioning = true)
WHERE ts >= TIMESTAMPTZ '2026-11-09 00:00:00+00' AND ts < TIMESTAMPTZ '2026-11-16 00:00:00+00'
GROUP BY service ORDER BY service"""
con.execute(q).fetchall()
duck = []
for _ in range(runs):
    t = time.perf_counter()
    con.execute(q).fetchall()
    duck.append((time.perf_counter() - t) * 1000)

print(f"{'page':28} {'server p50':>11} {'server p95':>11} {'client p50':>11} {'client p95':>11}   (ms, {runs} runs each)")
worst = 0.0
for name, (server, wall) in results.items():
    worst = max(worst, pct(server, 0.95))
    print(f"{name:28} {pct(server, .5):11.1f} {pct(server, .95):11.1f} {pct(wall, .5):11.1f} {pct(wall, .95):11.1f}")
print(f"{'peer: duckdb, raw requests':28} {pct(duck, .5):11.1f} {pct(duck, .95):11.1f}")
app = statistics.median(results["application"][0])
print(f"application page / duckdb query (medians): {app / statistics.median(duck):.2f}x")
ok = worst < 300
print(f"target: every page < 300 ms server time at p95: {'met' if ok else 'NOT met'} (worst p95 {worst:.1f} ms)")
sys.exit(0 if ok else 1)
EOF
