#!/usr/bin/env bash
# Keep-alive "hello" under wrk: sluice (content handler, return), Node http, bare node:net, nginx + lua.
# Run from anywhere: `bash bench/load/hello.sh` (sluice from dist/: `npm run build` first) or `npm run bench:load`.
# The table is printed and written to bench/load/last-hello.md (OUT=...).
#
# Env: DURATION=10s  CONNECTIONS=50  THREADS=1  WARMUP=2s (0 = none)  SERVER_CPU=0  CLIENT_CPU=1
#      RUNS=1              rounds; with more, each row is that server's median undisturbed run, all runs listed
#      MAX_OTHER=5 RETRIES=2  a run during which other processes used > MAX_OTHER% CPU is retried;
#      QUIET_WAIT=120         before each run, wait up to this many seconds for them to go quiet
#      ONLY="sluice-say node"   run a subset (names: sluice-say sluice-return node net nginx)
#      SLUICE_NODE_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof"   extra node flags for the sluice runs
set -euo pipefail

cd "$(dirname "$0")/../.."

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-50}
THREADS=${THREADS:-1}
WARMUP=${WARMUP:-2s}
RUNS=${RUNS:-1}
MAX_OTHER=${MAX_OTHER:-5}
RETRIES=${RETRIES:-2}
QUIET_WAIT=${QUIET_WAIT:-120}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
ONLY=${ONLY:-}
OUT=${OUT:-bench/load/last-hello.md}
SLUICE_NODE_FLAGS=${SLUICE_NODE_FLAGS:-}
NGINX_MODULES=${NGINX_MODULES:-/usr/lib/nginx/modules}

SERVERS=(sluice-say sluice-return node net nginx)
declare -A LABEL=(
  [sluice-say]="sluice, content \`r.say('hello')\`"
  [sluice-return]="sluice, \`return: [200, 'hello\\n']\`"
  [node]="Node \`http\`"
  [net]="bare \`node:net\` (no parsing)"
  [nginx]="nginx + lua \`ngx.say(\"hello\")\`"
)

for tool in wrk taskset node curl; do
  command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install -y wrk util-linux curl)" >&2; exit 1; }
done
NGINX_BIN=$(command -v nginx || echo /usr/sbin/nginx)

TMP=$(mktemp -d "${TMPDIR:-/tmp}/sluice-load.XXXXXX")
PIDS=()

# stop every process this script started, whatever way it exits
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  [ -z "${KEEP_TMP:-}" ] && rm -rf "$TMP" || echo "kept $TMP" >&2
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"
}

nginx_conf() { # port dir
  local port=$1 dir=$2
  mkdir -p "$dir/logs" "$dir/tmp"
  cat >"$dir/nginx.conf" <<EOF
load_module $NGINX_MODULES/ndk_http_module.so;
load_module $NGINX_MODULES/ngx_http_lua_module.so;

daemon off;
master_process off;  # one process, so the pinned pid is the one serving
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/logs/error.log warn;

events { worker_connections 1024; }

http {
  access_log off;
  client_body_temp_path $dir/tmp/body;
  proxy_temp_path $dir/tmp/proxy;
  fastcgi_temp_path $dir/tmp/fastcgi;
  uwsgi_temp_path $dir/tmp/uwsgi;
  scgi_temp_path $dir/tmp/scgi;
  default_type text/plain;

  server {
    listen 127.0.0.1:$port;
    location = / { content_by_lua_block { ngx.say("hello") } }
  }
}
EOF
}

# start server $1 on port $2, pinned to SERVER_CPU; sets SERVER_PID
start_server() {
  local name=$1 port=$2 log=$TMP/$1.log
  case $name in
    # shellcheck disable=SC2086
    sluice-say)    taskset -c "$SERVER_CPU" node $SLUICE_NODE_FLAGS bench/load/sluice-hello.mjs "$port" say >"$log" 2>&1 & ;;
    # shellcheck disable=SC2086
    sluice-return) taskset -c "$SERVER_CPU" node $SLUICE_NODE_FLAGS bench/load/sluice-hello.mjs "$port" return >"$log" 2>&1 & ;;
    node)          taskset -c "$SERVER_CPU" node bench/load/node-hello.mjs "$port" >"$log" 2>&1 & ;;
    net)           taskset -c "$SERVER_CPU" node bench/load/net-hello.mjs "$port" >"$log" 2>&1 & ;;
    nginx)
      nginx_conf "$port" "$TMP/nginx"
      taskset -c "$SERVER_CPU" "$NGINX_BIN" -p "$TMP/nginx" -c "$TMP/nginx/nginx.conf" -e "$TMP/nginx/logs/error.log" >"$log" 2>&1 & ;;
  esac
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
  # ready = the response is "hello\n" (node servers also print "ready")
  local i body
  for i in $(seq 100); do
    body=$(curl -s --max-time 1 "http://127.0.0.1:$port/" 2>/dev/null || true)
    [ "$body" = "hello" ] && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "$name did not answer 'hello' on 127.0.0.1:$port; its output:" >&2
  cat "$log" "$TMP/nginx/logs/error.log" 2>/dev/null | tail -n 20 >&2
  return 1
}

