#!/usr/bin/env bash
# Subrequests under wrk: sluice's r.location.capture / captureMulti against OpenResty's
# ngx.location.capture / capture_multi, of internal locations that return "hello\n".
# Run from anywhere: `bash bench/load/subrequest.sh` (sluice from dist/: `npm run build` first) or
# `npm run bench:load:subrequest`. The table is printed and written to bench/load/last-subrequest.md (OUT=...).
#
# Env: as hello.sh (DURATION=10s CONNECTIONS=50 THREADS=1 WARMUP=2s SERVER_CPU=0 CLIENT_CPU=1 RUNS=1
#      MAX_OTHER=5 RETRIES=2 QUIET_WAIT=120 SLUICE_NODE_FLAGS= KEEP_TMP=1), and
#      TARGET=0.7           the sluice / nginx ratio asked for
#      ONLY="sluice-capture nginx-capture"   a subset (names: sluice-direct nginx-direct sluice-capture
#                           nginx-capture sluice-multi nginx-multi; direct = the same handler without a capture)
set -euo pipefail

cd "$(dirname "$0")/../.."
. bench/load/lib.sh  # the knobs, pinning, quiet-wait, retries, medians, cleanup on exit

OUT=${OUT:-bench/load/last-subrequest.md}
TARGET=${TARGET:-0.7}

SERVERS=(sluice-direct nginx-direct sluice-capture nginx-capture sluice-multi nginx-multi)
LABEL=(
  [sluice-direct]="sluice \`r.print('hello\\n')\`"
  [nginx-direct]="nginx + lua \`ngx.print(\"hello\\n\")\`"
  [sluice-capture]="sluice \`r.location.capture('/sub')\`"
  [nginx-capture]="nginx + lua \`ngx.location.capture('/sub')\`"
  [sluice-multi]="sluice \`r.location.captureMulti([...3])\`"
  [nginx-multi]="nginx + lua \`ngx.location.capture_multi({...3})\`"
)
GROUP=([sluice-direct]="no capture (baseline)" [nginx-direct]="no capture (baseline)"
       [sluice-capture]="one capture" [nginx-capture]="one capture"
       [sluice-multi]="captureMulti of 3" [nginx-multi]="captureMulti of 3")
BASE=([sluice-direct]=nginx-direct [sluice-capture]=nginx-capture [sluice-multi]=nginx-multi)
TARGET_OF=([sluice-direct]="")  # the baseline: what a request costs without a capture
PATH_OF=([sluice-direct]=/direct [nginx-direct]=/direct [sluice-capture]=/capture [nginx-capture]=/capture [sluice-multi]=/multi [nginx-multi]=/multi)
EXPECT=([sluice-multi]=$'hello\nhello\nhello' [nginx-multi]=$'hello\nhello\nhello')

launch() {
  local name=$1 port=$2
  case $name in
    # shellcheck disable=SC2086
    sluice-*) taskset -c "$SERVER_CPU" node $SLUICE_NODE_FLAGS bench/load/sluice-subrequest.mjs "$port" & ;;
    nginx-*)
      nginx_site subrequest "$port" | nginx_conf "$TMP/$name"
      run_nginx "$TMP/$name" "$SERVER_CPU" ;;
  esac
}

run_rounds

{
  echo "# Subrequests"
  echo
  env_lines
  echo "- sluice: \`bench/load/sluice-subrequest.mjs\`: \`/direct\` is \`r.print('hello\\n')\` with no capture (the baseline);" \
    "\`/capture\` awaits \`r.location.capture('/sub')\` and \`r.print(res.body)\`;" \
    "\`/multi\` awaits \`r.location.captureMulti(['/sub', '/sub2', '/sub3'])\` and prints the three bodies;" \
    "each \`/subN\` is \`{ internal: true, return: [200, 'hello\\n'] }\`; accessLog off"
  echo "- nginx: the same with \`content_by_lua_block\`, \`ngx.location.capture\` / \`ngx.location.capture_multi\`," \
    "\`ngx.print\` (\`/direct\`: \`ngx.print(\"hello\\n\")\` alone), and \`location = /subN { internal; return 200 \"hello\\n\"; }\`; access_log off," \
    "worker_processes 1, master_process off"
  echo "- wrk: \`taskset -c $CLIENT_CPU wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency http://127.0.0.1:PORT/capture\`" \
    "(and \`/direct\`, \`/multi\`); a ${WARMUP} warm-up run first (not recorded)"
  method_lines
  pair_lines
  echo
  pair_table
  echo
  ratio_lines "$TARGET"
  # what the captures add to a request, from the server CPU per response
  local_srv=
  for side in sluice nginx; do
    [ -n "${PICK[$side-direct]:-}" ] || continue
    [ -z "${PICK[$side-capture]:-}" ] || local_srv+="$side $(awk -v a="$(cpu_us "$side-capture")" -v b="$(cpu_us "$side-direct")" 'BEGIN { printf "%.1f", a - b }') µs for one capture"
    [ -z "${PICK[$side-multi]:-}" ] || local_srv+=", $(awk -v a="$(cpu_us "$side-multi")" -v b="$(cpu_us "$side-direct")" 'BEGIN { printf "%.1f", (a - b) / 3 }') µs per subrequest of captureMulti; "
  done
  [ -z "$local_srv" ] || echo "- server CPU added by the captures (minus the baseline): ${local_srv%; }"
} | tee "$OUT"
