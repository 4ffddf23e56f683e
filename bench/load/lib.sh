# Shared machinery of the wrk load scripts (hello.sh, static.sh, subrequest.sh, upstream.sh).
# Sourced from the repository root after `set -euo pipefail`. A script then sets
#   SERVERS=(names...)  the cases, in table order
#   LABEL[name]         the row's label;  PATH_OF[name] the wrk path (/);  CONNS_OF[name] wrk -c (CONNECTIONS)
#   EXPECT[name]        what `probe` must print before the server counts as ready (hello)
#   launch NAME PORT    a function that starts the server in the background, pinned to SERVER_CPU
#                       (its output goes to the case's log)
#   GROUP, BASE, TARGET_OF  for pair_table / ratio_lines: the test, the nginx case compared with, the target
# and calls run_rounds; each case's median run is then read with `field NAME rps|avg|p99|size|mibs|bytes|errs`.
#
# Env: DURATION=10s  CONNECTIONS=50  THREADS=1  WARMUP=2s (0 = none)  SERVER_CPU=0  CLIENT_CPU=1
#      RUNS=1 MAX_OTHER=5 RETRIES=2 QUIET_WAIT=120  ONLY="names"  SLUICE_NODE_FLAGS=  KEEP_TMP=1
#      BENCH_PORT=  BENCH_UPSTREAM_PORT=  BENCH_BACKEND_PORT=  fixed ports (default: a free one each time)

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
SLUICE_NODE_FLAGS=${SLUICE_NODE_FLAGS:-}
NGINX_MODULES=${NGINX_MODULES:-/usr/lib/nginx/modules}

declare -A LABEL=() PATH_OF=() CONNS_OF=() EXPECT=() GROUP=() BASE=() TARGET_OF=()
declare -A STATE=() RUNS_OF=() PICK=() OTHER_OF=() CPU_OF=() US_OF=() CLI_OF=()

for tool in wrk taskset node curl; do
  command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install -y wrk util-linux curl)" >&2; exit 1; }
done
NGINX_BIN=$(command -v nginx || echo /usr/sbin/nginx)

TMP=$(mktemp -d "${TMPDIR:-/tmp}/sluice-load.XXXXXX")
PIDS=()     # everything started, stopped on exit
BG_PIDS=()  # helpers that stay up across cases (a backend): not counted as "other" load

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

# nginx.conf in dir $1 (one process, lua loaded, private temp paths); the http block's body on stdin
nginx_conf() {
  local dir=$1
  mkdir -p "$dir/logs" "$dir/tmp"
  {
    cat <<EOF
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

EOF
    cat
    echo "}"
  } >"$dir/nginx.conf"
}

# the http block of one of bench/nginx/confs.ts's servers (the ones bench:nginx runs too), for
# nginx_conf: `nginx_site NAME ARGS... | nginx_conf DIR`; dist/ must be built (npm run build)
nginx_site() {
  node dist/bench/nginx/confs.js "$@"
}

# nginx with the config in dir $1, on core $2, in the background
run_nginx() {
  taskset -c "$2" "$NGINX_BIN" -p "$1" -c "$1/nginx.conf" -e "$1/logs/error.log" &
}

case_url() { echo "http://127.0.0.1:$2${PATH_OF[$1]:-/}"; }

# what the server answers on its case URL, for the readiness check (a script may redefine this)
probe() {
  curl -s --max-time 1 "$(case_url "$1" "$2")" 2>/dev/null || true
}

# start case $1 on port $2 (the script's `launch`), wait until `probe` prints EXPECT; sets SERVER_PID
start_server() {
  local name=$1 port=$2 log=$TMP/$1.log expect=${EXPECT[$1]:-hello}
  launch "$name" "$port" >"$log" 2>&1
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
  local i body
  for i in $(seq 100); do
    body=$(probe "$name" "$port")
    [ "$body" = "$expect" ] && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "$name did not answer '$expect' on 127.0.0.1:$port; its output:" >&2
  cat "$log" "$TMP/$name/logs/error.log" 2>/dev/null | tail -n 20 >&2
  return 1
}

