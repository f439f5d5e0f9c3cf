#!/usr/bin/env bash
# Builds Decommission.sln once, then runs every test project (tests/*.Tests) with `dotnet test --no-build`,
# DECOM_TEST_PARALLEL (default 3) at a time, the longest first; each project's output is printed whole when it ends.
# Arguments go to every `dotnet test` (e.g. --filter, --logger). Exits non-zero when the build or any project failed.
# Called by ops/test.sh, which starts the servers the tests need.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

parallel=${DECOM_TEST_PARALLEL:-3}
configuration=Debug
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case ${args[i]} in
    -c | --configuration) configuration=${args[i + 1]} ;;
    -c=* | --configuration=*) configuration=${args[i]#*=} ;;
  esac
done

# DECOM_TEST_BUILD=only: build and stop; =done: built beforehand (ops/test.sh builds while its servers start).
if [ "${DECOM_TEST_BUILD:-}" != done ]; then
  echo "ops/test-assemblies.sh: building Decommission.sln ($configuration)" >&2
  started=$SECONDS
  dotnet build Decommission.sln -c "$configuration" -nologo -v:q -clp:NoSummary
  echo "ops/test-assemblies.sh: built in $((SECONDS - started)) s" >&2
  [ "${DECOM_TEST_BUILD:-}" != only ] || exit 0
fi

# Longest first (measured on 2 cores: DeviceGateway ≈ 5 min, EndToEnd ≈ 5, Broker ≈ 2, Credentials ≈ 2), then the rest in
# name order. Broker's three-node cluster starts after Certificates (≈ 1 min), once EndToEnd's services are up, not beside
# their start; kept last it made the run's tail (11 min in all, against ≈ 10 this way).
first=(Decommission.EndToEnd.Tests Decommission.DeviceGateway.Tests Decommission.Certificates.Tests Decommission.Broker.Tests Decommission.Credentials.Tests)
last=()
projects=()
for name in "${first[@]}"; do [ -d "tests/$name" ] && projects+=("tests/$name"); done
for dir in tests/*.Tests; do
  [[ " ${first[*]} ${last[*]} " == *" $(basename "$dir") "* ]] || projects+=("$dir")
done
for name in "${last[@]}"; do [ -d "tests/$name" ] && projects+=("tests/$name"); done

results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT
run_one() {
  local project=$1 name log t0=$SECONDS rc=0
  name=$(basename "$project")
  log=$results/$name.log
  dotnet test "$project" --no-build -c "$configuration" "${args[@]}" >"$log" 2>&1 || rc=$?
  echo "$rc" >"$results/$name.rc"
  # One block per assembly, whole, so that concurrent assemblies do not interleave their lines.
  { echo "=== $name: exit $rc after $((SECONDS - t0)) s"; cat "$log"; } | flock "$results" cat
}
running=0
for project in "${projects[@]}"; do
  if [ "$running" -ge "$parallel" ]; then wait -n || true; running=$((running - 1)); fi
  run_one "$project" &
  running=$((running + 1))
done
wait || true

failed=()
for project in "${projects[@]}"; do
  name=$(basename "$project")
  [ "$(cat "$results/$name.rc" 2>/dev/null || echo 1)" = 0 ] || failed+=("$name")
done
if [ "${#failed[@]}" -gt 0 ]; then
  echo "ops/test-assemblies.sh: failed: ${failed[*]}" >&2
  exit 1
fi
