#!/usr/bin/env bash
# What one worker under the master costs against one process: keep-alive hello (content
# r.say('hello')) under wrk, sluice pinned to core 0 (master and worker both), wrk to core 1,
# A (one process) and B (masterProcess: true, one worker) alternated, ROUNDS rounds; prints each
# run and the median ratio B/A. Run `npm run build` first. Env: DURATION=10s CONNECTIONS=50 ROUNDS=3
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${DURATION:-10s}; CONNECTIONS=${CONNECTIONS:-50}; ROUNDS=${ROUNDS:-3}; PORT=${BENCH_PORT:-${PORT:-18391}}
TMP=$(mktemp -d); PID=
cleanup() { [ -n "$PID" ] && kill -TERM "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT
for mode in A B; do
  extra=''; [ $mode = B ] && extra='masterProcess: true, workerProcesses: 1,'
  cat > "$TMP/$mode.mjs" <<EOC
export default { $extra servers: [{ listen: '127.0.0.1:$PORT', locations: { '/': { content: (r) => { r.say('hello'); } } } }] };
EOC
done
run() { # $1 = A|B -> requests/s
  taskset -c 0 node bin/sluice.mjs -p "$TMP" -c "$TMP/$1.mjs" 2> "$TMP/$1.err" & PID=$!
  for _ in $(seq 100); do grep -q 'listening on' "$TMP/$1.err" 2>/dev/null && break; sleep 0.1; done
  taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d2s "http://127.0.0.1:$PORT/" > /dev/null   # warm-up
  local rps; rps=$(taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"$DURATION" "http://127.0.0.1:$PORT/" | awk '/Requests\/sec/ { print $2 }')
  kill -TERM "$PID"; wait "$PID" 2>/dev/null || true; PID=
  echo "$rps"
}
ratios=()
for r in $(seq "$ROUNDS"); do
  a=$(run A); b=$(run B)
  ratio=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f", b / a }')
  echo "round $r: one process $a req/s, master + 1 worker $b req/s, ratio $ratio"
  ratios+=("$ratio")
done
printf '%s\n' "${ratios[@]}" | sort -n | awk '{ v[NR] = $1 } END { print "median ratio (master + 1 worker / one process): " v[int((NR + 1) / 2)] }'
