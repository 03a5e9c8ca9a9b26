#!/usr/bin/env bash
# The Prometheus + Alertmanager peer of scripts/bench-alerts.sh: Debian's Prometheus 2.42 and
# Alertmanager 0.25, run as our own two processes on 127.0.0.1 with the tuned error-rate rule,
# scraping the load generator's /metrics (benches/alert_load.rs METRICS_ADDR) and paging a webhook
# (scripts/alert-webhook.py). Debian's own services stay stopped and disabled.
#
# Usage:
#   scripts/prometheus.sh install          apt-get install prometheus and prometheus-alertmanager
#                                          when missing, then stop and disable Debian's services
#   scripts/prometheus.sh start            install if needed, write the configs, wipe the data,
#                                          start Alertmanager and Prometheus, wait until both are
#                                          ready (or stop them and fail with their logs)
#   scripts/prometheus.sh status           "running ..." and exit 0; else exit 3
#   scripts/prometheus.sh stop             SIGTERM both by PID, SIGKILL after 20 s
#   scripts/prometheus.sh -h|--help
#
# The setup, "tuned" in docs/BENCHMARKS.md:
#   Prometheus     scrape_interval 5s, evaluation_interval 5s; alert ErrorRate, severity P1:
#                    sum by (service) (rate(http_requests_total{code=~"5.."}[1m]))
#                      / sum by (service) (rate(http_requests_total[1m])) > 0.05
#                  for 30s
#   Alertmanager   group_by [alertname, service], group_wait 5s, group_interval 5s,
#                  repeat_interval 1h; one webhook receiver (resolved alerts sent too)
#
# Files, all under $PROM_HOME_DIR (default: <repo>/target/prometheus):
#   prometheus.yml, rules.yml, alertmanager.yml    written by `start`, checked with promtool and
#                                                  amtool first
#   data/prometheus, data/alertmanager             the TSDB and Alertmanager's state; wiped by
#                                                  every `start`, since a benchmark needs fresh
#                                                  alert state: Alertmanager's notification log
#                                                  would hold back a page for a service it paged
#                                                  for less than repeat_interval (1h) ago
#   prometheus.pid, alertmanager.pid
#   logs/prometheus.log, logs/alertmanager.log     (the previous run's are kept as *.log.1)
#   logs/apt.log                                   the output of the last `install`
#
# Environment:
#   PROM_HOME_DIR         state folder (default: <repo>/target/prometheus)
#   PROM_PORT             Prometheus web port on 127.0.0.1 (default: 19090)
#   ALERTMANAGER_PORT     Alertmanager web port on 127.0.0.1 (default: 19094); its cluster
#                         listener is off
#   PROM_TARGET           host:port Prometheus scrapes /metrics from (default: 127.0.0.1:19400)
#   PROM_WEBHOOK_URL      where Alertmanager posts (default: http://127.0.0.1:19095/alerts)
#   PROM_START_TIMEOUT    seconds `start` waits for both to be ready (default: 30)
#
# Installing needs root and apt-get (Debian 12: Prometheus 2.42.0, Alertmanager 0.25.0), and is
# done with --no-install-recommends: the recommended prometheus-node-exporter would be one more
# daemon on 0.0.0.0. The packages' maintainer scripts enable their services and start them
# (Prometheus on 0.0.0.0:9090; Alertmanager on 0.0.0.0:9093 with a cluster port on 9094), so:
# when there is no /usr/sbin/policy-rc.d, one that denies every start is in place for the duration
# of apt-get; afterwards both services are disabled (`systemctl disable`, with --now when systemd
# runs; `update-rc.d disable` for the init.d scripts) and any daemon of the two binaries that was
# not running before the install is stopped by PID.
#
# Exit codes: 0 done; 1 the operation failed (the message says why); 2 bad usage, or the
# packages are missing and cannot be installed; 3 `status` found them not running.
set -euo pipefail

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$script_dir/.." && pwd)"

home="${PROM_HOME_DIR:-$repo/target/prometheus}"
prom_port="${PROM_PORT:-19090}"
am_port="${ALERTMANAGER_PORT:-19094}"
target="${PROM_TARGET:-127.0.0.1:19400}"
webhook_url="${PROM_WEBHOOK_URL:-http://127.0.0.1:19095/alerts}"
start_timeout="${PROM_START_TIMEOUT:-30}"
stop_timeout=20

packages=(prometheus prometheus-alertmanager)
services=(prometheus prometheus-alertmanager)
prom_exe=/usr/bin/prometheus
am_exe=/usr/bin/prometheus-alertmanager

