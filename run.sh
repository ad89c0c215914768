#!/usr/bin/env bash
# Installs what DaprLlm needs on a fresh Debian/Ubuntu machine with the .NET 10 SDK, then runs the whole system
# (Redis, one Dapr sidecar per app, gateway, inference, safety, audit, Aspire dashboard). Ctrl+C stops everything.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/prerequisites.sh
install_prerequisites

dotnet tool restore >/dev/null

export NO_COLOR=1 ASPIRE_CLI_TELEMETRY_OPTOUT=true DOTNET_CLI_TELEMETRY_OPTOUT=1
cat <<MSG

  DaprLlm is starting (the first start builds everything and takes one to two minutes).
    Aspire dashboard : http://localhost:15080  (the login URL with its token is printed below)
    OpenAI-style API : http://localhost:5080/v1/chat/completions
  Try:  curl -s http://localhost:5080/v1/chat/completions -H "Authorization: Bearer \$DAPRLLM_DEV_API_KEY" \\
          -H 'Content-Type: application/json' \\
          -d '{"model":"daprllm-demo","messages":[{"role":"user","content":"Hello"}],"max_tokens":32}'
        (no DAPRLLM_DEV_API_KEY set? the gateway prints a generated key once; see README "First request")

MSG
exec dotnet aspire run --project AppHost/DaprLlm.AppHost/DaprLlm.AppHost.csproj "$@"
