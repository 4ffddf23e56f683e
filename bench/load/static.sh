#!/usr/bin/env bash
# Static files under wrk: sluice (`root`) against nginx (`sendfile on; tcp_nopush on`), a 4 KiB and a 1 MiB file.
# Run from anywhere: `bash bench/load/static.sh` (sluice from dist/: `npm run build` first) or `npm run bench:load:static`.
# The table is printed and written to bench/load/last-static.md (OUT=...).
#
# Env: as hello.sh (DURATION=10s CONNECTIONS=50 THREADS=1 WARMUP=2s SERVER_CPU=0 CLIENT_CPU=1 RUNS=1
#      MAX_OTHER=5 RETRIES=2 QUIET_WAIT=120 SLUICE_NODE_FLAGS= KEEP_TMP=1), and
#      BIG_CONNECTIONS=10    wrk -c for the 1 MiB file (50 connections of 1 MiB only queue up in the socket buffers)
#      ONLY="sluice-1m nginx-1m"   run a subset (names: sluice-4k nginx-4k sluice-1m nginx-1m)
set -euo pipefail

cd "$(dirname "$0")/../.."
. bench/load/lib.sh  # the knobs, pinning, quiet-wait, retries, medians, cleanup on exit

OUT=${OUT:-bench/load/last-static.md}
BIG_CONNECTIONS=${BIG_CONNECTIONS:-10}

SERVERS=(sluice-4k nginx-4k sluice-1m nginx-1m)
LABEL=(
  [sluice-4k]="sluice \`root\`" [nginx-4k]="nginx \`sendfile on; tcp_nopush on\`"
  [sluice-1m]="sluice \`root\`" [nginx-1m]="nginx \`sendfile on; tcp_nopush on\`"
)
GROUP=([sluice-4k]="4 KiB file, -c$CONNECTIONS" [nginx-4k]="4 KiB file, -c$CONNECTIONS"
       [sluice-1m]="1 MiB file, -c$BIG_CONNECTIONS" [nginx-1m]="1 MiB file, -c$BIG_CONNECTIONS")
BASE=([sluice-4k]=nginx-4k [sluice-1m]=nginx-1m)
PATH_OF=([sluice-4k]=/4k.txt [nginx-4k]=/4k.txt [sluice-1m]=/1m.txt [nginx-1m]=/1m.txt)
CONNS_OF=([sluice-1m]=$BIG_CONNECTIONS [nginx-1m]=$BIG_CONNECTIONS)
EXPECT=([sluice-4k]=4096 [nginx-4k]=4096 [sluice-1m]=1048576 [nginx-1m]=1048576)

# the files: printable random text, so no filter treats them specially
WWW=$TMP/www
mkdir -p "$WWW"
head -c 3072 /dev/urandom | base64 -w 0 >"$WWW/4k.txt"
head -c 786432 /dev/urandom | base64 -w 0 >"$WWW/1m.txt"

# ready = the whole file comes back
probe() {
  curl -s --max-time 2 -o /dev/null -w '%{size_download}' "$(case_url "$1" "$2")" 2>/dev/null || true
}

launch() {
  local name=$1 port=$2
  case $name in
    # shellcheck disable=SC2086
    sluice-*) taskset -c "$SERVER_CPU" node $SLUICE_NODE_FLAGS bench/load/sluice-static.mjs "$port" "$WWW" & ;;
    nginx-*)
      nginx_site static "$port" "$WWW" | nginx_conf "$TMP/$name"
      run_nginx "$TMP/$name" "$SERVER_CPU" ;;
  esac
}

run_rounds

{
  echo "# Static files"
  echo
  env_lines
  echo "- files: 4 KiB and 1 MiB of text, in a fresh temp dir (page cache warm after the readiness check)"
  echo "- sluice: \`locations: { '/': { root } }\`, accessLog off; nginx: \`sendfile on; tcp_nopush on;\`" \
    "\`location / { root ...; }\`, access_log off, worker_processes 1, master_process off"
  echo "- wrk: \`taskset -c $CLIENT_CPU wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency http://127.0.0.1:PORT/4k.txt\`," \
    "and \`-c$BIG_CONNECTIONS\` for \`/1m.txt\`; a ${WARMUP} warm-up run first (not recorded)"
  method_lines
  pair_lines
  echo
  pair_table
  echo
  ratio_lines ""  # no target was set for static files
} | tee "$OUT"
