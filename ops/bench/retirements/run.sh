#!/usr/bin/env bash
# Issue 8's benchmark, everything in ONE run so that ratios hold on a noisy machine:
#   the ceiling: raw MassTransit publish→consume messages/s on the run's own RabbitMQ node, and the certificate
#   render+sign rate (ops/bench/certificates); then the distributed run (ops/up.sh: every service its own process)
#   with a fleet of instantly answering devices: p50/p99 of single retirements on the idle system; a bulk retirement of
#   the rest of the first <devices> at once (retirements/s, its ratio to min(ceiling ÷ messages per retirement,
#   certificate rate), and the CPU time each process spent per retirement: the profile); then <in-flight> more
#   retirements at once and each process's peak resident memory meanwhile; the end-of-life scan over a 100,000-device
#   inventory. Prints a Markdown report and writes it to docs/BENCHMARKS.md.
# Issue 18: the distributed run is measured in each mode of --modes, one after the other in the same invocation (so that
# their ratio holds): single (ops/up.sh: one broker node, SQLite, one process per service) and cluster (ops/up.sh
# --cluster: three broker nodes with quorum queues, PostgreSQL, two replicas of each service), where the CPU time is every
# replica's, every node's beam.smp's and PostgreSQL's (the postmaster and its children). The report puts the modes side
# by side and projects, from the cluster's CPU per retirement, the retirements/s each added machine brings and where
# the next bottleneck is.
#
#   ops/bench/retirements/run.sh [--modes single,cluster] [devices=5000] [in-flight=10000] [ceiling-messages=20000]
#   DECOM_BENCH_WARM_UP (200), DECOM_BENCH_LATENCY_SAMPLES (100): single retirements before the bulk, one at a time
#   (≈ 2 s each since issue 16); devices must exceed their sum. DECOM_BENCH_CORES (8): the cores of a projected machine.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../../.."
modes=single,cluster
if [ "${1:-}" = --modes ]; then modes=${2:?--modes needs single, cluster or single,cluster}; shift 2; fi
devices=${1:-5000}
in_flight=${2:-10000}
ceiling=${3:-20000}
export DECOM_BENCH_WARM_UP=${DECOM_BENCH_WARM_UP:-200} DECOM_BENCH_LATENCY_SAMPLES=${DECOM_BENCH_LATENCY_SAMPLES:-100}
[ "$devices" -gt $((DECOM_BENCH_WARM_UP + DECOM_BENCH_LATENCY_SAMPLES)) ] || {
  echo "run.sh: devices ($devices) must exceed warm-up + latency samples ($DECOM_BENCH_WARM_UP + $DECOM_BENCH_LATENCY_SAMPLES)" >&2; exit 2; }
IFS=, read -ra MODES <<<"$modes"
for mode in "${MODES[@]}"; do [[ $mode =~ ^(single|cluster)$ ]] || { echo "run.sh: unknown mode $mode" >&2; exit 2; }; done
bench_dir=${DECOM_RUN_DIR:-${TMPDIR:-/tmp}/decom-bench-$$}
export DECOM_CONFIGURATION=Release DECOM_UP_BUILD=0
started_at=$SECONDS
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
trap 'ops/down.sh >/dev/null 2>&1 || true; rm -rf "$bench_dir"' EXIT
mkdir -p "$bench_dir"

