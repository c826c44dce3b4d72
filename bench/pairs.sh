#!/usr/bin/env bash
# bench/pairs.sh BEFORE_TREE [ROUNDS] [OUTDIR]: the hot-path benchmarks of a
# checkout of the code before (e.g. a git worktree) and of this tree (after),
# interleaved round by round in one run, then benchstat. The package pairs
# map benchmarks that moved; edit them when packages move again.
set -euo pipefail
before=${1:?usage: bench/pairs.sh BEFORE_TREE [ROUNDS] [OUTDIR]}; rounds=${2:-5}; out=${3:-/tmp/pairs}
after=$(cd "$(dirname "$0")/.." && pwd); mkdir -p "$out/bin"
benchstat=$(command -v benchstat || echo "$HOME/go/bin/benchstat")
export PATH=/usr/local/go/bin:$PATH
# name  base-pkg  main-pkg  bench-regexp
pairs=(
  "proxy ./proxy ./proxy ^(BenchmarkHandler|BenchmarkHeaderWork)$"
  "sketch ./sampler ./sampler/sketch ^(BenchmarkDecodeV1|BenchmarkDecodeObserveV1|BenchmarkObserveParallel)$"
  "sampling ./internal/sampling ./sampler ^BenchmarkHandlerWithSampling$"
  "shadow ./shadow ./shadow ^(BenchmarkHandlerWithShadow|BenchmarkComparePair)$"
)
for p in "${pairs[@]}"; do
  set -- $p
  (cd "$before" && go test -c -o "$out/bin/$1.base" "$2")
  (cd "$after" && go test -c -o "$out/bin/$1.main" "$3")
done
: > "$out/before.txt"; : > "$out/after.txt"
for r in $(seq "$rounds"); do
  for p in "${pairs[@]}"; do
    set -- $p
    (cd "$before/${2#./}" && "$out/bin/$1.base" -test.run '^$' -test.bench "$4" -test.benchmem -test.benchtime 300ms -test.count 1 | grep -E '^Benchmark' >> "$out/before.txt")
    (cd "$after/${3#./}" && "$out/bin/$1.main" -test.run '^$' -test.bench "$4" -test.benchmem -test.benchtime 300ms -test.count 1 | grep -E '^Benchmark' >> "$out/after.txt")
  done
  echo "round $r done" >&2
done
"$benchstat" "$out/before.txt" "$out/after.txt" > "$out/benchstat.txt"
cat "$out/benchstat.txt"
