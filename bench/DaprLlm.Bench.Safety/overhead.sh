#!/usr/bin/env bash
# Moderation overhead in the running path: redis-server, two real sidecars (app id "gateway", the caller's, and
# "safety"), the real safety app (Release, shipped model), then the bench's --overhead driver through the gateway's
# sidecar, exactly as the gateway invokes moderation. Everything started here is stopped on exit.
# Usage (from the repository root, after building the three projects in Release):
#   dotnet build -c Release src/DaprLlm.Sidecar && dotnet build -c Release src/DaprLlm.Safety && dotnet build -c Release bench/DaprLlm.Bench.Safety
#   flock -x /tmp/daprllm-quiet.lock flock /tmp/daprllm-heavy.lock bench/DaprLlm.Bench.Safety/overhead.sh [data folder] [seconds]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
data=${1:-$root/../shared/data}
seconds=${2:-10}
work=$(mktemp -d /tmp/daprllm-overhead.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
component() { # name type key value
  printf 'apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: %s\nspec:\n  type: %s\n  version: v1\n  metadata:\n  - name: %s\n    value: "%s"\n' "$1" "$2" "$3" "$4"
}

redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no > "$work/redis.log" 2>&1 &
pids+=($!)
mkdir -p "$work/components" "$work/registry"
{ component statestore state.redis redisHost "127.0.0.1:$redis_port"; printf '  - name: actorStateStore\n    value: "true"\n'; } > "$work/components/statestore.yaml"
component pubsub pubsub.redis redisHost "127.0.0.1:$redis_port" > "$work/components/pubsub.yaml"

sidecar_dll=$root/src/DaprLlm.Sidecar/bin/Release/net10.0/daprllm-sidecar.dll
app_port=$(free_port); safety_http=$(free_port); safety_grpc=$(free_port); gateway_http=$(free_port); gateway_grpc=$(free_port)
dotnet exec "$sidecar_dll" --app-id safety --app-port "$app_port" --dapr-http-port "$safety_http" --dapr-grpc-port "$safety_grpc" \
  --resources-path "$work/components" --registry-path "$work/registry" --log-level warn > "$work/sidecar-safety.log" 2>&1 &
pids+=($!)
dotnet exec "$sidecar_dll" --app-id gateway --dapr-http-port "$gateway_http" --dapr-grpc-port "$gateway_grpc" \
  --resources-path "$work/components" --registry-path "$work/registry" --log-level warn > "$work/sidecar-gateway.log" 2>&1 &
pids+=($!)

# Development: the dev reviewer accounts satisfy the review feature's start-up validation.
( cd "$root/src/DaprLlm.Safety/bin/Release/net10.0" && \
  ASPNETCORE_ENVIRONMENT=Development ASPNETCORE_URLS="http://127.0.0.1:$app_port" Logging__LogLevel__Default=Warning \
  DAPR_HTTP_PORT=$safety_http DAPR_GRPC_PORT=$safety_grpc DAPR_HTTP_ENDPOINT="http://127.0.0.1:$safety_http" \
  DAPR_GRPC_ENDPOINT="http://127.0.0.1:$safety_grpc" DAPRLLM_DATA_DIR="$work/data" exec dotnet DaprLlm.Safety.dll ) > "$work/safety.log" 2>&1 &
pids+=($!)

deadline=$((SECONDS + 180))
until curl -fsS -o /dev/null "http://127.0.0.1:$gateway_http/v1.0/invoke/safety/method/alive" 2>/dev/null; do
  if ((SECONDS > deadline)); then
    echo "safety did not answer through the gateway sidecar within 180 s" >&2
    tail -20 "$work"/*.log >&2
    exit 1
  fi
  sleep 1
done

echo "load average before: $(cat /proc/loadavg)"
dotnet "$root/bench/DaprLlm.Bench.Safety/bin/Release/net10.0/DaprLlm.Bench.Safety.dll" "$data" --seconds "$seconds" --overhead "http://127.0.0.1:$gateway_http"
echo "load average after: $(cat /proc/loadavg)"