# busy jiffies: all cores ($1 = all), or one process and its reaped children ($1 = pid)
jiffies() {
  if [ "$1" = all ]; then awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat
  else awk '{ sub(/^.*\) /, ""); print $12 + $13 + $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; fi
}

# the measured run: wrk into $2, and OTHER = % of the machine's CPU used by anything but the server and wrk
measure() {
  local port=$1 out=$2 t0 s0 b0 t1 s1 b1 secs
  t0=$(jiffies all); s0=$(jiffies "$SERVER_PID"); b0=$(jiffies $$)
  run_wrk "$port" "$DURATION" "$out" --latency
  t1=$(jiffies all); s1=$(jiffies "$SERVER_PID"); b1=$(jiffies $$)
  secs=$(awk '/^ *[0-9]+ requests in/ { v = $4; sub(/,$/, "", v)
           if (v ~ /ms$/) { sub(/ms$/, "", v); v /= 1000 } else if (v ~ /m$/) { sub(/m$/, "", v); v *= 60 } else sub(/s$/, "", v)
           print v }' "$out")
  OTHER=$(awk -v d="$(( (t1 - t0) - (s1 - s0) - (b1 - b0) ))" -v s="${secs:-1}" -v n="$(nproc)" \
    'BEGIN { v = 100 * d / (100 * s * n); printf "%.0f", v < 0 ? 0 : v }')
}

# wait (at most QUIET_WAIT seconds) until other processes use at most MAX_OTHER% of the machine for 1s
wait_quiet() {
  local waited=0 t0 t1 s0 s1 busy
  while :; do
    t0=$(jiffies all); s0=$(jiffies "$SERVER_PID"); sleep 1; t1=$(jiffies all); s1=$(jiffies "$SERVER_PID")
    busy=$(( 100 * ((t1 - t0) - (s1 - s0)) / (100 * $(nproc)) ))
    [ "$busy" -gt "$MAX_OTHER" ] && [ "$waited" -lt "$QUIET_WAIT" ] || break
    [ "$waited" -gt 0 ] || echo "   machine busy (${busy}% CPU), waiting up to ${QUIET_WAIT}s" >&2
    waited=$((waited + 1))
  done
}

# wrk on port $1 for $2, output to $3; in the background so that `wait` lets a Ctrl-C reach the traps
run_wrk() {
  local port=$1 duration=$2 out=$3; shift 3
  taskset -c "$CLIENT_CPU" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$duration" "$@" "http://127.0.0.1:$port/" >"$out" &
  local pid=$!
  PIDS+=("$pid")
  wait "$pid"
}

stop_server() {
  kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
}

# field $1 of wrk's output file $2
wrk_field() {
  case $1 in
    rps)  awk '/^Requests\/sec:/ { v = $2 } END { print v + 0 }' "$2" ;;
    avg)  awk '$1 == "Latency" { print $2; exit }' "$2" ;;
    p99)  awk '$1 == "99%" { print $2 }' "$2" ;;
    # bytes on the wire per response (Transfer/sec / Requests/sec)
    size) awk '/^Requests\/sec:/ { r = $2 }
               /^Transfer\/sec:/ { v = $2; m = 1
                 if (v ~ /KB$/) m = 1024; else if (v ~ /MB$/) m = 1048576; else if (v ~ /GB$/) m = 1073741824
                 sub(/[KMG]?B$/, "", v); t = v * m }
               END { if (r > 0) printf "%.0f", t / r }' "$2" ;;
    # socket errors + non-2xx/3xx responses
    errs) awk '/Socket errors:/ { gsub(/,/, ""); n += $4 + $6 + $8 + $10 }
               /Non-2xx or 3xx responses:/ { n += $5 }
               END { print n + 0 }' "$2" ;;
  esac
}

WRK_CMD="taskset -c $CLIENT_CPU wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency http://127.0.0.1:PORT/"
declare -A STATE RUNS_OF PICK OTHER_OF

