#!/usr/bin/env bash
# Runs every DaprLlm test (unit, sidecar conformance against real processes, end to end through the AppHost).
# Installs missing prerequisites first. Exits non-zero if any test fails.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/prerequisites.sh
install_prerequisites --tests

export NO_COLOR=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
log=$(mktemp)
status=0
dotnet build DaprLlm.sln -c Release -nologo -v quiet 2>&1 | tee "$log" || status=$?
# Test projects run one after another: each starts real processes, and 2 cores are shared.
if [ "$status" -eq 0 ]; then
  for project in tests/*/*.Tests.csproj; do
    dotnet test "$project" -c Release --no-build "$@" 2>&1 | tee -a "$log" || status=$?
  done
fi

# One closing line that CI and people can read: "N passed, N failed, N skipped".
awk '/(Passed|Failed)! +- Failed:/ {
       for (i = 1; i <= NF; i++) { gsub(",", "", $(i+1)); if ($i == "Failed:") f += $(i+1); if ($i == "Passed:") p += $(i+1); if ($i == "Skipped:") s += $(i+1) }
     }
     END { printf "%d passed, %d failed, %d skipped\n", p, f, s }' "$log"
rm -f "$log"
exit "$status"
