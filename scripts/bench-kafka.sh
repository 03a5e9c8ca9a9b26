#!/usr/bin/env bash
# Kafka ingest benchmark: `postlaunch ingest --pipeline` against bare consumers on the local broker.
#
# Usage: scripts/bench-kafka.sh [-h|--help]
#
# Steps:
#   1. Build the release binary and the bare librdkafka consumer (benches/kafka_count.rs), unless
#      POSTLAUNCH_BIN names a binary (then KAFKA_COUNT_BIN must name the counter too).
#   2. Start the broker (scripts/kafka.sh start; stopped at the end if this script started it),
#      create a 4-partition topic and publish the demo's `requests` (days=7, scale=$SCALE, about
#      5 million events) with `postlaunch demo --to-kafka`. The topic is reused while it exists
#      with the same parameters.
#   3. RUNS rounds, interleaved, each timed with GNU time (wall seconds, peak RSS):
#        kafka-perf   org.apache.kafka.tools.ConsumerPerformance (Kafka's own consumer, Java)
#        rdkafka      benches/kafka_count: librdkafka 2.12, counts messages and bytes only
#        postlaunch   `postlaunch ingest --pipeline P --exit-at-end` into a fresh lake with a
#                     fresh consumer group: decode, validate, Parquet, commit, until caught up
#   4. Check postlaunch stored every event, then print medians, events/s, peak RSS and the
#      ratio of postlaunch to the faster bare consumer; the target is >= 0.5x with RSS < 512 MiB.
#
# Environment: SCALE (default 28), RUNS (default 3), KAFKA_PORT (default 19092),
#   BENCH_DIR (default target/bench), POSTLAUNCH_BIN, KAFKA_COUNT_BIN.
# Exit codes: 0 done, 1 a check failed, 2 the benchmark could not run.
set -euo pipefail

case "${1:-}" in
    -h | --help)
        sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
        exit 0
        ;;
    "") ;;
    *)
        echo "bench-kafka.sh: unexpected argument \`$1\` (try --help)" >&2
        exit 2
        ;;
esac

log() { echo "bench-kafka: $*" >&2; }
die() {
    log "error: $*"
    exit 2
}

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
scale="${SCALE:-28}"
runs="${RUNS:-3}"
port="${KAFKA_PORT:-19092}"
brokers="127.0.0.1:$port"
export KAFKA_PORT="$port"
mkdir -p "${BENCH_DIR:-target/bench}/kafka"
work="$(cd "${BENCH_DIR:-target/bench}/kafka" && pwd)"
[[ -x /usr/bin/time ]] || die "GNU time (/usr/bin/time) is missing: apt-get install -y time"

if [[ -n "${POSTLAUNCH_BIN:-}" ]]; then
    bin="$POSTLAUNCH_BIN"
    counter="${KAFKA_COUNT_BIN:?set KAFKA_COUNT_BIN too (target/release/deps/kafka_count-*)}"
else
    log "building the release binary and benches/kafka_count"
    cargo build --release --bins --benches >&2 || die "cargo build --release failed"
    bin="${CARGO_TARGET_DIR:-$repo/target}/release/postlaunch"
    counter="$(ls -t "${CARGO_TARGET_DIR:-$repo/target}"/release/deps/kafka_count-* | grep -v '\.d$' | head -1)"
fi
[[ -x "$bin" && -x "$counter" ]] || die "missing binaries: \`$bin\`, \`$counter\`"

started_broker=0
if ! scripts/kafka.sh status >/dev/null 2>&1; then
    scripts/kafka.sh start >&2 || die "the broker did not start"
    started_broker=1
fi
cleanup() { if [[ $started_broker == 1 ]]; then scripts/kafka.sh stop >&2 || true; fi; }
trap cleanup EXIT

prefix="bench-s${scale//./_}."
topic="${prefix}requests"
stamp="$work/topic.params"
expected_file="$work/expected"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$topic" ]] &&
    scripts/kafka.sh java-class org.apache.kafka.tools.TopicCommand --bootstrap-server "$brokers" --list 2>/dev/null | grep -qx "$topic"; then
    log "reusing topic \`$topic\`"
