#!/usr/bin/env bash
# bench/peers.sh (make bench-peers) — driftcar against nginx, a bare fasthttp
# pass-through and the direct path, with wrk, in one run: the closed-loop
# method of the proxy issue. `driftcar-bench proxy` (bench/harness) measures
# the same scenarios open loop, latency against offered rate.
#
# Starts fasthttp stub models (bench/stubmodel): live on 127.0.0.1:18081, a
# shadow on :18082 and a shadow answering in 200 ms on :18083; nginx with
# bench/peers/nginx.conf (one worker: proxy, proxy+mirror, proxy+mirror to
# the slow shadow); four driftcar processes (bare, sampling, shadow 100%, shadow
# 100% to the slow shadow), and bench/passthrough, a bare fasthttp proxy
# that is the floor of the library driftcar builds on. wrk (-t1 -c32, a
# small KServe v1 JSON POST) runs against each target, interleaved
# A B C ... A B C so machine drift hits them equally. Reports the median of
# the rounds, CPU seconds per 1,000 requests of each proxy process (from
# /proc), and the ratios.
#
# Layouts (LAYOUT=):
#   shared    everything on all cores, as the kernel places it (default);
#   isolated  the proxies on the last core, wrk and the stub models on the
#             others (taskset, every thread), so a proxy is not time-sliced
#             against its own load generator.
#
# Usage: bench/peers.sh    (ROUNDS=3 DURATION=8s CONNS=32 LAYOUT=shared TARGETS="..." by default)
# Needs: go, nginx, wrk, taskset (apt-get install nginx wrk util-linux).
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-8s}
CONNS=${CONNS:-32}
LAYOUT=${LAYOUT:-shared}
OUT=${OUT:-bench/results/$(date +%Y-%m-%d)-$(hostname)-proxy$([ "$LAYOUT" = shared ] || echo "-$LAYOUT").md}

last_cpu=$(($(nproc) - 1))
case "$LAYOUT" in
  shared) on_proxy_cpu=(); on_load_cpus=() ;;
  isolated)
    [ "$last_cpu" -ge 1 ] || { echo "bench/peers.sh: LAYOUT=isolated needs at least 2 cores" >&2; exit 1; }
    on_proxy_cpu=(taskset -c "$last_cpu"); on_load_cpus=(taskset -c "0-$((last_cpu - 1))") ;;
  *) echo "bench/peers.sh: LAYOUT must be shared or isolated, not \"$LAYOUT\"" >&2; exit 1 ;;
esac

for bin in nginx wrk go; do
  command -v "$bin" >/dev/null || { echo "bench/peers.sh: $bin is not installed" >&2; exit 1; }
done

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

go build -o "$work/driftcar" ./cmd/driftcar
go build -o "$work/stubmodel" ./bench/stubmodel
go build -o "$work/passthrough" ./bench/passthrough

"${on_load_cpus[@]}" "$work/stubmodel" -listen 127.0.0.1:18081 & pids+=($!)
"${on_load_cpus[@]}" "$work/stubmodel" -listen 127.0.0.1:18082 & pids+=($!)
"${on_load_cpus[@]}" "$work/stubmodel" -listen 127.0.0.1:18083 -delay 200ms & pids+=($!)
"${on_proxy_cpu[@]}" "$work/passthrough" -listen 127.0.0.1:18111 -upstream 127.0.0.1:18081 & pids+=($!)
passthrough_pid=$!
"${on_proxy_cpu[@]}" nginx -c "$PWD/bench/peers/nginx.conf" -p "$work" & pids+=($!)
nginx_master=$!

# A reference for the features of bench/peers/body.lua.
{
  echo "age,income,country,tenure,prediction"
  for i in $(seq 0 999); do
    echo "$((20 + i % 50)),$((20000 + i * 61)).5,$(sed -n "$((i % 4 + 1))p" <<<$'DE\nFR\nUS\nIT'),$((i % 10)),0.$((50 + i % 50))"
  done
} > "$work/train.csv"
sample_section() {
  cat <<YAML
    sample: { fraction: 1 }
features:
  - { name: age, type: numeric }
  - { name: income, type: numeric }
  - { name: country, type: categorical }
  - { name: tenure, type: numeric }
prediction: { type: numeric }
reference: { file: $work/reference.json }
YAML
}