data="$home/data"
logs="$home/logs"
prom_conf="$home/prometheus.yml"
rules="$home/rules.yml"
am_conf="$home/alertmanager.yml"
prom_pid_file="$home/prometheus.pid"
am_pid_file="$home/alertmanager.pid"

say() { printf 'prometheus.sh: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }
usage_error() { say "$*"; say "see \`scripts/prometheus.sh --help\`"; exit 2; }

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

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# True when GET http://127.0.0.1:PORT/PATH answers 200 within 5 s (no curl needed).
http_ok() {
    local line
    # shellcheck disable=SC2016 # $1 and $2 are the inner shell's arguments
    line="$(timeout 5 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
        printf "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n" "$2" >&3
        head -n 1 <&3' _ "$1" "$2" 2>/dev/null)" || return 1
    [[ "$line" == HTTP/1.?" 200"* ]]
}

# The pids of running processes whose executable is $1.
pids_of_exe() {
    local dir
    for dir in /proc/[0-9]*; do
        if [ "$(readlink "$dir/exe" 2>/dev/null || true)" = "$1" ]; then
            printf '%s\n' "${dir#/proc/}"
        fi
    done
}

# SIGTERM, SIGKILL after $stop_timeout s; returns when the process is gone.
stop_pid() {
    local pid="$1" what="$2" waited=0
    kill -TERM "$pid" 2>/dev/null || return 0
    while kill -0 "$pid" 2>/dev/null && ((waited < stop_timeout * 10)); do
        sleep 0.1
        waited=$((waited + 1))
    done
    if kill -0 "$pid" 2>/dev/null; then
        say "$what (pid $pid) still running after ${stop_timeout}s; SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
    fi
}

# --- install --------------------------------------------------------------------------------------

installed() { [ -x "$prom_exe" ] && [ -x "$am_exe" ] && [ -x /usr/bin/promtool ] && [ -x /usr/bin/amtool ]; }

own_policy=""
remove_own_policy() {
    if [ -n "$own_policy" ]; then
        rm -f "$own_policy"
        own_policy=""
    fi
}

apt_install() {
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${packages[@]}"
}

install_packages() {
    installed && return 0
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
        say "Prometheus and Alertmanager are not installed (\`$prom_exe\`, \`$am_exe\`), and"
        say "installing them needs root and apt-get (Debian 12):"
        say "  apt-get install -y --no-install-recommends ${packages[*]}"
        exit 2
    fi
    local before
    before="$(pids_of_exe "$prom_exe"; pids_of_exe "$am_exe")"
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        own_policy=/usr/sbin/policy-rc.d
        trap remove_own_policy EXIT
        printf '%s\n' '#!/bin/sh' \
            '# Written by scripts/prometheus.sh for the duration of one apt-get install: no service starts.' \
            'exit 101' >"$own_policy"
        chmod 755 "$own_policy"
    fi
    mkdir -p "$logs"
    say "installing ${packages[*]} with apt-get (about 70 MB; output in \`$logs/apt.log\`)"
    if ! apt_install >"$logs/apt.log" 2>&1; then
        say "apt-get install failed; running apt-get update and trying once more"
        if ! { apt-get update -q && apt_install; } >>"$logs/apt.log" 2>&1; then
            remove_own_policy
            tail -n 20 "$logs/apt.log" >&2
            say "could not install ${packages[*]} (the end of \`$logs/apt.log\` is above)"
            exit 2
        fi
    fi
    remove_own_policy
    installed || die "apt-get installed ${packages[*]}, but \`$prom_exe\`, \`$am_exe\`, promtool or amtool is missing"
    disable_debian_services "$before"
}

# Disables Debian's two services and stops any daemon of the two binaries that is not in $1 (the
# pids running before the install): our own instances are the only ones that should run.
disable_debian_services() {
    local before="$1" service pid
    for service in "${services[@]}"; do
        # Without a running systemd (a container), `systemctl disable` still removes the unit's
        # symlinks; `--now` would fail there.
        if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
            systemctl disable --now "$service.service" >/dev/null 2>&1 ||
                say "\`systemctl disable --now $service.service\` failed"
        elif command -v systemctl >/dev/null; then
            systemctl disable "$service.service" >/dev/null 2>&1 ||
                say "\`systemctl disable $service.service\` failed"
        fi
        if [ -x "/etc/init.d/$service" ] && command -v update-rc.d >/dev/null; then
            update-rc.d "$service" disable >/dev/null 2>&1 ||
                say "\`update-rc.d $service disable\` failed"
        fi
    done
    for pid in $(pids_of_exe "$prom_exe"; pids_of_exe "$am_exe"); do
        if ! grep -qx "$pid" <<<"$before"; then
            say "stopping pid $pid ($(readlink "/proc/$pid/exe" 2>/dev/null || echo gone)), started by the install"
            stop_pid "$pid" "the Debian service"
        fi
    done
    say "Debian's services ${services[*]} are disabled and not running"
}

# --- configuration --------------------------------------------------------------------------------

write_configs() {
    mkdir -p "$home"
    cat >"$prom_conf" <<EOF
# Written by scripts/prometheus.sh on every start; edit the script, not this file.
global:
  scrape_interval: 5s
  scrape_timeout: 4s
  evaluation_interval: 5s
rule_files:
  - $rules
alerting:
  alertmanagers:
    - static_configs:
        - targets: ["127.0.0.1:$am_port"]
scrape_configs:
  - job_name: alert_load
    static_configs:
      - targets: ["$target"]
EOF
    cat >"$rules" <<'EOF'
# Written by scripts/prometheus.sh on every start: the tuned error-rate page of
# scripts/bench-alerts.sh (1m rate, for 30s).
groups:
  - name: bench-alerts
    rules:
      - alert: ErrorRate
        expr: >-
          sum by (service) (rate(http_requests_total{code=~"5.."}[1m]))
            / sum by (service) (rate(http_requests_total[1m])) > 0.05
        for: 30s
        labels:
          severity: P1
        annotations:
          summary: "{{ $labels.service }}: {{ $value | humanizePercentage }} of requests fail (over 1m)"
EOF
    cat >"$am_conf" <<EOF
# Written by scripts/prometheus.sh on every start; edit the script, not this file.
route:
  receiver: webhook
  group_by: [alertname, service]
  group_wait: 5s
  group_interval: 5s
  repeat_interval: 1h
receivers:
  - name: webhook
    webhook_configs:
      - url: "$webhook_url"
        send_resolved: true
EOF
    local out
    out="$(promtool check config "$prom_conf" 2>&1)" || {
        printf '%s\n' "$out" >&2
        die "\`promtool check config $prom_conf\` failed (its output is above)"
    }
    out="$(amtool check-config "$am_conf" 2>&1)" || {
        printf '%s\n' "$out" >&2
        die "\`amtool check-config $am_conf\` failed (its output is above)"
    }
}

# --- processes ------------------------------------------------------------------------------------

# Prints the pid in $1 when that process runs $2 with --config.file=$3 (a recycled pid is not ours).
live_pid() {
    local pid_file="$1" exe="$2" conf="$3" pid cmdline
    [ -f "$pid_file" ] || return 1
    pid="$(cat "$pid_file" 2>/dev/null || true)"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    [ "$(readlink "/proc/$pid/exe" 2>/dev/null || true)" = "$exe" ] || return 1
    cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)"
    [[ "$cmdline" == *"--config.file=$conf "* ]] || return 1
    printf '%s\n' "$pid"
}

