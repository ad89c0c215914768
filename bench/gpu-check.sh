#!/usr/bin/env bash
# GPU check for the inference service, for a machine with an NVIDIA GPU (none was available when this was written:
# the CUDA rows of bench/RESULTS.md are still empty). Prints the GPU, runs the inference and embedding tests (the
# CUDA-fallback test then expects CUDA), and the inference bench on CUDA and on CPU with the same arguments, so
# the two runs compare on one machine. ONNX Runtime 1.31's CUDA provider needs CUDA 13 and cuDNN 9 libraries on
# the loader path; without them it falls back to CPU and the bench prints "execution provider CPU".
# Usage: bench/gpu-check.sh [tokensPerStream=64] [sections=batching,ttft,efficiency,embeddings,memory]
set -uo pipefail
cd "$(dirname "$0")/.."
tokens=${1:-64}
sections=${2:-batching,ttft,efficiency,embeddings,memory}
export NO_COLOR=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

echo "== device"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1 || echo "nvidia-smi not found: no GPU visible"
ldconfig -p 2>/dev/null | grep -E 'libcudart\.so|libcudnn\.so|libcublasLt\.so' | head -5 || true
command -v dotnet >/dev/null || { echo "dotnet SDK not found: install .NET 10 first"; exit 2; }

echo "== build (Release)"
dotnet build bench/DaprLlm.Bench.Inference -c Release -nologo -v quiet || exit 1
dotnet build tests/DaprLlm.Inference.Tests -c Release -nologo -v quiet || exit 1
dotnet build tests/DaprLlm.Embeddings.Tests -c Release -nologo -v quiet || exit 1

status=0
echo "== tests"
dotnet test tests/DaprLlm.Inference.Tests -c Release --no-build || status=1
dotnet test tests/DaprLlm.Embeddings.Tests -c Release --no-build || status=1

bench=bench/DaprLlm.Bench.Inference/bin/Release/net10.0/DaprLlm.Bench.Inference.dll
for provider in CUDA CPU; do
  echo "== bench on $provider"
  dotnet "$bench" - "$tokens" "$provider" "$sections" || status=1
done
exit "$status"