# driftcar_config PORT [SHADOW_ADDR] [sample]
driftcar_config() {
  cat <<YAML
listen: 127.0.0.1:$1
admin: 127.0.0.1:$(($1 + 1))
model: bench
upstreams:
  live:   { address: 127.0.0.1:18081 }
  shadow: { address: ${2:-127.0.0.1:18082}, timeout: 2s, max_conns: 256 }
routes:
  - name: predict
    split: [{ upstream: live, weight: 1 }]
YAML
  [ -n "${2:-}" ] && cat <<YAML
    shadow: { upstream: shadow, fraction: 1 }
YAML
  [ "${3:-}" = sample ] && sample_section
  return 0
}
declare -A pid
start_driftcar() { # NAME PORT [SHADOW_ADDR] [sample]
  driftcar_config "$2" "${3:-}" "${4:-}" > "$work/$1.yaml"
  "${on_proxy_cpu[@]}" "$work/driftcar" run --config "$work/$1.yaml" --log-level warn & pids+=($!)
  pid[$1]=$!
}
start_driftcar driftcar 18095
start_driftcar driftcar+shadow 18097 127.0.0.1:18082
start_driftcar driftcar+slow-shadow 18099 127.0.0.1:18083
driftcar_config 18101 "" sample > "$work/driftcar+sample.yaml"
"$work/driftcar" reference build --input "$work/train.csv" --config "$work/driftcar+sample.yaml" --out "$work/reference.json" >/dev/null
start_driftcar driftcar+sample 18101 "" sample

for i in $(seq 100); do
  curl -fsS -o /dev/null http://127.0.0.1:18096/readyz 2>/dev/null && \
  curl -fsS -o /dev/null http://127.0.0.1:18098/readyz 2>/dev/null && \
  curl -fsS -o /dev/null http://127.0.0.1:18100/readyz 2>/dev/null && \
  curl -fsS -o /dev/null http://127.0.0.1:18102/readyz 2>/dev/null && \
  curl -fsS -o /dev/null -X POST http://127.0.0.1:18111/ 2>/dev/null && \
  curl -fsS -o /dev/null -X POST http://127.0.0.1:18090/ 2>/dev/null && break
  sleep 0.1
done
nginx_worker=$(pgrep -P "$nginx_master" | head -1)

declare -A url=(
  [direct]=http://127.0.0.1:18081/v1/models/m:predict
  [nginx]=http://127.0.0.1:18090/v1/models/m:predict
  [nginx+mirror]=http://127.0.0.1:18091/v1/models/m:predict
  [nginx+slow-mirror]=http://127.0.0.1:18092/v1/models/m:predict
  [driftcar]=http://127.0.0.1:18095/v1/models/m:predict
  [driftcar+shadow]=http://127.0.0.1:18097/v1/models/m:predict
  [driftcar+slow-shadow]=http://127.0.0.1:18099/v1/models/m:predict
  [driftcar+sample]=http://127.0.0.1:18101/v1/models/m:predict
  [fasthttp]=http://127.0.0.1:18111/v1/models/m:predict
)
pid[direct]=""
pid[fasthttp]=$passthrough_pid
pid[nginx]=$nginx_worker
pid[nginx+mirror]=$nginx_worker
pid[nginx+slow-mirror]=$nginx_worker
read -r -a targets <<<"${TARGETS:-direct nginx fasthttp driftcar driftcar+sample nginx+mirror driftcar+shadow nginx+slow-mirror driftcar+slow-shadow}"

cpu_ticks() { [ -n "$1" ] && awk '{print $14+$15}' "/proc/$1/stat" || echo 0; }
to_ms() { awk -v v="$1" 'BEGIN{ if (v ~ /us$/) {sub(/us$/,"",v); print v/1000} else if (v ~ /ms$/) {sub(/ms$/,"",v); print v} else if (v ~ /s$/) {sub(/s$/,"",v); print v*1000} else print v }'; }
hz=$(getconf CLK_TCK)

# warm-up
for t in "${targets[@]}"; do "${on_load_cpus[@]}" wrk -t1 -c"$CONNS" -d2s -s bench/peers/body.lua "${url[$t]}" >/dev/null; done