prom_pid() { live_pid "$prom_pid_file" "$prom_exe" "$prom_conf"; }
am_pid() { live_pid "$am_pid_file" "$am_exe" "$am_conf"; }

ready() { http_ok "$prom_port" /-/ready && http_ok "$am_port" /-/ready; }

# Starts "$@" in the background with its output in log $1 (the previous one kept as $1.1) and
# writes its pid to $2. stdin and stdout are redirected and fd 9 (the lock) is closed, so a caller
# that captures this script's output does not wait for the daemon.
spawn() {
    local log="$1" pid_file="$2"
    shift 2
    [ -f "$log" ] && mv -f "$log" "$log.1"
    nohup "$@" </dev/null >"$log" 2>&1 9>&- &
    printf '%s\n' "$!" >"$pid_file"
}

show_logs() {
    local log
    for log in "$logs/alertmanager.log" "$logs/prometheus.log"; do
        if [ -s "$log" ]; then
            say "last 20 lines of \`$log\`:"
            tail -n 20 "$log" >&2
        fi
    done
}

start() {
    install_packages
    if prom_pid >/dev/null || am_pid >/dev/null; then
        if prom_pid >/dev/null && am_pid >/dev/null && ready; then
            say "already running: $(describe)"
            return 0
        fi
        die "Prometheus or Alertmanager of \`$home\` runs but the pair is not ready; \`scripts/prometheus.sh stop\` first"
    fi
    local p
    for p in "$prom_port" "$am_port"; do
        if port_open "$p"; then
            die "127.0.0.1:$p is already taken by another process; stop it or set PROM_PORT / ALERTMANAGER_PORT"
        fi
    done
    write_configs
    rm -rf "$data" "$prom_pid_file" "$am_pid_file"
    mkdir -p "$data/prometheus" "$data/alertmanager" "$logs"
    # Alertmanager first, so that Prometheus's first notifications find it.
    # An empty --cluster.listen-address turns off the gossip listener (0.0.0.0:9094 by default).
    spawn "$logs/alertmanager.log" "$am_pid_file" "$am_exe" --config.file="$am_conf" \
        --storage.path="$data/alertmanager" --web.listen-address="127.0.0.1:$am_port" \
        --cluster.listen-address=
    spawn "$logs/prometheus.log" "$prom_pid_file" "$prom_exe" --config.file="$prom_conf" \
        --storage.tsdb.path="$data/prometheus" --storage.tsdb.retention.time=1d \
        --web.listen-address="127.0.0.1:$prom_port"
    say "started Alertmanager pid $(cat "$am_pid_file"), Prometheus pid $(cat "$prom_pid_file"); waiting up to ${start_timeout}s"
    local began=$SECONDS
    while ! ready; do
        if ! prom_pid >/dev/null || ! am_pid >/dev/null || ((SECONDS - began >= start_timeout)); then
            show_logs
            stop
            die "Prometheus and Alertmanager were not both ready within ${start_timeout}s (their logs are above)"
        fi
        sleep 0.5
    done
    say "running: $(describe); scraping $target, paging $webhook_url"
}

