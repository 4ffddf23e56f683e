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
. bench/load/lib.sh  # the knobs above, pinning, quiet-wait, retries, medians, cleanup on exit

OUT=${OUT:-bench/load/last-hello.md}

SERVERS=(sluice-say sluice-return node net nginx)
LABEL=(
  [sluice-say]="sluice, content \`r.say('hello')\`"
  [sluice-return]="sluice, \`return: [200, 'hello\\n']\`"
  [node]="Node \`http\`"
  [net]="bare \`node:net\` (no parsing)"
  [nginx]="nginx + lua \`ngx.say(\"hello\")\`"
)

# start server $1 on port $2, pinned to SERVER_CPU (start_server waits for "hello")
launch() {
  local name=$1 port=$2
  case $name in
    # shellcheck disable=SC2086
    sluice-say)    taskset -c "$SERVER_CPU" node $SLUICE_NODE_FLAGS bench/load/sluice-hello.mjs "$port" say & ;;
    # shellcheck disable=SC2086
    sluice-return) taskset -c "$SERVER_CPU" node $SLUICE_NODE_FLAGS bench/load/sluice-hello.mjs "$port" return & ;;
    node)          taskset -c "$SERVER_CPU" node bench/load/node-hello.mjs "$port" & ;;
    net)           taskset -c "$SERVER_CPU" node bench/load/net-hello.mjs "$port" & ;;
    nginx)
      nginx_site hello "$port" | nginx_conf "$TMP/nginx"
      run_nginx "$TMP/nginx" "$SERVER_CPU" ;;
  esac
}

WRK_CMD="taskset -c $CLIENT_CPU wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency http://127.0.0.1:PORT/"
run_rounds

ratio() {
  [ -n "${PICK[node]:-}" ] || { echo "-"; return; }
  awk -v a="$(field "$1" rps)" -v b="$(field node rps)" 'BEGIN { printf "%.2fx", a / b }'
}

{
  echo "# Keep-alive hello"
  echo
  env_lines
  echo "- each server: one process, 127.0.0.1, stock keep-alive settings; a ${WARMUP} warm-up run first (not recorded)"
  echo "- wrk: \`$WRK_CMD\`"
  method_lines
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