# busy jiffies: all cores ($1 = all), one core ($1 = cpuN), or one process and its reaped children ($1 = pid)
jiffies() {
  if [ "$1" = all ]; then awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat
  elif [[ $1 == cpu* ]]; then awk -v c="$1" '$1 == c { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat
  else awk '{ sub(/^.*\) /, ""); print $12 + $13 + $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; fi
}

# jiffies of the server and the helpers together
server_jiffies() {
  local pid n
  n=$(jiffies "$SERVER_PID")
  for pid in "${BG_PIDS[@]}"; do n=$((n + $(jiffies "$pid"))); done
  echo "$n"
}

# the measured run: wrk into $2; OTHER = % of the machine's CPU used by anything but the server,
# its helpers and wrk; SRV_CPU = % of one core used by the server alone, SRV_US = its CPU µs per response;
# CLI_CPU = how busy wrk's core was
measure() {
  local port=$1 out=$2 t0 s0 b0 p0 c0 t1 s1 b1 p1 c1 secs
  t0=$(jiffies all); s0=$(server_jiffies); p0=$(jiffies "$SERVER_PID"); b0=$(jiffies $$); c0=$(jiffies "cpu$CLIENT_CPU")
  run_wrk "$port" "$DURATION" "$out" --latency
  t1=$(jiffies all); s1=$(server_jiffies); p1=$(jiffies "$SERVER_PID"); b1=$(jiffies $$); c1=$(jiffies "cpu$CLIENT_CPU")
  secs=$(awk '/^ *[0-9]+ requests in/ { v = $4; sub(/,$/, "", v)
           if (v ~ /ms$/) { sub(/ms$/, "", v); v /= 1000 } else if (v ~ /m$/) { sub(/m$/, "", v); v *= 60 } else sub(/s$/, "", v)
           print v }' "$out")
  OTHER=$(awk -v d="$(( (t1 - t0) - (s1 - s0) - (b1 - b0) ))" -v s="${secs:-1}" -v n="$(nproc)" \
    'BEGIN { v = 100 * d / (100 * s * n); printf "%.0f", v < 0 ? 0 : v }')
  SRV_CPU=$(awk -v d="$((p1 - p0))" -v s="${secs:-1}" 'BEGIN { printf "%.0f", d / s }')
  CLI_CPU=$(awk -v d="$((c1 - c0))" -v s="${secs:-1}" 'BEGIN { printf "%.0f", d / s }')
  SRV_US=$(awk -v d="$((p1 - p0))" '/^ *[0-9]+ requests in/ { if ($1 > 0) printf "%.1f", d * 10000 / $1 }' "$out")
}

# wait (at most QUIET_WAIT seconds) until other processes use at most MAX_OTHER% of the machine for 1s
wait_quiet() {
  local waited=0 t0 t1 s0 s1 busy
  while :; do
    t0=$(jiffies all); s0=$(server_jiffies); sleep 1; t1=$(jiffies all); s1=$(server_jiffies)
    busy=$(( 100 * ((t1 - t0) - (s1 - s0)) / (100 * $(nproc)) ))
    [ "$busy" -gt "$MAX_OTHER" ] && [ "$waited" -lt "$QUIET_WAIT" ] || break
    [ "$waited" -gt 0 ] || echo "   machine busy (${busy}% CPU), waiting up to ${QUIET_WAIT}s" >&2
    waited=$((waited + 1))
  done
}

