#!/bin/bash
# `npm run bench:ir`: user-space instructions (valgrind Ir) per steered ECS query of `gslb serve --udp-io batch`,
# the question `npm run bench` asks (app.gslb.example.test A, ECS 81.2.69.0/24, the fixture MMDB).
#
# Why: on a shared 2-core machine CPU µs per query swing 2x from run to run; instruction counts do not, so they
# are the figure to compare two versions of the query path by. They leave out the kernel (the UDP stack,
# syscalls) and say nothing about wall-clock; `npm run bench` is the figure against gdnsd.
#
# How: the server runs under callgrind (30-60x slower, so a low rate: -Q 800), gets 20 000 queries
# (BENCH_IR_WARMUP) to warm up (V8 optimises the path), then the counters are zeroed, N queries (default 10 000, $1) are sent, the counters
# dumped. Ir over the datagrams the server received in between (its /metrics counter, read before and after:
# dnsperf's count would miss queries it gave up on). The idle event loop's timers are in the figure too.
# Loopback only; takes 5 minutes or more (far more on a loaded machine); every process is stopped by its PID.
set -euo pipefail
N=${1:-10000}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
for tool in valgrind callgrind_control dnsperf curl; do
  command -v "$tool" >/dev/null || { echo "bench:ir needs $tool (apt-get install valgrind dnsperf curl)" >&2; exit 1; }
done
DIR=$(mktemp -d /tmp/gslb-bench-ir-XXXXXX)
VP=
cleanup() {
  if [ -n "$VP" ]; then kill "$VP" 2>/dev/null || true; wait "$VP" 2>/dev/null || true; fi
  rm -rf "$DIR"
}
trap cleanup EXIT
cd "$ROOT"
read -r PORT API < <(node --import tsx --input-type=module -e "
import { writeInputs } from './bench/servers.ts';
import { freePort } from './bench/lib.ts';
writeInputs('$DIR');
console.log(await freePort(), await freePort());
")
printf 'app.gslb.example.test A\n' > "$DIR/queries.txt"
ECS=8:00011800510245
recv() { curl -s "http://127.0.0.1:$API/metrics" | grep -oP '^gslb_udp_batch_datagrams_total\{op="recv"[^}]*\} \K[0-9]+'; }
load() { taskset -c 1 dnsperf -s 127.0.0.1 -p "$PORT" -d "$DIR/queries.txt" -E $ECS -n "$1" -Q 800 -c 4 -q 100 -t 20 >/dev/null; }

taskset -c 0 valgrind --tool=callgrind --callgrind-out-file="$DIR/callgrind.out" node dist/cli.js serve \
  --zones "$DIR/zones" --geoip "$DIR/fixture.mmdb" --dns "127.0.0.1:$PORT" --api "127.0.0.1:$API" \
  --data "$DIR/data" --node-id bench --log-level warn --udp-io batch >"$DIR/valgrind.log" 2>&1 &
VP=$!
for _ in $(seq 1 300); do
  recv >/dev/null 2>&1 && break
  kill -0 "$VP" 2>/dev/null || { cat "$DIR/valgrind.log" >&2; exit 1; }
  sleep 1
done
load "${BENCH_IR_WARMUP:-20000}"
BEFORE=$(recv)
callgrind_control -z "$VP" >/dev/null
load "$N"
callgrind_control -d "$VP" >/dev/null
AFTER=$(recv)
sleep 1
DUMP=$(ls -t "$DIR"/callgrind.out.* | head -1)
IR=$(grep -m1 -oP '^(summary|totals): \K[0-9]+' "$DUMP")
Q=$((AFTER - BEFORE))
echo "gslb --udp-io batch: $Q queries, $IR Ir, $((IR / Q)) Ir per query (user space, callgrind)"