else
    rm -f "$stamp"
    scripts/kafka.sh topics-create "$topic" 4 >&2 || die "could not create \`$topic\`"
    log "publishing the demo's requests (days=7 scale=$scale) to \`$topic\`"
    "$bin" demo --to-kafka "$brokers" --topic-prefix "$prefix" --tables requests --days 7 --scale "$scale" --no-malformed >&2 ||
        die "demo --to-kafka failed"
    "$bin" demo --emit "$work/emit" --tables requests --days 7 --scale "$scale" --no-malformed -q
    wc -l <"$work/emit/requests.ndjson" >"$expected_file"
    rm -rf "$work/emit"
    echo "$topic" >"$stamp"
fi
expected="$(cat "$expected_file")"
log "topic \`$topic\`: $expected events in 4 partitions"

timed() { # label, command...: appends "label seconds rss_kib" to $work/times
    local label="$1"
    shift
    /usr/bin/time -f "%e %M" -o "$work/time.out" "$@" >"$work/$label.out" 2>"$work/$label.err" ||
        { cat "$work/$label.err" >&2; die "$label failed"; }
    read -r secs rss <"$work/time.out"
    echo "$label $secs $rss" >>"$work/times"
    log "$label: $secs s, $((rss / 1024)) MiB peak RSS"
}

: >"$work/times"
for run in $(seq 1 "$runs"); do
    log "run $run/$runs"
    timed kafka-perf "$repo/scripts/kafka.sh" java-class org.apache.kafka.tools.ConsumerPerformance \
        --bootstrap-server "$brokers" --topic "$topic" --num-records "$expected" \
        --group "perf-$run-$$" --timeout 600000
    timed rdkafka "$counter" "$brokers" "$topic" "$expected"
    lake="$work/lake-$run"
    rm -rf "$lake"
    cat >"$work/pipeline.toml" <<TOML
lake = "$lake"
memory_budget = "256MiB"
[kafka]
brokers = "$brokers"
group_id = "bench-$run-$$"
[flush]
max_rows = 2000000
max_bytes = "128MiB"
max_age = "30s"
[metrics]
listen = ""
[[topics]]
topic = "$topic"
table = "requests"
TOML
    timed postlaunch "$bin" ingest -q --pipeline "$work/pipeline.toml" --exit-at-end
    stored="$("$bin" sql -q --lake "$lake" --format csv "SELECT count(*) FROM requests" | tail -1)"
    [[ "$stored" == "$expected" ]] || { log "postlaunch stored $stored of $expected events"; exit 1; }
    rm -rf "$lake"
done

awk -v n="$expected" '
function median(a, k,    i, j, t) { for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t } return (k % 2) ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2 }
{ c[$1]++; s[$1, c[$1]] = $2; r[$1, c[$1]] = $3 }
END {
    printf "%-12s %9s %12s %13s\n", "tool", "median s", "events/s", "peak RSS MiB"
    split("kafka-perf rdkafka postlaunch", tools, " ")
    for (t = 1; t <= 3; t++) {
        name = tools[t]; k = c[name]
        for (i = 1; i <= k; i++) { x[i] = s[name, i]; y[i] = r[name, i] }
        sec[name] = median(x, k); rss[name] = median(y, k) / 1024
        printf "%-12s %9.2f %12.0f %13.1f\n", name, sec[name], n / sec[name], rss[name]
    }
    best = (sec["rdkafka"] < sec["kafka-perf"]) ? "rdkafka" : "kafka-perf"
    ratio = sec[best] / sec["postlaunch"]
    printf "\npostlaunch / %s (the faster bare consumer) = %.2fx events/s\n", best, ratio
    printf "target: >= 0.50x  %s;  peak RSS < 512 MiB  %s\n", (ratio >= 0.5) ? "met" : "NOT met", (rss["postlaunch"] < 512) ? "met" : "NOT met"
}' "$work/times" | tee "$work/results.txt"