# wrk on the current case (CASE_URL, CASE_CONNS) at port $1 for $2, output to $3;
# in the background so that `wait` lets a Ctrl-C reach the traps
run_wrk() {
  local port=$1 duration=$2 out=$3; shift 3
  taskset -c "$CLIENT_CPU" wrk -t"$THREADS" -c"$CASE_CONNS" -d"$duration" "$@" "$CASE_URL" >"$out" &
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
    # from the totals line ("N requests in 10.00s, 12.34GB read", finer than Transfer/sec; wrk's GB is 2^30):
    # MiB/s, and bytes on the wire per response
    mibs|bytes)
          awk -v f="$1" '/^ *[0-9]+ requests in/ { n = $1; t = $4; v = $5; sub(/,$/, "", t)
                 if (t ~ /ms$/) { sub(/ms$/, "", t); t /= 1000 } else if (t ~ /m$/) { sub(/m$/, "", t); t *= 60 } else sub(/s$/, "", t)
                 m = 1; if (v ~ /KB$/) m = 1024; else if (v ~ /MB$/) m = 1048576; else if (v ~ /GB$/) m = 1073741824
                 sub(/[KMG]?B$/, "", v); b = v * m
                 if (f == "mibs") printf "%.1f", b / t / 1048576; else if (n > 0) printf "%.0f", b / n }' "$2" ;;
    # socket errors + non-2xx/3xx responses
    errs) awk '/Socket errors:/ { gsub(/,/, ""); n += $4 + $6 + $8 + $10 }
               /Non-2xx or 3xx responses:/ { n += $5 }
               END { print n + 0 }' "$2" ;;
  esac
}

