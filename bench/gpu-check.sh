#!/usr/bin/env bash
# GPU check for the inference service, for a machine with an NVIDIA GPU (none was available when this was written:
# the CUDA rows of bench/RESULTS.md are still empty). Prints the GPU, runs the inference and embedding tests (the
# CUDA-fallback test then expects CUDA), and the inference bench on CUDA and on CPU with the same arguments, so
# the two runs compare on one machine. ONNX Runtime 1.31's CUDA provider needs CUDA 13 and cuDNN 9 libraries on
# the loader path; without them it falls back to CPU and the bench prints "execution provider CPU".
# A GPU that is visible (/dev/nvidia*) while the CUDA run still reports CPU fails the check: that means missing CUDA
# libraries, not GPU figures. NO_BUILD=1 skips the builds (an offline machine with build outputs copied over;
# `dotnet build` needs NuGet). The tests' fixtures with the GroupQueryAttention op are float32 and pinned to CPU
# (ONNX Runtime's CUDA GroupQueryAttention takes float16 only, as the builder's CUDA exports are).
# Usage: [NO_BUILD=1] bench/gpu-check.sh [tokensPerStream=64] [sections=batching,ttft,efficiency,embeddings,memory]
set -uo pipefail
cd "$(dirname "$0")/.."
tokens=${1:-64}
sections=${2:-batching,ttft,efficiency,embeddings,memory}
export NO_COLOR=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

echo "== device"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1 || echo "nvidia-smi not found: no GPU visible"
ldconfig -p 2>/dev/null | grep -E 'libcudart\.so|libcudnn\.so|libcublasLt\.so' | head -5 || true
command -v dotnet >/dev/null || { echo "dotnet SDK not found: install .NET 10 first"; exit 2; }

gpu_visible=0
ls /dev/nvidia0 /dev/nvidiactl >/dev/null 2>&1 && gpu_visible=1

if [ "${NO_BUILD:-0}" != 1 ]; then
  echo "== build (Release)"
  dotnet build bench/DaprLlm.Bench.Inference -c Release -nologo -v quiet || exit 1
  dotnet build tests/DaprLlm.Inference.Tests -c Release -nologo -v quiet || exit 1
  dotnet build tests/DaprLlm.Embeddings.Tests -c Release -nologo -v quiet || exit 1
fi

status=0
echo "== tests"
dotnet test tests/DaprLlm.Inference.Tests -c Release --no-build || status=1
dotnet test tests/DaprLlm.Embeddings.Tests -c Release --no-build || status=1

bench=bench/DaprLlm.Bench.Inference/bin/Release/net10.0/DaprLlm.Bench.Inference.dll
out=$(mktemp)
for provider in CUDA CPU; do
  echo "== bench on $provider"
  dotnet "$bench" - "$tokens" "$provider" "$sections" 2>&1 | tee "$out"
  [ "${PIPESTATUS[0]}" = 0 ] || status=1
  if [ "$provider" = CUDA ] && [ "$gpu_visible" = 1 ] && ! grep -q '^execution provider CUDA' "$out"; then
    echo "GPU visible but the chat model ran on CPU: CUDA 13 / cuDNN 9 libraries missing from the loader path?"
    status=1
  fi
done
rm -f "$out"
exit "$status"
