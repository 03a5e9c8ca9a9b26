#!/usr/bin/env bash
# A real Apache Kafka broker for the test suite and benchmarks: one KRaft node that is both broker
# and controller, listening on 127.0.0.1 only, run from jars that Maven fetches (no tarball).
#
# Usage:
#   scripts/kafka.sh fetch                 copy the broker's jars from Maven (scripts/kafka/pom.xml)
#   scripts/kafka.sh start                 fetch if needed, format storage once, start, wait until
#                                          the broker serves requests (or fail with its log)
#   scripts/kafka.sh status                "running pid N on 127.0.0.1:PORT", exit 0; else exit 3
#   scripts/kafka.sh stop [--wipe]         SIGTERM, SIGKILL after 30 s; --wipe also deletes the data
#   scripts/kafka.sh topics-create NAME PARTITIONS
#                                          create a topic (replication factor 1) unless it exists
#   scripts/kafka.sh java-class CLASS [ARGS...]
#                                          run a class from the Kafka jars, e.g.
#                                          org.apache.kafka.tools.ConsumerPerformance
#   scripts/kafka.sh -h|--help
#
# A typical session:
#   scripts/kafka.sh start
#   scripts/kafka.sh topics-create events 4
#   scripts/kafka.sh java-class org.apache.kafka.tools.ConsoleProducer \
#       --bootstrap-server 127.0.0.1:19092 --topic events < events.ndjson
#   scripts/kafka.sh java-class org.apache.kafka.tools.consumer.ConsoleConsumer \
#       --bootstrap-server 127.0.0.1:19092 --topic events --from-beginning --max-messages 10
#   scripts/kafka.sh stop --wipe
#
# Classes in the Kafka 4.4 jars that are worth knowing (the 4.x names; 3.x had others):
#   kafka.Kafka                                        the broker (what `start` runs)
#   kafka.tools.StorageTool                            kafka-storage.sh (format, random-uuid, info)
#   org.apache.kafka.tools.TopicCommand                kafka-topics.sh
#   org.apache.kafka.tools.ConsoleProducer             kafka-console-producer.sh
#   org.apache.kafka.tools.consumer.ConsoleConsumer    kafka-console-consumer.sh
#   org.apache.kafka.tools.ProducerPerformance         kafka-producer-perf-test.sh
#   org.apache.kafka.tools.ConsumerPerformance         kafka-consumer-perf-test.sh
#   org.apache.kafka.tools.GroupsCommand, org.apache.kafka.tools.consumer.group.ConsumerGroupCommand
#
# Files, all under the cache folder $KAFKA_HOME_DIR (default: <repo>/target/kafka):
#   libs/                 the jars (libs/.pom-sha256 records which pom.xml they came from; `fetch`
#                         copies again only when scripts/kafka/pom.xml changes)
#   config/               server.properties, log4j2 configs, admin.properties (rewritten by `start`)
#   data/                 the broker's log.dirs (topics and the KRaft metadata log); kept across
#                         stop/start, deleted by `stop --wipe`
#   broker.pid, logs/server.log (the previous run's log is kept as logs/server.log.1)
#
# Environment:
#   KAFKA_HOME_DIR         cache folder (default: <repo>/target/kafka)
#   KAFKA_PORT             client listener port on 127.0.0.1 (default: 19092)
#   KAFKA_CONTROLLER_PORT  KRaft controller listener port on 127.0.0.1 (default: 19093)
#   KAFKA_HEAP             broker heap flags (default: -Xmx1G -Xms256M)
#   KAFKA_JVM_OPTS         other broker JVM flags (default: -XX:+UseG1GC -XX:MaxGCPauseMillis=20)
#   KAFKA_TOOL_HEAP        heap flags for `java-class`, `topics-create` and checks (default: -Xmx512M)
#   KAFKA_START_TIMEOUT    seconds `start` waits for the broker to serve (default: 90)
#   KAFKA_WIPE=1           same as `stop --wipe`
#   KAFKA_JAVA             java binary (default: $JAVA_HOME/bin/java, else `java` on PATH); Java 17+
#
# Needs Java 17 or newer and Maven (`mvn`) for the first fetch; Maven's local repository (~/.m2) is
# used as it is, so a warm ~/.m2 makes `fetch` take seconds. On Debian:
#   apt-get install -y openjdk-17-jre-headless maven
#
# Exit codes: 0 done; 1 the operation failed (the message says why); 2 bad usage or a missing tool;
# 3 `status` found no healthy broker.
set -euo pipefail

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$script_dir/.." && pwd)"
pom="$script_dir/kafka/pom.xml"

