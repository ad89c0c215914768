#!/usr/bin/env bash
# The ML layer in process vs through the inference embedding service: two real sidecars (app id "safety", the caller's,
# and "inference"), the real inference app (Release) serving only minilm-l6-safety warm, the local resiliency policies,
# then the bench's --embed-service driver through the safety sidecar. Everything started here is stopped on exit.
# Usage (from the repository root, after building the three projects in Release):
#   dotnet build -c Release src/DaprLlm.Sidecar && dotnet build -c Release src/DaprLlm.Inference && dotnet build -c Release bench/DaprLlm.Bench.Safety
#   flock /tmp/daprllm-heavy.lock bench/DaprLlm.Bench.Safety/embed-service.sh [data folder] [seconds]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
data=${1:-$root/../shared/data}
seconds=${2:-5}
work=$(mktemp -d /tmp/daprllm-embed-service.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
mkdir -p "$work/components" "$work/registry"
cp "$root/components/local/resiliency.yaml" "$work/components/"

sidecar_dll=$root/src/DaprLlm.Sidecar/bin/Release/net10.0/daprllm-sidecar.dll
app_port=$(free_port); inference_http=$(free_port); inference_grpc=$(free_port); safety_http=$(free_port); safety_grpc=$(free_port)
dotnet exec "$sidecar_dll" --app-id inference --app-port "$app_port" --dapr-http-port "$inference_http" --dapr-grpc-port "$inference_grpc" \
  --metrics-port "$(free_port)" --resources-path "$work/components" --registry-path "$work/registry" --log-level warn > "$work/sidecar-inference.log" 2>&1 &
pids+=($!)
dotnet exec "$sidecar_dll" --app-id safety --dapr-http-port "$safety_http" --dapr-grpc-port "$safety_grpc" \
  --metrics-port "$(free_port)" --resources-path "$work/components" --registry-path "$work/registry" --log-level warn > "$work/sidecar-safety.log" 2>&1 &
pids+=($!)

# Only the safety graph is loaded: the demo chat model and the float MiniLM stay lazy (never asked for here).
( cd "$root/src/DaprLlm.Inference/bin/Release/net10.0" && \
  ASPNETCORE_URLS="http://127.0.0.1:$app_port" Logging__LogLevel__Default=Warning \
  DAPR_HTTP_PORT=$inference_http DAPR_GRPC_PORT=$inference_grpc DAPR_HTTP_ENDPOINT="http://127.0.0.1:$inference_http" \
  DAPR_GRPC_ENDPOINT="http://127.0.0.1:$inference_grpc" exec dotnet DaprLlm.Inference.dll \
  --Inference:Models:daprllm-demo:Warm=false --Inference:Models:all-minilm-l6-v2:Warm=false ) > "$work/inference.log" 2>&1 &
pids+=($!)

deadline=$((SECONDS + 180))
until curl -fsS -o /dev/null "http://127.0.0.1:$safety_http/v1.0/invoke/inference/method/health" 2>/dev/null; do
  if ((SECONDS > deadline)); then
    echo "inference did not answer through the safety sidecar within 180 s" >&2
    tail -20 "$work"/*.log >&2
    exit 1
  fi
  sleep 1
done

# The inference app's own pid (the subshell exec'd into dotnet) and the two sidecars: the path's CPU.
path_pids=$(IFS=,; echo "${pids[*]}")
echo "load average before: $(cat /proc/loadavg)"
dotnet "$root/bench/DaprLlm.Bench.Safety/bin/Release/net10.0/DaprLlm.Bench.Safety.dll" "$data" --seconds "$seconds" \
  --embed-service "http://127.0.0.1:$safety_http" --pids "$path_pids"
echo "load average after: $(cat /proc/loadavg)"