# run_mode MODE: the distributed run in MODE, measured; its "key value" lines in $bench_dir/results-MODE, then down.
run_mode() {
  local mode=$1 up_args=(--fleet "$((devices + in_flight))") node=rabbitmq measured='' name pid results
  if [ "$mode" = cluster ]; then up_args+=(--cluster); node=rabbitmq-1; fi
  export DECOM_RUN_DIR=$bench_dir/$mode
  log "$mode: ops/up.sh ${up_args[*]}"
  ops/up.sh "${up_args[@]}" >&2
  # shellcheck source=ops/services.sh
  . ops/services.sh
  # The bench's own user, on the node the services' set-up went through (a cluster's users are the cluster's).
  # shellcheck disable=SC1090
  . "$RUN/$node.state"
  local bench_password
  bench_password=$(od -An -N12 -tx1 /dev/urandom | tr -dc '0-9a-f')
  rmq_ctl add_user bench "$bench_password" >/dev/null
  rmq_ctl set_permissions -p / bench '^(bench-.*|Decommission\.Bench:.*|.*_bus_.*|MassTransit:.*)$' '^(bench-.*|Decommission\.Bench:.*|.*_bus_.*|MassTransit:.*)$' '^(bench-.*|Decommission\.Bench:.*|.*_bus_.*|MassTransit:.*)$' >/dev/null
  set -a; . "$RUN/operator.env"; set +a

  # Every replica, the device agent and every broker node's beam.smp (ops/status.sh --pids); PostgreSQL as a tree.
  while read -r name pid; do
    [ "$pid" != - ] || { log "$mode: $name is not running"; return 1; }
    measured+=" $name=$pid"
  done < <(ops/status.sh --pids)
  if [ -s "$RUN/postgres.state" ]; then
    # shellcheck source=/dev/null
    . "$RUN/postgres.state"
    measured+=" postgres=tree:$(head -n 1 "$PG_DIR/data/postmaster.pid")"
  fi
  results=$(DECOM_BENCH_PIDS=$measured DECOM_BENCH_CLK_TCK=$(getconf CLK_TCK) \
    dotnet ops/bench/retirements/bin/Release/net10.0/Decommission.Bench.Retirements.dll "$DECOM_BROKER" \
    "amqp://bench:$bench_password@127.0.0.1:$RMQ_PORT/" "$RUN/device-agent/data/attestation-keys.csv" "$devices" "$in_flight" "$ceiling")
  { echo "$results"
    for name in $(run_instances); do
      echo "hwm_mb_$name $(awk '/VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$(svc_pid "$name")/status" 2>/dev/null || echo "?")"
    done
    echo "processes $measured"
  } >"$bench_dir/results-$mode"
  ops/down.sh >&2
}
for mode in "${MODES[@]}"; do run_mode "$mode"; done
run_seconds=$((SECONDS - started_at))

# --- the report: one column per mode ---
value() { awk -v k="$2" '$1 == k { print $2 }' "$bench_dir/results-$1"; }
# cpu MODE PROCESS: the CPU ms per retirement of PROCESS's processes (its replicas, or its broker nodes), "total (a + b)".
cpu() {
  awk -v p="$2" '$1 ~ "^cpu_ms_per_retirement_" p "(-[0-9]+)?$" { s += $2; n++; parts = parts (n > 1 ? " + " : "") $2 }
    END { if (n == 0) print "—"; else if (n == 1) printf "%.2f ms", s; else printf "%.2f ms (%s)", s, parts }' "$bench_dir/results-$1"
}
# CPU per retirement of the system itself: everything measured but the simulated devices.
cpu_system() { awk '$1 ~ /^cpu_ms_per_retirement_/ && $1 !~ /device-agent/ { s += $2 } END { printf "%.1f ms", s }' "$bench_dir/results-$1"; }
rss() { awk -v p="$3" -v k="$2" '$1 ~ "^" k p "(-[0-9]+)?$" { if ($2 > m) m = $2 } END { printf "%.0f", m }' "$bench_dir/results-$1"; }
bound() { awk -v c="$(value "$1" ceiling_messages_per_second)" -v m="$messages_per_retirement" -v r="$certificate_rate" 'BEGIN { b = c / m; if (r < b) b = r; printf "%.1f", b }'; }
stalled() { local at; at=$(sed -n "s/^$2_stalled //p" "$bench_dir/results-$1"); [ -z "$at" ] || echo "; STALLED: nothing finished for 2 minutes at $at"; }
bulk_cell() { echo "$(value "$1" bulk_retirements_per_second) retirements/s ($(value "$1" bulk_retirements) in $(value "$1" bulk_seconds) s; $(value "$1" bulk_failed) failed)$(stalled "$1" bulk)"; }
bulk_ratio_cell() { awk -v a="$(value "$1" bulk_retirements_per_second)" -v b="$(bound "$1")" 'BEGIN { printf "%.0f %%", 100 * a / b }'; }
ceiling_cell() { echo "$(value "$1" ceiling_messages_per_second) msg/s"; }
bound_cell() { echo "$(bound "$1") retirements/s"; }
latency_cell() { echo "$(value "$1" "latency_$2_ms") ms"; }
cold_cell() { echo "$(value "$1" latency_cold_p50_ms) / $(value "$1" latency_cold_p99_ms) ms"; }
inflight_cell() { echo "$(value "$1" inflight_seconds) s to finish; $(value "$1" inflight_failed) failed$(stalled "$1" in_flight)"; }
rss_cell() { echo "$(rss "$1" inflight_peak_rss_mb_ "$2") MB (whole run $(rss "$1" hwm_mb_ "$2") MB)"; }
plain() { value "$1" "$2"; }
# row LABEL TARGET FUNCTION ARGS…: one cell per mode, FUNCTION MODE ARGS….
row() {
  local label=$1 target=$2 fn=$3 mode line; shift 3
  line="| $label |"
  for mode in "${MODES[@]}"; do line+=" $("$fn" "$mode" "$@") |"; done
  echo "$line $target |"
}
describe() {
  case $1 in
    single) echo "ops/up.sh: one RabbitMQ node, SQLite, one process per service" ;;
    cluster) echo "ops/up.sh --cluster: three RabbitMQ nodes (quorum queues), PostgreSQL (fsync on), two replicas of each service" ;;
  esac
}
header="| Measure |" rule="|---|"
for mode in "${MODES[@]}"; do header+=" $mode |"; rule+="---:|"; done
header+=" Target |" rule+="---|"