home="${KAFKA_HOME_DIR:-$repo/target/kafka}"
port="${KAFKA_PORT:-19092}"
controller_port="${KAFKA_CONTROLLER_PORT:-19093}"
heap="${KAFKA_HEAP:--Xmx1G -Xms256M}"
jvm_opts="${KAFKA_JVM_OPTS:--XX:+UseG1GC -XX:MaxGCPauseMillis=20}"
tool_heap="${KAFKA_TOOL_HEAP:--Xmx512M}"
start_timeout="${KAFKA_START_TIMEOUT:-90}"
stop_timeout=30
bootstrap="127.0.0.1:$port"

libs="$home/libs"
conf="$home/config"
data="$home/data"
logs="$home/logs"
pid_file="$home/broker.pid"
server_log="$logs/server.log"
stamp="$libs/.pom-sha256"

say() { printf 'kafka.sh: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }
usage_error() { say "$*"; say "see \`scripts/kafka.sh --help\`"; exit 2; }

usage() {
    # The header comment above is the help text.
    sed -n '2,/^set -euo pipefail$/{/^set -euo/d; s/^# \{0,1\}//; p}' "${BASH_SOURCE[0]}"
}

check_port_var() {
    local name="$1" value="$2"
    if ! [[ "$value" =~ ^[0-9]+$ ]] || ((value < 1 || value > 65535)); then
        usage_error "$name is \`$value\`, expected a port number 1-65535"
    fi
}

# --- tools ----------------------------------------------------------------------------------------

java_bin=""
find_java() {
    [ -n "$java_bin" ] && return 0
    if [ -n "${KAFKA_JAVA:-}" ]; then
        java_bin="$KAFKA_JAVA"
    elif [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then
        java_bin="$JAVA_HOME/bin/java"
    else
        java_bin="$(command -v java || true)"
    fi
    if [ -n "${KAFKA_JAVA:-}" ] && ! [ -x "$(command -v "$java_bin" || true)" ]; then
        say "KAFKA_JAVA is \`$KAFKA_JAVA\`, which is not an executable java"
        exit 2
    fi
    if [ -z "$java_bin" ] || ! [ -x "$(command -v "$java_bin" || true)" ]; then
        say "no \`java\` found (looked at JAVA_HOME and PATH); Kafka 4 needs Java 17+:"
        say "  apt-get install -y openjdk-17-jre-headless"
        exit 2
    fi
    # `java -version` prints e.g. `openjdk version "17.0.15" 2025-04-15` on stderr.
    local version major
    version="$("$java_bin" -version 2>&1 | sed -n 's/.* version "\([^"]*\)".*/\1/p' | head -n 1)"
    major="${version%%.*}"
    if ! [[ "$major" =~ ^[0-9]+$ ]] || ((major < 17)); then
        say "\`$java_bin\` is Java \`${version:-unknown}\`, Kafka 4 needs Java 17 or newer"
        say "  apt-get install -y openjdk-17-jre-headless, or point KAFKA_JAVA at a newer java"
        exit 2
    fi
}

# Runs a class from the Kafka jars in the foreground, logging WARN and above to stderr.
run_class() {
    find_java
    # shellcheck disable=SC2086 # heap flags are a list on purpose
    "$java_bin" $tool_heap -Djava.awt.headless=true \
        -Dlog4j2.configurationFile="$conf/tools-log4j2.properties" \
        -cp "$libs/*" "$@"
}

# --- fetch ----------------------------------------------------------------------------------------

pom_hash() { sha256sum "$pom" | cut -d' ' -f1; }

libs_current() { [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$(pom_hash)" ]; }

fetch() {
    [ -f "$pom" ] || die "\`$pom\` is missing: it lists the jars to fetch"
    if libs_current; then
        return 0
    fi
    if broker_pid >/dev/null; then
        die "\`$pom\` changed since the running broker's jars were fetched; run \`scripts/kafka.sh stop\` first"
    fi
    command -v mvn >/dev/null || {
        say "no \`mvn\` on PATH: Maven fetches the Kafka jars listed in \`$pom\`:"
        say "  apt-get install -y maven"
        exit 2
    }
    find_java
    say "fetching the Kafka jars listed in \`$pom\` into \`$libs\` (Maven, ~55 MB on a cold ~/.m2)"
    local tmp="$home/libs.tmp.$$"
    rm -rf "$tmp"
    mkdir -p "$home"
    # Copied to a fresh folder and moved in place at the end, so an interrupted fetch never
    # leaves a mix of old and new jars behind a valid stamp.
    # Maven's output goes to a file, shown only on failure: Maven 3.8 prints stray colour
    # escape codes even with -q.
    local mvn_log="$home/maven.log"
    if ! mvn -B -q -Dstyle.color=never -f "$pom" dependency:copy-dependencies \
        -DoutputDirectory="$tmp" >"$mvn_log" 2>&1; then
        rm -rf "$tmp"
        sed 's/\x1b\[[0-9;]*m//g' "$mvn_log" >&2
        die "Maven could not fetch the jars listed in \`$pom\` (its output is above and in \`$mvn_log\`)"
    fi
    compgen -G "$tmp/kafka_2.13-*.jar" >/dev/null ||
        die "Maven ran but \`$tmp\` has no kafka_2.13 jar: check \`$pom\`"
    pom_hash >"$tmp/.pom-sha256"
    rm -rf "$libs"
    mv "$tmp" "$libs"
    say "fetched $(find "$libs" -name '*.jar' | wc -l) jars ($(kafka_version))"
}

kafka_version() {
    local jar
    jar="$(compgen -G "$libs/kafka_2.13-*.jar" | head -n 1 || true)"
    jar="${jar##*/kafka_2.13-}"
    printf 'Kafka %s\n' "${jar%.jar}"
}

# --- configuration --------------------------------------------------------------------------------

write_tool_config() {
    mkdir -p "$conf"
    cat >"$conf/tools-log4j2.properties" <<'EOF'
# Written by scripts/kafka.sh: command-line tools log warnings and errors to stderr only.
status = warn
appender.err.type = Console
appender.err.name = STDERR
appender.err.target = SYSTEM_ERR
appender.err.layout.type = PatternLayout
appender.err.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = warn
rootLogger.appenderRef.err.ref = STDERR
EOF
    # Short client timeouts, so a health check against a broker that is not serving yet fails
    # in seconds instead of the admin client's default minute.
    cat >"$conf/admin.properties" <<'EOF'
# Written by scripts/kafka.sh: admin client settings for its health checks and topics-create.
request.timeout.ms=5000
default.api.timeout.ms=10000
retries=2
EOF
}

write_broker_config() {
    write_tool_config
    cat >"$conf/server.properties" <<EOF
# Written by scripts/kafka.sh on every start; edit the script, not this file.
# One KRaft node that is both broker and controller, on 127.0.0.1 only.
process.roles=broker,controller
node.id=1
# A dynamic quorum of one (KIP-853), formatted with \`kafka-storage format --standalone\`.
controller.quorum.bootstrap.servers=127.0.0.1:$controller_port
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller_port
advertised.listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller_port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT

log.dirs=$data/kraft-combined-logs
num.partitions=4
default.replication.factor=1
auto.create.topics.enable=true
delete.topic.enable=true

# A single node: every internal topic has one replica.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
# Tests join consumer groups often; waiting 3 s for more members would only slow them.
group.initial.rebalance.delay.ms=0

# Small segments and a day of retention: test and benchmark data is disposable.
log.segment.bytes=16777216
log.retention.hours=24
log.retention.check.interval.ms=60000
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
EOF
    cat >"$conf/log4j2.properties" <<'EOF'
# Written by scripts/kafka.sh: the broker logs INFO to stdout, which `start` sends to logs/server.log.
status = warn
appender.out.type = Console
appender.out.name = STDOUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.out.ref = STDOUT
# Per-partition state changes, per-request logs and the full config dump each client and the
# broker print at start-up (~2,000 lines) would drown the rest; server.properties is beside this file.
logger.config.name = org.apache.kafka.common.config.AbstractConfig
logger.config.level = warn
logger.state.name = state.change.logger
logger.state.level = warn
logger.request.name = kafka.request.logger
logger.request.level = warn
EOF
}

# --- process --------------------------------------------------------------------------------------

# Prints the broker's pid when the pid file names a live process that is this cache folder's broker.
broker_pid() {
    [ -f "$pid_file" ] || return 1
    local pid
    pid="$(cat "$pid_file" 2>/dev/null || true)"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    [ -r "/proc/$pid/cmdline" ] || return 1
    # A recycled pid is not ours: the command line must name kafka.Kafka and our server.properties.
    local cmdline
    cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)"
    [[ "$cmdline" == *"kafka.Kafka $conf/server.properties"* ]] || return 1
    printf '%s\n' "$pid"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# The broker serves when an admin client can list its topics, not merely when the port accepts.
serving() {
    port_open "$port" || return 1
    # shellcheck disable=SC2086 # heap flags are a list on purpose
    timeout 30 bash -c '"$@" >/dev/null 2>&1' _ \
        "$java_bin" $tool_heap -Djava.awt.headless=true \
        -Dlog4j2.configurationFile="$conf/tools-log4j2.properties" -cp "$libs/*" \
        org.apache.kafka.tools.TopicCommand --bootstrap-server "$bootstrap" \
        --command-config "$conf/admin.properties" --list
}

show_log() {
    if [ -s "$server_log" ]; then
        say "last 50 lines of \`$server_log\`:"
        tail -n 50 "$server_log" >&2
    else
        say "\`$server_log\` is empty or missing"
    fi
}

format_storage() {
    local logdir="$data/kraft-combined-logs"
    # Formatted once; later starts keep the topics. (A broker started later with other ports
    # serves as well: the single voter's recorded endpoint is only stale, never contacted.)
    [ -f "$logdir/meta.properties" ] && return 0
    local cluster_id
    cluster_id="$(run_class kafka.tools.StorageTool random-uuid)" ||
        die "\`kafka.tools.StorageTool random-uuid\` failed"
    say "formatting \`$logdir\` (cluster id $cluster_id)"
    mkdir -p "$data"
    local out
    if ! out="$(run_class kafka.tools.StorageTool format --config "$conf/server.properties" \
        --cluster-id "$cluster_id" --standalone 2>&1)"; then
        printf '%s\n' "$out" >&2
        die "\`kafka.tools.StorageTool format\` failed for \`$logdir\` (its output is above)"
    fi
}

start() {
    fetch
    find_java
    write_broker_config
    local pid
    if pid="$(broker_pid)"; then
        if serving; then
            say "already running pid $pid on $bootstrap ($(kafka_version))"
            return 0
        fi
        say "pid $pid is running but does not serve on $bootstrap yet; waiting"
    else
        rm -f "$pid_file"
        local p
        for p in "$port" "$controller_port"; do
            if port_open "$p"; then
                die "127.0.0.1:$p is already taken by another process (not the broker of \`$home\`); stop it or set KAFKA_PORT / KAFKA_CONTROLLER_PORT"
            fi
        done
        format_storage
        mkdir -p "$logs"
        [ -f "$server_log" ] && mv -f "$server_log" "$server_log.1"
        # stdin, stdout and stderr are redirected and the lock's fd 9 is closed, so a caller
        # that captures this script's output does not wait for the broker, and the broker does
        # not hold the lock. `exec` keeps $! the java pid.
        # shellcheck disable=SC2086 # heap and JVM flags are lists on purpose
        nohup bash -c 'exec "$@"' _ "$java_bin" $heap $jvm_opts -Djava.awt.headless=true \
            -Dlog4j2.configurationFile="$conf/log4j2.properties" \
            -cp "$libs/*" kafka.Kafka "$conf/server.properties" \
            </dev/null >"$server_log" 2>&1 9>&- &
        pid=$!
        printf '%s\n' "$pid" >"$pid_file"
        say "started pid $pid ($(kafka_version)); waiting up to ${start_timeout}s for $bootstrap"
    fi

    local began=$SECONDS
    while :; do
        if ! kill -0 "$pid" 2>/dev/null; then
            rm -f "$pid_file"
            show_log
            die "the broker (pid $pid) exited during start-up"
        fi
        if serving; then
            say "running pid $pid on $bootstrap, serving after $((SECONDS - began))s"
            return 0
        fi
        if ((SECONDS - began >= start_timeout)); then
            show_log
            die "the broker (pid $pid) did not serve on $bootstrap within ${start_timeout}s; it is still running: \`scripts/kafka.sh stop\`"
        fi
        sleep 0.5
    done
}

stop() {
    local wipe="${KAFKA_WIPE:-0}" arg
    for arg in "$@"; do
        case "$arg" in
            --wipe) wipe=1 ;;
            *) usage_error "stop: unknown argument \`$arg\`, expected --wipe" ;;
        esac
    done
    local pid
    if pid="$(broker_pid)"; then
        say "stopping pid $pid (SIGTERM, SIGKILL after ${stop_timeout}s)"
        kill -TERM "$pid" 2>/dev/null || true
        local waited=0
        while kill -0 "$pid" 2>/dev/null && ((waited < stop_timeout * 10)); do
            sleep 0.1
            waited=$((waited + 1))
        done
        if kill -0 "$pid" 2>/dev/null; then
            say "pid $pid still running after ${stop_timeout}s; SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
            while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
        fi
        say "stopped"
    else
        say "not running (no live broker in \`$pid_file\`)"
    fi
    rm -f "$pid_file"
    if [ "$wipe" = 1 ]; then
        rm -rf "$data"
        say "wiped \`$data\`; the next start formats fresh storage"
    fi
}

status() {
    local pid
    if ! pid="$(broker_pid)"; then
        echo "not running (no live broker in \`$pid_file\`)"
        exit 3
    fi
    [ -d "$libs" ] || { echo "pid $pid is running but \`$libs\` is gone"; exit 3; }
    find_java
    write_tool_config
    if serving; then
        echo "running pid $pid on $bootstrap"
    else
        echo "pid $pid is running but does not serve on $bootstrap (see \`$server_log\`)"
        exit 3
    fi
}

topics_create() {
    [ $# -eq 2 ] || usage_error "topics-create takes NAME PARTITIONS, got $# argument(s)"
    local name="$1" partitions="$2"
    [[ "$partitions" =~ ^[1-9][0-9]*$ ]] ||
        usage_error "topics-create: PARTITIONS is \`$partitions\`, expected a whole number >= 1"
    broker_pid >/dev/null || die "no broker is running for \`$home\`; run \`scripts/kafka.sh start\` first"
    write_tool_config
    run_class org.apache.kafka.tools.TopicCommand --bootstrap-server "$bootstrap" \
        --command-config "$conf/admin.properties" --create --if-not-exists \
        --topic "$name" --partitions "$partitions" --replication-factor 1 >&2 ||
        die "could not create topic \`$name\` with $partitions partitions on $bootstrap"
}

java_class() {
    write_tool_config
    find_java
    # exec: the class gets this process's signals and its exit code is the script's.
    # shellcheck disable=SC2086 # heap flags are a list on purpose
    exec "$java_bin" $tool_heap -Djava.awt.headless=true \
        -Dlog4j2.configurationFile="$conf/tools-log4j2.properties" \
        -cp "$libs/*" "$@"
}

# --- main -----------------------------------------------------------------------------------------

check_port_var KAFKA_PORT "$port"
check_port_var KAFKA_CONTROLLER_PORT "$controller_port"
[ "$port" != "$controller_port" ] ||
    usage_error "KAFKA_PORT and KAFKA_CONTROLLER_PORT are both $port; the listeners need two ports"
[[ "$start_timeout" =~ ^[0-9]+$ ]] ||
    usage_error "KAFKA_START_TIMEOUT is \`$start_timeout\`, expected whole seconds"

# One start, stop or fetch at a time per cache folder: parallel test runs may all call `start`.
lock() {
    mkdir -p "$home"
    command -v flock >/dev/null || return 0
    exec 9>"$home/.lock"
    flock 9
}

command="${1:-}"
[ $# -gt 0 ] && shift
case "$command" in
    fetch)
        [ $# -eq 0 ] || usage_error "fetch takes no arguments"
        lock
        fetch
        say "jars are in \`$libs\` ($(kafka_version))"
        ;;
    start)
        [ $# -eq 0 ] || usage_error "start takes no arguments (ports come from KAFKA_PORT, KAFKA_CONTROLLER_PORT)"
        lock
        start
        ;;
    stop)
        lock
        stop "$@"
        ;;
    status)
        [ $# -eq 0 ] || usage_error "status takes no arguments"
        status
        ;;
    topics-create) topics_create "$@" ;;
    java-class)
        [ $# -ge 1 ] || usage_error "java-class takes CLASS [ARGS...], e.g. org.apache.kafka.tools.ConsumerPerformance --help"
        lock
        fetch
        exec 9>&- # the lock guards the fetch only
        java_class "$@"
        ;;
    -h | --help | help) usage ;;
    "") usage_error "no command given; expected one of fetch, start, stop, status, topics-create, java-class" ;;
    *) usage_error "unknown command \`$command\`; expected one of fetch, start, stop, status, topics-create, java-class" ;;
esac