# RUNS rounds, each round every case once, so drift on the machine hits all cases alike; then
# PICK[name] = the round of each case's median undisturbed run
run_rounds() {
  local round name port best try out
  for round in $(seq "$RUNS"); do
    for name in "${SERVERS[@]}"; do
      if [ -n "$ONLY" ] && [[ " $ONLY " != *" $name "* ]]; then continue; fi
      [ "${STATE[$name]:-ok}" = ok ] || continue
      if [[ $name == sluice-* ]] && [ ! -f dist/src/index.js ]; then
        echo "== $name: skipped, dist/src/index.js missing (npm run build)" >&2; STATE[$name]=skip; continue
      fi
      port=${BENCH_PORT:-$(free_port)}
      CASE_URL=$(case_url "$name" "$port")
      CASE_CONNS=${CONNS_OF[$name]:-$CONNECTIONS}
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
          best=$try; OTHER_OF[$name.$round]=$OTHER; CPU_OF[$name.$round]=$SRV_CPU; US_OF[$name.$round]=$SRV_US; CLI_OF[$name.$round]=$CLI_CPU; cp "$out" "$TMP/$name.$round.wrk"
        fi
        [ "$OTHER" -gt "$MAX_OTHER" ] || break
        [ "$try" = "$RETRIES" ] || echo "   disturbed, again" >&2
      done
      stop_server
      STATE[$name]=ok
      RUNS_OF[$name]+="$(wrk_field rps "$TMP/$name.$round.wrk") $round ${OTHER_OF[$name.$round]}"$'\n'
    done
  done

  # each case's median run among its undisturbed ones (all of them if none is); lower middle for an even count
  for name in "${!RUNS_OF[@]}"; do
    PICK[$name]=$(printf '%s' "${RUNS_OF[$name]}" | sort -n | awk -v max="$MAX_OTHER" '
      { r[NR] = $2; if ($3 <= max) q[++n] = $2 }
      END { if (n > 0) print q[int((n + 1) / 2)]; else print r[int((NR + 1) / 2)] }')
  done
}

field() { wrk_field "$2" "$TMP/$1.${PICK[$1]}.wrk"; }

# the server's CPU µs per response in case $1's median run
cpu_us() { echo "${US_OF[$1.${PICK[$1]}]}"; }

# all runs in order; a disturbed one (other CPU > MAX_OTHER%) is marked with *
all_runs() {
  printf '%s' "${RUNS_OF[$1]}" | sort -k2 -n |
    awk -v max="$MAX_OTHER" '{ printf "%s%.0f%s", (NR > 1 ? ", " : ""), $1, ($3 > max ? "*" : "") }'
}

# the first lines of a result: date, sluice build, versions, CPU
env_lines() {
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  local rev dirty
  rev=$(git rev-parse --short HEAD 2>/dev/null || echo '?')
  dirty=$(git status --porcelain -- src 2>/dev/null | wc -l)
  echo "- sluice: commit $rev$([ "$dirty" = 0 ] || echo " + $dirty uncommitted files in src/"), dist/ as built"
  echo "- node: $(node --version); $("$NGINX_BIN" -v 2>&1 | sed 's/^nginx version: //') + lua-nginx-module"
  echo "- CPU: $(lscpu | sed -n 's/^Model name: *//p' | head -n 1), $(nproc) cores; server on core $SERVER_CPU, wrk on core $CLIENT_CPU"
}

# how the rows were chosen
method_lines() {
  if [ "$RUNS" -gt 1 ]; then
    echo "- $RUNS rounds (every server once per round); the row is each server's median undisturbed run;" \
      "all runs listed, * = disturbed (other CPU > ${MAX_OTHER}% even after $RETRIES retries)"
  fi
  echo "- other CPU: share of the $(nproc) cores used by processes other than the server and wrk during the run" \
    "(a run above ${MAX_OTHER}% is retried up to $RETRIES times, the least disturbed try kept)"
}

# what pair_table's columns mean
pair_lines() {
  echo "- MiB/s and bytes/resp: from wrk's total bytes read (headers included); server CPU: the measured server" \
    "process's CPU time over the run, % of one core (100% = the server is the bottleneck), and per response;" \
    "client core: how busy" \
    "wrk's core $CLIENT_CPU was (near 100% = the client side is the bottleneck)"
}

# sluice against nginx: one row per case in SERVERS order; BASE[name] is the nginx case a sluice
# case is compared with, GROUP[name] the test it belongs to
pair_table() {
  local head="| test | server | requests/s | MiB/s | vs nginx | latency avg | latency p99 | bytes/resp | server CPU | server µs/resp | client core | errors | other CPU |"
  local rule="|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  local empty=" | | | | | | | | | |" name vs
  if [ "$RUNS" -gt 1 ]; then head+=" all runs (req/s) |"; rule+="---|"; empty+=" |"; fi
  echo "$head"
  echo "$rule"
  for name in "${SERVERS[@]}"; do
    case ${STATE[$name]:-} in
      '') ;;
      skip) echo "| ${GROUP[$name]} | ${LABEL[$name]} | not built |${empty}" ;;
      fail) echo "| ${GROUP[$name]} | ${LABEL[$name]} | failed to start |${empty}" ;;
      ok)
        vs=
        if [ -n "${BASE[$name]:-}" ] && [ -n "${PICK[${BASE[$name]}]:-}" ]; then
          vs=$(awk -v a="$(field "$name" rps)" -v b="$(field "${BASE[$name]}" rps)" 'BEGIN { printf "%.2fx", a / b }')
        elif [[ " ${BASE[*]} " == *" $name "* ]]; then vs=1.00x
        fi
        printf '| %s | %s | %.0f | %s | %s | %s | %s | %s | %s%% | %s | %s%% | %s | %s%% |' "${GROUP[$name]}" "${LABEL[$name]}" \
          "$(field "$name" rps)" "$(field "$name" mibs)" "${vs:--}" "$(field "$name" avg)" "$(field "$name" p99)" \
          "$(field "$name" bytes)" "${CPU_OF[$name.${PICK[$name]}]}" "$(cpu_us "$name")" "${CLI_OF[$name.${PICK[$name]}]}" \
          "$(field "$name" errs)" "${OTHER_OF[$name.${PICK[$name]}]}"
        if [ "$RUNS" -gt 1 ]; then printf ' %s |' "$(all_runs "$name")"; fi
        echo ;;
    esac
  done
}

# "sluice / nginx = 0.83x (target >= 0.7x: met)" for the pairs in BASE, one line each; the target
# is $1 unless TARGET_OF[name] says otherwise ("" = none)
ratio_lines() {
  local name target r
  for name in "${SERVERS[@]}"; do
    [ -n "${BASE[$name]:-}" ] && [ -n "${PICK[$name]:-}" ] && [ -n "${PICK[${BASE[$name]}]:-}" ] || continue
    target=${TARGET_OF[$name]-$1}
    r=$(awk -v a="$(field "$name" rps)" -v b="$(field "${BASE[$name]}" rps)" 'BEGIN { printf "%.2f", a / b }')
    echo "- ${GROUP[$name]}: $([[ $name == sluice-* ]] && echo sluice || echo "$name") / nginx = ${r}x$([ -z "$target" ] || awk -v r="$r" -v t="$target" \
      'BEGIN { printf " (target >= %sx: %s)", t, (r >= t ? "met" : "NOT met") }')"
  done
}