services_rows=""
for name in orchestrator inventory credentials device-gateway certificates device-agent rabbitmq postgres; do
  services_rows+=$(row "CPU per bulk retirement: $name" "" cpu "$name")$'\n'
done
rss_rows=""
for name in orchestrator inventory credentials device-gateway certificates; do
  rss_rows+=$(row "Peak RSS with the in-flight retirements: $name (largest replica)" "≤ 300 MB" rss_cell "$name")$'\n'
done

ratio_line=""
if [ -s "$bench_dir/results-single" ] && [ -s "$bench_dir/results-cluster" ]; then
  ratio=$(awk -v c="$(value cluster bulk_retirements_per_second)" -v s="$(value single bulk_retirements_per_second)" 'BEGIN { printf "%.2f", c / s }')
  ratio_line="**Measured cluster/single ratio of bulk retirements/s: $ratio** ($(value cluster bulk_retirements_per_second) / $(value single bulk_retirements_per_second), same invocation, same machine)."
  log "cluster/single bulk retirements/s: $ratio"
fi

# The projection, from the CPU each component spent per retirement in the cluster run (else the single one).
projected=cluster; [ -s "$bench_dir/results-cluster" ] || projected=single
cores=${DECOM_BENCH_CORES:-8}
projection=$(awk -v N="$cores" -v mode="$projected" '
  $1 ~ /^cpu_ms_per_retirement_/ {
    name = substr($1, 23); service = name; sub(/-[0-9]+$/, "", service)
    if (service == "device-agent") next
    if (service == "rabbitmq") { broker += $2; if ($2 > busiest) busiest = $2; nodes++ }
    else if (service == "postgres") db += $2
    else { services += $2; if (service == "certificates") certificates += $2 }
  }
  function limit(ms) { return ms > 0 ? 1000 * N / ms : 0 }
  END {
    per_machine = limit(services)
    printf "| Component (measured in the %s run) | CPU ms per retirement | Saturates %d cores at |\n|---|---:|---:|\n", mode, N
    printf "| Services: one replica of each on an added %d-core machine (all replicas summed) | %.1f | **%.0f retirements/s per machine** |\n", N, services, per_machine
    printf "| of which certificate rendering (the certificates service) | %.1f | %.0f retirements/s on a machine of its own |\n", certificates, limit(certificates)
    if (nodes > 0) {
      printf "| Broker: %d nodes, each on its own %d-core machine (limit: the busiest node, %.1f ms) | %.1f | %.0f retirements/s |\n", nodes, N, busiest, broker, limit(busiest)
      printf "| Broker, if its per-retirement work is serial (identity changes under Mnesia table locks: one core) | %.1f | %.0f retirements/s |\n", busiest, 1000 / busiest
    }
    if (db > 0) printf "| Database: PostgreSQL on its own %d-core machine | %.1f | %.0f retirements/s |\n", N, db, limit(db)
    next_name = "broker"; next_limit = limit(busiest)
    if (db > 0 && (next_limit == 0 || limit(db) < next_limit)) { next_name = "database"; next_limit = limit(db) }
    if (next_limit > 0 && per_machine > 0)
      printf "\nEach added %d-core machine of services brings %.0f retirements/s; the next bottleneck is the %s at %.0f retirements/s, reached with %d machines of services (%.0f retirements/s if the broker work is serial, with %d).\n", \
        N, per_machine, next_name, next_limit, int(next_limit / per_machine) + (next_limit % per_machine > 0), 1000 / busiest, int(1000 / busiest / per_machine) + 1
  }' "$bench_dir/results-$projected")

report=$(cat <<MD
# Benchmarks

Written by \`ops/bench/retirements/run.sh --modes $modes $devices $in_flight $ceiling\` (DECOM_BENCH_WARM_UP=$DECOM_BENCH_WARM_UP, DECOM_BENCH_LATENCY_SAMPLES=$DECOM_BENCH_LATENCY_SAMPLES) on $(date -u +%F) at commit $(git rev-parse --short HEAD), in $((run_seconds / 60)) min $((run_seconds % 60)) s. Everything below comes from that one run: the modes one after the other (each brought up, measured, and brought down by ops/down.sh before the next); single-retirement latencies ($DECOM_BENCH_LATENCY_SAMPLES of them, one at a time) after $DECOM_BENCH_WARM_UP warm-up retirements, the first $(( DECOM_BENCH_WARM_UP < 50 ? DECOM_BENCH_WARM_UP : 50 )) of which are shown as the cold start.

- Machine: $(nproc) logical cores, $(lscpu | awk -F: '/Model name/ { gsub(/^ +/, "", $2); print $2; exit }'), $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) RAM; $(. /etc/os-release; echo "$PRETTY_NAME"); .NET $(dotnet --version); RabbitMQ $(dpkg-query -W -f '${Version}' rabbitmq-server 2>/dev/null)
$(for mode in "${MODES[@]}"; do echo "- $mode: $(describe "$mode")"; done)
- Every process reaches the broker over AMQP with TLS, each with its own RabbitMQ user; a fleet of $((devices + in_flight)) simulated devices answering at once, each on its own MQTT connection over TLS with its own identity certificate (the device agent process). CPU per retirement is each process's utime + stime (/proc/PID/stat) over the bulk retirement ÷ its retirements; a service's replicas and the broker's nodes are summed (each in brackets); PostgreSQL is the postmaster, its children and the children it reaped.

$ratio_line

$header
$rule
$(row "Ceiling: raw MassTransit publish→consume" "" ceiling_cell)
| Ceiling: certificate render+sign (ECDSA P-256) |$(for _ in "${MODES[@]}"; do echo -n " $certificate_rate cert/s |"; done) |
| Messages per retirement |$(for _ in "${MODES[@]}"; do echo -n " $messages_per_retirement |"; done) |
$(row "Bound: min(ceiling ÷ messages, certificate rate)" "" bound_cell)
$(row "Bulk retirement" "" bulk_cell)
$(row "Bulk ÷ bound" "≥ 50 %" bulk_ratio_cell)
$(row "Peak retirements in flight" "" plain bulk_peak_in_flight)
${services_rows}$(row "CPU per bulk retirement: the system (all but the device agent)" "" cpu_system)
$(row "CPU busy during the bulk retirement (all processes ÷ cores, %)" "" plain cpu_busy_percent)
$(row "Single retirement on an idle system, p50" "" latency_cell p50)
$(row "Single retirement on an idle system, p99" "≤ 100 ms" latency_cell p99)
$(row "The first retirements after the services start (cold), p50 / p99" "" cold_cell)
$(row "$in_flight retirements submitted at once" "" inflight_cell)
${rss_rows}| End-of-life scan, $(scan_value eol_inventory) devices: claim + send a batch of $(scan_value eol_scan_due_devices) due |$(for _ in "${MODES[@]}"; do echo -n " $(scan_value eol_scan_due_ms) ms |"; done) ≤ 50 ms |
| The same, first scan of the process (includes JIT) |$(for _ in "${MODES[@]}"; do echo -n " $(scan_value eol_scan_first_ms) ms |"; done) |
| End-of-life scan, $(scan_value eol_inventory) devices, none due (median of 20) |$(for _ in "${MODES[@]}"; do echo -n " $(scan_value eol_scan_idle_ms) ms |"; done) ≤ 50 ms |

(The end-of-life scan is measured once, on its own SQLite inventory, not per mode.)

## Projection on paper (from the measured CPU per retirement)

$projection

How it is computed (run.sh, awk, from the $projected run's figures above): a component that spends c ms of CPU per retirement
saturates a machine of N cores ($cores here; DECOM_BENCH_CORES) at 1000 · N / c retirements/s. A machine of services runs one
replica of each, so its c is the sum over every service's replicas (a retirement's whole service work, wherever it ran); the
broker cluster saturates with its busiest node, and does not gain from more nodes, since every node applies each identity
change (a cluster-wide Mnesia transaction on 3.10) and every quorum queue message is written on each of the three; the
rate of the whole is min(machines × the per-machine rate, broker, database).
MD
)
echo "$report"
echo "$report" >docs/BENCHMARKS.md
log "written to docs/BENCHMARKS.md in $run_seconds s"
