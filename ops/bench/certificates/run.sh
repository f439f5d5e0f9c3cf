#!/usr/bin/env bash
# What signing adds to a disposal certificate: in one run, renders N certificates unsigned, signed with our signer
# (ECDSA P-256 and RSA-3072) and signed with PDFsharp's default signer for reference, in Release; prints a Markdown table.
# Usage: ops/bench/certificates/run.sh [count=200]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
project="$here/Decommission.Bench.Certificates.csproj"
# Build output goes to stderr so stdout is only the Markdown report.
dotnet build "$project" --configuration Release --nologo -verbosity:quiet 1>&2
exec dotnet run --project "$project" --configuration Release --no-build -- "$@"