describe() {
    printf 'Prometheus pid %s on 127.0.0.1:%s, Alertmanager pid %s on 127.0.0.1:%s' \
        "$(prom_pid || echo -)" "$prom_port" "$(am_pid || echo -)" "$am_port"
}

stop() {
    local pid stopped=0
    if pid="$(prom_pid)"; then
        say "stopping Prometheus pid $pid"
        stop_pid "$pid" Prometheus
        stopped=1
    fi
    if pid="$(am_pid)"; then
        say "stopping Alertmanager pid $pid"
        stop_pid "$pid" Alertmanager
        stopped=1
    fi
    rm -f "$prom_pid_file" "$am_pid_file"
    if [ "$stopped" = 1 ]; then
        say "stopped"
    else
        say "not running (no live process in \`$prom_pid_file\`, \`$am_pid_file\`)"
    fi
}

status() {
    if prom_pid >/dev/null && am_pid >/dev/null && ready; then
        echo "running: $(describe)"
    elif prom_pid >/dev/null || am_pid >/dev/null; then
        echo "not ready: $(describe) (see \`$logs\`)"
        exit 3
    else
        echo "not running (no live process in \`$prom_pid_file\`, \`$am_pid_file\`)"
        exit 3
    fi
}

# --- main -----------------------------------------------------------------------------------------

check_port_var PROM_PORT "$prom_port"
check_port_var ALERTMANAGER_PORT "$am_port"
[ "$prom_port" != "$am_port" ] ||
    usage_error "PROM_PORT and ALERTMANAGER_PORT are both $prom_port; they need two ports"
[[ "$start_timeout" =~ ^[0-9]+$ ]] ||
    usage_error "PROM_START_TIMEOUT is \`$start_timeout\`, expected whole seconds"

# One install, start or stop at a time per state folder.
lock() {
    mkdir -p "$home"
    command -v flock >/dev/null || return 0
    exec 9>"$home/.lock"
    flock 9
}

command="${1:-}"
[ $# -gt 0 ] && shift
case "$command" in
    install | start | stop | status)
        [ $# -eq 0 ] || usage_error "$command takes no arguments (settings come from the environment, see --help)"
        ;;
esac
case "$command" in
    install)
        lock
        install_packages
        say "$("$prom_exe" --version 2>&1 | head -n 1); $("$am_exe" --version 2>&1 | head -n 1)"
        ;;
    start)
        lock
        start
        ;;
    stop)
        lock
        stop
        ;;
    status) status ;;
    -h | --help | help) usage ;;
    "") usage_error "no command given; expected one of install, start, stop, status" ;;
    *) usage_error "unknown command \`$command\`; expected one of install, start, stop, status" ;;
esac