# RUNS rounds, each round every server once, so drift on the machine hits all servers alike
for round in $(seq "$RUNS"); do
  for name in "${SERVERS[@]}"; do
    if [ -n "$ONLY" ] && [[ " $ONLY " != *" $name "* ]]; then continue; fi
    [ "${STATE[$name]:-ok}" = ok ] || continue
    if [[ $name == sluice-* ]] && [ ! -f dist/src/index.js ]; then
      echo "== $name: skipped, dist/src/index.js missing (npm run build)" >&2; STATE[$name]=skip; continue
    fi
    port=$(free_port)
    echo "== $name (run $round/$RUNS) on 127.0.0.1:$port" >&2
    if ! start_server "$name" "$port"; then STATE[$name]=fail; stop_server; continue; fi
    [ "$WARMUP" = 0 ] || run_wrk "$port" "$WARMUP" /dev/null
    # a run during which other processes took more than MAX_OTHER% of the machine is done again;
    # the least disturbed try counts
    best=
    for try in $(seq 0 "$RETRIES"); do
      wait_quiet
      out=$TMP/$name.$round.$try.wrk
      measure "$port" "$out"
      echo "   $(wrk_field rps "$out") req/s, latency avg $(wrk_field avg "$out") p99 $(wrk_field p99 "$out")," \
        "other processes ${OTHER}% CPU" >&2
      if [ -z "$best" ] || [ "$OTHER" -lt "${OTHER_OF[$name.$round]}" ]; then
        best=$try; OTHER_OF[$name.$round]=$OTHER; cp "$out" "$TMP/$name.$round.wrk"
      fi
      [ "$OTHER" -gt "$MAX_OTHER" ] || break
      [ "$try" = "$RETRIES" ] || echo "   disturbed, again" >&2
    done
    stop_server
    STATE[$name]=ok
    RUNS_OF[$name]+="$(wrk_field rps "$TMP/$name.$round.wrk") $round ${OTHER_OF[$name.$round]}"$'\n'
  done
done

# each server's median run among its undisturbed ones (all of them if none is); lower middle for an even count
for name in "${!RUNS_OF[@]}"; do
  PICK[$name]=$(printf '%s' "${RUNS_OF[$name]}" | sort -n | awk -v max="$MAX_OTHER" '
    { r[NR] = $2; if ($3 <= max) q[++n] = $2 }
    END { if (n > 0) print q[int((n + 1) / 2)]; else print r[int((NR + 1) / 2)] }')
done
field() { wrk_field "$2" "$TMP/$1.${PICK[$1]}.wrk"; }
# all runs in order; a disturbed one (other CPU > MAX_OTHER%) is marked with *
all_runs() {
  printf '%s' "${RUNS_OF[$1]}" | sort -k2 -n |
    awk -v max="$MAX_OTHER" '{ printf "%s%.0f%s", (NR > 1 ? ", " : ""), $1, ($3 > max ? "*" : "") }'
}

ratio() {
  [ -n "${PICK[node]:-}" ] || { echo "-"; return; }
  awk -v a="$(field "$1" rps)" -v b="$(field node rps)" 'BEGIN { printf "%.2fx", a / b }'
}

{
  echo "# Keep-alive hello"
  echo
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  rev=$(git rev-parse --short HEAD 2>/dev/null || echo '?')
  dirty=$(git status --porcelain -- src 2>/dev/null | wc -l)
  echo "- sluice: commit $rev$([ "$dirty" = 0 ] || echo " + $dirty uncommitted files in src/"), dist/ as built"
  echo "- node: $(node --version); $("$NGINX_BIN" -v 2>&1 | sed 's/^nginx version: //') + lua-nginx-module"
  echo "- CPU: $(lscpu | sed -n 's/^Model name: *//p' | head -n 1), $(nproc) cores; server on core $SERVER_CPU, wrk on core $CLIENT_CPU"
  echo "- each server: one process, 127.0.0.1, stock keep-alive settings; a ${WARMUP} warm-up run first (not recorded)"
  echo "- wrk: \`$WRK_CMD\`"
  if [ "$RUNS" -gt 1 ]; then
    echo "- $RUNS rounds (every server once per round); the row is each server's median undisturbed run;" \
      "all runs listed, * = disturbed (other CPU > ${MAX_OTHER}% even after $RETRIES retries)"
  fi
  echo "- other CPU: share of the $(nproc) cores used by processes other than the server and wrk during the run" \
    "(a run above ${MAX_OTHER}% is retried up to $RETRIES times, the least disturbed try kept)"
  echo
  local_head="| server | requests/s | vs Node http | latency avg | latency p99 | bytes/resp | errors | other CPU |"
  local_rule="|---|---:|---:|---:|---:|---:|---:|---:|"
  EMPTY=
  if [ "$RUNS" -gt 1 ]; then local_head+=" all runs (req/s) |"; local_rule+="---|"; EMPTY=" |"; fi
  echo "$local_head"
  echo "$local_rule"
  for name in "${SERVERS[@]}"; do
    case ${STATE[$name]:-} in
      '') ;;
      skip) echo "| ${LABEL[$name]} | not built | | | | | | |${EMPTY}" ;;
      fail) echo "| ${LABEL[$name]} | failed to start | | | | | | |${EMPTY}" ;;
      ok)
        printf '| %s | %.0f | %s | %s | %s | %s | %s | %s%% |' "${LABEL[$name]}" "$(field "$name" rps)" "$(ratio "$name")" \
          "$(field "$name" avg)" "$(field "$name" p99)" "$(field "$name" size)" "$(field "$name" errs)" \
          "${OTHER_OF[$name.${PICK[$name]}]}"
        if [ "$RUNS" -gt 1 ]; then printf ' %s |' "$(all_runs "$name")"; fi
        echo ;;
    esac
  done
} | tee "$OUT"
