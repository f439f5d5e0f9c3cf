#!/usr/bin/env bash
# Issue 8's benchmark, everything in ONE run so that ratios hold on a noisy machine:
#   the ceiling: raw MassTransit publish→consume messages/s on the run's own RabbitMQ node, and the certificate
#   render+sign rate (ops/bench/certificates); then the distributed run (ops/up.sh: every service its own process)
#   with a fleet of instantly answering devices: p50/p99 of single retirements on the idle system; a bulk retirement of
#   the rest of the first <devices> at once (retirements/s, its ratio to min(ceiling ÷ messages per retirement,
#   certificate rate), and the CPU time each process spent per retirement: the profile); then <in-flight> more
#   retirements at once and each process's peak resident memory meanwhile; the end-of-life scan over a 100,000-device
#   inventory. Prints a Markdown report and writes it to docs/BENCHMARKS.md.
#
#   ops/bench/retirements/run.sh [devices=5000] [in-flight=10000] [ceiling-messages=20000]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../../.."
devices=${1:-5000}
in_flight=${2:-10000}
ceiling=${3:-20000}
export DECOM_RUN_DIR=${DECOM_RUN_DIR:-${TMPDIR:-/tmp}/decom-bench-$$} DECOM_CONFIGURATION=Release DECOM_UP_BUILD=0
# Messages one retirement costs (MassTransit: RetireDevice, RetirementRequested, RetirementAccepted, QuarantineDevice,
# DeviceQuarantined, EraseDevice, ErasureVerified, RevokeIdentity, IdentityRevoked, IssueDisposalCertificate,
# DisposalCertificateIssued, DeviceDecommissioned; device channel: command, receipt, verdict). A RetireDevice sent without a
# response address, as here and by the end-of-life scheduler, is not answered. Besides messages, each retirement costs the
# credentials service five calls to the broker's management API (quarantine: 2, revocation: 3).
messages_per_retirement=15

log() { echo "bench: $*" >&2; }
log "building (Release)"
dotnet build Decommission.sln -c Release -v q -nologo >/dev/null
dotnet build ops/bench/retirements -c Release -v q -nologo >/dev/null
dotnet build ops/bench/eol-scan -c Release -v q -nologo >/dev/null

log "end-of-life scan over 100,000 devices"
scan=$(dotnet ops/bench/eol-scan/bin/Release/net10.0/Decommission.Bench.EolScan.dll 100000)
scan_value() { echo "$scan" | awk -v k="$1" '$1 == k { print $2 }'; }

log "certificate render+sign rate"
certificates=$(ops/bench/certificates/run.sh 100 2>/dev/null)
certificate_rate=$(echo "$certificates" | awk -F'|' '/ECDSA P-256, CertificateSigner/ { gsub(/ /, "", $7); print $7 }')

# Devices that answer at once: no slow, offline, failing or hostile ones.
for behaviour in Slow OfflineUntil NeverAnswers EraseFails SignsWithWrongKey ReplaysOldReceipt ClockAhead ClockBehind Refuses; do export "DeviceAgent__Mix__$behaviour=0"; done
export DeviceAgent__IdPrefix=bench-
trap 'ops/down.sh >/dev/null 2>&1 || true; rm -rf "$DECOM_RUN_DIR"' EXIT
ops/up.sh --fleet "$((devices + in_flight))" >&2

# shellcheck source=ops/services.sh
. ops/services.sh
# shellcheck disable=SC1091
. "$RUN/rabbitmq.state"
bench_password=$(od -An -N12 -tx1 /dev/urandom | tr -dc '0-9a-f')
rmq_ctl add_user bench "$bench_password" >/dev/null
rmq_ctl set_permissions -p / bench '^(bench-.*|Decommission\.Bench:.*|.*_bus_.*|MassTransit:.*)$' '^(bench-.*|Decommission\.Bench:.*|.*_bus_.*|MassTransit:.*)$' '^(bench-.*|Decommission\.Bench:.*|.*_bus_.*|MassTransit:.*)$' >/dev/null
set -a; . "$RUN/operator.env"; set +a

measured="rabbitmq=$(tr -dc '0-9' <"$RMQ_PIDFILE")"
for name in "${SERVICES[@]}" device-agent; do measured+=" $name=$(svc_pid "$name")"; done
results=$(DECOM_BENCH_PIDS=$measured DECOM_BENCH_CLK_TCK=$(getconf CLK_TCK) \
  dotnet ops/bench/retirements/bin/Release/net10.0/Decommission.Bench.Retirements.dll "$DECOM_BROKER" \
  "amqp://bench:$bench_password@127.0.0.1:$RMQ_PORT/" "$RUN/device-agent/data/attestation-keys.csv" "$devices" "$in_flight" "$ceiling")
