#!/usr/bin/env bash
# What signing adds to a disposal certificate: renders N certificates unsigned and signed in Release and prints the timings.
# Usage: ops/bench/certificates/run.sh [count=200] [rsa|ecdsa]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec dotnet run --project "$here/Decommission.Bench.Certificates.csproj" --configuration Release -- "$@"