results="$work/results.tsv"
: > "$results"
for round in $(seq "$ROUNDS"); do
  for t in "${targets[@]}"; do
    printf '\rround %d/%d: %-22s' "$round" "$ROUNDS" "$t" >&2
    before=$(cpu_ticks "${pid[$t]}")
    out=$("${on_load_cpus[@]}" wrk -t1 -c"$CONNS" -d"$DURATION" -s bench/peers/body.lua --latency "${url[$t]}")
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
  echo "Machine: $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr); $(go version | awk '{print $3}'); $(nginx -v 2>&1 | sed 's/.*: //'); $(case "$LAYOUT" in shared) echo "layout shared: wrk, stub models and proxies all on the same cores, placed by the kernel" ;; isolated) echo "layout isolated: proxies on CPU $last_cpu, wrk and stub models on CPUs 0-$((last_cpu - 1)) (taskset)" ;; esac)."
  echo
  echo "Command: \`ROUNDS=$ROUNDS DURATION=$DURATION CONNS=$CONNS LAYOUT=$LAYOUT bench/peers.sh\` — wrk -t1 -c$CONNS -d$DURATION, KServe v1 JSON POST (bench/peers/body.lua); median of $ROUNDS interleaved rounds."
  echo
  echo "| target | requests/s | p50 ms | p90 ms | p99 ms | proxy CPU s / 1k req |"
  echo "|---|---:|---:|---:|---:|---:|"
  for t in "${targets[@]}"; do
    printf '| %s | %.0f | %.3f | %.3f | %.3f | %s |\n' "$t" "$(col "$t" 3)" "$(col "$t" 4)" "$(col "$t" 5)" "$(col "$t" 6)" "$(col "$t" 7)"
  done
  echo
  ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (a != "" && b != "" && b > 0) printf "%.2f", a/b; else print "n/a" }'; }
  has() { awk -F'\t' -v t="$1" '$1==t{f=1} END{exit !f}' "$results"; }
  echo "| ratio (same run) | value | target |"
  echo "|---|---:|---|"
  if has driftcar && has nginx; then
    echo "| driftcar / nginx throughput | $(ratio "$(col driftcar 3)" "$(col nginx 3)")× | ≥ 0.90 |"
    echo "| driftcar / nginx p99 | $(ratio "$(col driftcar 6)" "$(col nginx 6)")× | ≤ 1.00 |"
    echo "| driftcar / nginx CPU per request | $(ratio "$(col driftcar 7)" "$(col nginx 7)")× | ≤ 1.00 |"
  fi
  if has fasthttp && has nginx; then
    echo "| fasthttp pass-through / nginx p99 | $(ratio "$(col fasthttp 6)" "$(col nginx 6)")× | (library floor) |"
  fi
  if has driftcar && has fasthttp; then
    echo "| driftcar / fasthttp pass-through throughput | $(ratio "$(col driftcar 3)" "$(col fasthttp 3)")× | (driftcar's own work) |"
    echo "| driftcar / fasthttp pass-through p99 | $(ratio "$(col driftcar 6)" "$(col fasthttp 6)")× | (driftcar's own work) |"
  fi
  if has driftcar+shadow && has nginx+mirror; then
    echo "| driftcar+shadow / nginx+mirror throughput | $(ratio "$(col driftcar+shadow 3)" "$(col nginx+mirror 3)")× | ≥ 2.00 |"
  fi
  if has driftcar+slow-shadow && has driftcar; then
    echo "| driftcar+slow-shadow / driftcar throughput | $(ratio "$(col driftcar+slow-shadow 3)" "$(col driftcar 3)")× | ≥ 0.90 |"
    echo "| driftcar+slow-shadow / driftcar p99 | $(ratio "$(col driftcar+slow-shadow 6)" "$(col driftcar 6)")× | ≤ 1.20 |"
  fi
  if has driftcar+sample && has driftcar; then
    echo "| driftcar+sample / driftcar throughput | $(ratio "$(col driftcar+sample 3)" "$(col driftcar 3)")× | ≥ 0.85 |"
  fi
  if has nginx+slow-mirror && has nginx; then
    echo "| nginx+slow-mirror / nginx throughput | $(ratio "$(col nginx+slow-mirror 3)" "$(col nginx 3)")× | (peer) |"
  fi
  echo
  echo "Per round:"
  echo
  echo '```'
  printf 'target\tround\trps\tp50ms\tp90ms\tp99ms\tcpu_s_per_1k\terrors\n'
  cat "$results"
  echo '```'
} | tee "$OUT"
