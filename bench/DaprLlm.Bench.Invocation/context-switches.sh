#!/bin/bash
# Counts the context switches (thread hand-offs) of each sidecar pair of a DaprLlm.Bench.Invocation run, summed over all
# threads from /proc/<pid>/task/*/status, over 7 s of the measured window (about 7,000 requests at --rate 1000).
# Start it just before the bench, with the bench's variant names (use names no other run uses), e.g.
#   bench/DaprLlm.Bench.Invocation/context-switches.sh a b & dotnet bench/.../DaprLlm.Bench.Invocation.dll --variants "a;b"
# It waits for each variant's sidecars, skips their 9 s warm-up (12 s after they appear) and samples 7 s.
sum() {
  local v=0 n=0 a b
  for f in /proc/$1/task/*/status; do
    read -r a b < <(awk '/^voluntary_ctxt_switches/{v=$2}/^nonvoluntary_ctxt_switches/{n=$2}END{print v, n}' "$f" 2>/dev/null)
    v=$((v + ${a:-0})); n=$((n + ${b:-0}))
  done
  echo "$v $n"
}
for name in "$@"; do
  while true; do
    caller=$(pgrep -f "app-id bench-caller-$name( |$)" | head -1)
    target=$(pgrep -f "app-id bench-target-$name( |$)" | head -1)
    [ -n "$caller" ] && [ -n "$target" ] && break
    sleep 0.2
  done
  sleep 12
  c0=$(sum "$caller"); t0=$(sum "$target")
  sleep 7
  c1=$(sum "$caller"); t1=$(sum "$target")
  echo "$name caller: voluntary $(( ${c1% *} - ${c0% *} )) involuntary $(( ${c1#* } - ${c0#* } )); target: voluntary $(( ${t1% *} - ${t0% *} )) involuntary $(( ${t1#* } - ${t0#* } )) (over 7 s)"
done
