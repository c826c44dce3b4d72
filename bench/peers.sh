#!/usr/bin/env bash
# bench/peers.sh — driftcar against nginx and the direct path, in one run.
#
# Starts a fasthttp stub model (bench/stubmodel) on 127.0.0.1:18081, nginx
# with bench/peers/nginx.conf (one worker; proxy on :18090), and driftcar on
# :18095, then runs wrk (-t1 -c32, a small KServe v1 JSON POST) against each
# target, interleaved A B C A B C so machine drift hits them equally.
# Reports the median of the rounds, CPU seconds per 1,000 requests of each
# proxy process (from /proc), and the ratios driftcar/nginx.
#
# Usage: bench/peers.sh            (ROUNDS=3 DURATION=8s CONNS=32 by default)
# Needs: go, nginx, wrk (apt-get install nginx wrk).
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-8s}
CONNS=${CONNS:-32}
OUT=${OUT:-bench/results/$(date +%Y-%m-%d)-$(hostname)-proxy.md}

for bin in nginx wrk go; do
  command -v "$bin" >/dev/null || { echo "bench/peers.sh: $bin is not installed" >&2; exit 1; }
done

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

go build -o "$work/driftcar" ./cmd/driftcar
go build -o "$work/stubmodel" ./bench/stubmodel

"$work/stubmodel" -listen 127.0.0.1:18081 & pids+=($!)
"$work/stubmodel" -listen 127.0.0.1:18082 & pids+=($!)
nginx -c "$PWD/bench/peers/nginx.conf" -p "$work" & pids+=($!)
nginx_master=$!

cat > "$work/driftcar.yaml" <<YAML
listen: 127.0.0.1:18095
admin: 127.0.0.1:18096
model: bench
upstreams:
  live: { address: 127.0.0.1:18081 }
routes:
  - name: predict
    split: [{ upstream: live, weight: 1 }]
YAML
"$work/driftcar" run --config "$work/driftcar.yaml" --log-level warn & pids+=($!)
driftcar_pid=$!

for i in $(seq 100); do
  curl -fsS -o /dev/null http://127.0.0.1:18096/readyz 2>/dev/null && \
  curl -fsS -o /dev/null -X POST http://127.0.0.1:18090/ 2>/dev/null && break
  sleep 0.1
done
nginx_worker=$(pgrep -P "$nginx_master" | head -1)

declare -A url=(
  [direct]=http://127.0.0.1:18081/v1/models/m:predict
  [nginx]=http://127.0.0.1:18090/v1/models/m:predict
  [driftcar]=http://127.0.0.1:18095/v1/models/m:predict
)
declare -A pid=([direct]="" [nginx]=$nginx_worker [driftcar]=$driftcar_pid)
targets=(direct nginx driftcar)

cpu_ticks() { [ -n "$1" ] && awk '{print $14+$15}' "/proc/$1/stat" || echo 0; }
to_ms() { awk -v v="$1" 'BEGIN{ if (v ~ /us$/) {sub(/us$/,"",v); print v/1000} else if (v ~ /ms$/) {sub(/ms$/,"",v); print v} else if (v ~ /s$/) {sub(/s$/,"",v); print v*1000} else print v }'; }
hz=$(getconf CLK_TCK)

# warm-up
for t in "${targets[@]}"; do wrk -t1 -c"$CONNS" -d2s -s bench/peers/body.lua "${url[$t]}" >/dev/null; done

results="$work/results.tsv"
: > "$results"
for round in $(seq "$ROUNDS"); do
  for t in "${targets[@]}"; do
    printf '\rround %d/%d: %-9s' "$round" "$ROUNDS" "$t" >&2
    before=$(cpu_ticks "${pid[$t]}")
    out=$(wrk -t1 -c"$CONNS" -d"$DURATION" -s bench/peers/body.lua --latency "${url[$t]}")
    after=$(cpu_ticks "${pid[$t]}")
    rps=$(awk '/^Requests\/sec:/{print $2}' <<<"$out")
    total=$(awk '/requests in/{print $1}' <<<"$out")
    errs=$(awk '/Non-2xx|Socket errors/{s=s $0 "; "} END{print (s=="" ? "0" : s)}' <<<"$out")
    p50=$(to_ms "$(awk '$1=="50%"{print $2}' <<<"$out")")
    p90=$(to_ms "$(awk '$1=="90%"{print $2}' <<<"$out")")
    p99=$(to_ms "$(awk '$1=="99%"{print $2}' <<<"$out")")
    cpu=$(awk -v a="$before" -v b="$after" -v n="$total" -v hz="$hz" 'BEGIN{ if (n>0 && b>a) printf "%.4f", (b-a)/hz/n*1000; else print "-" }')
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "$round" "$rps" "$p50" "$p90" "$p99" "$cpu" "$errs" >> "$results"
  done
done
printf '\r%40s\r' '' >&2

median() { sort -g | awk '{a[NR]=$1} END{ if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2 }'; }
col() { awk -F'\t' -v t="$1" -v c="$2" '$1==t{print $c}' "$results" | median; }

{
  echo "# driftcar vs nginx vs direct — $(date -u +%Y-%m-%dT%H:%MZ)"
  echo
  echo "Machine: $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr); $(go version | awk '{print $3}'); $(nginx -v 2>&1 | sed 's/.*: //'); wrk, stub model, proxies all on the same cores."
  echo
  echo "Command: \`ROUNDS=$ROUNDS DURATION=$DURATION CONNS=$CONNS bench/peers.sh\` — wrk -t1 -c$CONNS -d$DURATION, KServe v1 JSON POST (bench/peers/body.lua); median of $ROUNDS interleaved rounds."
  echo
  echo "| target | requests/s | p50 ms | p90 ms | p99 ms | proxy CPU s / 1k req |"
  echo "|---|---:|---:|---:|---:|---:|"
  for t in "${targets[@]}"; do
    printf '| %s | %.0f | %.3f | %.3f | %.3f | %s |\n' "$t" "$(col "$t" 3)" "$(col "$t" 4)" "$(col "$t" 5)" "$(col "$t" 6)" "$(col "$t" 7)"
  done
  echo
  awk -v d="$(col driftcar 3)" -v n="$(col nginx 3)" -v dp="$(col driftcar 6)" -v np="$(col nginx 6)" -v dc="$(col driftcar 7)" -v nc="$(col nginx 7)" 'BEGIN{
    printf "Ratios: driftcar/nginx throughput **%.2f×** (target ≥ 0.90), p99 **%.2f×** (target ≤ 1.00), CPU per request **%.2f×**.\n", d/n, dp/np, dc/nc }'
  echo
  echo "Per round:"
  echo
  echo '```'
  printf 'target\tround\trps\tp50ms\tp90ms\tp99ms\tcpu_s_per_1k\terrors\n'
  cat "$results"
  echo '```'
} | tee "$OUT"