value() { echo "$results" | awk -v k="$1" '$1 == k { print $2 }'; }
stalled() { local at; at=$(echo "$results" | sed -n "s/^$1_stalled //p"); [ -z "$at" ] || echo "; STALLED: nothing finished for 2 minutes at $at"; }
hwm() { awk '/VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$(svc_pid "$1")/status" 2>/dev/null || echo "?"; }
cpu_rows=""
for name in orchestrator inventory credentials device-gateway certificates device-agent rabbitmq; do
  cpu_rows+="| CPU per bulk retirement: $name | $(value "cpu_ms_per_retirement_$name") ms | |"$'\n'
done
rss_rows=""
for name in orchestrator inventory credentials device-gateway certificates; do
  rss_rows+="| Peak RSS with $(value inflight_peak) in flight: $name (whole run: $(hwm "$name") MB) | $(value "inflight_peak_rss_mb_$name") MB | ≤ 300 MB |"$'\n'
done

ceiling_rate=$(value ceiling_messages_per_second)
bulk_rate=$(value bulk_retirements_per_second)
bound=$(awk -v c="$ceiling_rate" -v m="$messages_per_retirement" -v r="$certificate_rate" 'BEGIN { b = c / m; if (r < b) b = r; printf "%.1f", b }')
ratio=$(awk -v a="$bulk_rate" -v b="$bound" 'BEGIN { printf "%.0f", 100 * a / b }')

report=$(cat <<MD
# Benchmarks

Written by \`ops/bench/retirements/run.sh $devices $in_flight $ceiling\` on $(date -u +%F) at commit $(git rev-parse --short HEAD). Everything below comes from one run; single-retirement latencies (100 of them, one at a time) after 200 warm-up retirements, the first 50 of which are shown as the cold start.

- Machine: $(nproc) logical cores, $(lscpu | awk -F: '/Model name/ { gsub(/^ +/, "", $2); print $2; exit }'), $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) RAM; $(. /etc/os-release; echo "$PRETTY_NAME"); .NET $(dotnet --version); RabbitMQ $(dpkg-query -W -f '${Version}' rabbitmq-server 2>/dev/null)
- Services as separate processes (ops/up.sh, Release), each with its own RabbitMQ user, over AMQP with TLS; a fleet of $((devices + in_flight)) simulated devices answering at once, each on its own MQTT connection over TLS with its own identity certificate (the device agent process).

| Measure | Value | Target |
|---|---:|---|
| Ceiling: raw MassTransit publish→consume | $ceiling_rate msg/s | |
| Ceiling: certificate render+sign (ECDSA P-256) | $certificate_rate cert/s | |
| Messages per retirement | $messages_per_retirement | |
| Bound: min(ceiling ÷ messages, certificate rate) | $bound retirements/s | |
| Bulk retirement of $(value bulk_retirements) devices | $bulk_rate retirements/s ($(value bulk_seconds) s; $(value bulk_failed) failed)$(stalled bulk) | |
| Bulk ÷ bound | $ratio % | ≥ 50 % |
| Peak retirements in flight | $(value bulk_peak_in_flight) | |
${cpu_rows}| CPU busy during the bulk retirement (all processes ÷ cores) | $(value cpu_busy_percent) % | |
| Single retirement on an idle system, p50 | $(value latency_p50_ms) ms | |
| Single retirement on an idle system, p99 | $(value latency_p99_ms) ms | ≤ 100 ms |
| The first 50 retirements after the services start (cold), p50 / p99 | $(value latency_cold_p50_ms) / $(value latency_cold_p99_ms) ms | |
| $(value inflight_retirements) retirements submitted at once | $(value inflight_seconds) s to finish; $(value inflight_failed) failed$(stalled in_flight) | |
${rss_rows}| End-of-life scan, $(scan_value eol_inventory) devices: claim + send a batch of $(scan_value eol_scan_due_devices) due | $(scan_value eol_scan_due_ms) ms | ≤ 50 ms |
| The same, first scan of the process (includes JIT) | $(scan_value eol_scan_first_ms) ms | |
| End-of-life scan, $(scan_value eol_inventory) devices, none due (median of 20) | $(scan_value eol_scan_idle_ms) ms | ≤ 50 ms |
MD
)
echo "$report"
echo "$report" >docs/BENCHMARKS.md
log "written to docs/BENCHMARKS.md"
