#!/usr/bin/env bash
# Upstreams under wrk, sluice against nginx + lua:
#   the md5 scenario (examples/md5) in its capture form (a capture of an internal proxyPass location,
#   upstream keepalive 20) and its client form (sluice's HttpClient / a cosocket, keepalive pool 20),
#   front and md5 backend in one process on one core for both; and a 1 MiB pass-through
#   (proxyPass / proxy_pass, keepalive 20) to one nginx static backend that both proxies share.
# Run from anywhere: `bash bench/load/upstream.sh` (sluice from dist/: `npm run build` first) or
# `npm run bench:load:upstream`. The table is printed and written to bench/load/last-upstream.md (OUT=...).
#
# Env: as hello.sh (DURATION=10s CONNECTIONS=50 THREADS=1 WARMUP=2s SERVER_CPU=0 CLIENT_CPU=1 RUNS=1
#      MAX_OTHER=5 RETRIES=2 QUIET_WAIT=120 SLUICE_NODE_FLAGS= KEEP_TMP=1), and
#      BIG_CONNECTIONS=10   wrk -c for the 1 MiB pass-through
#      BACKEND_CPU=0        the core of the pass-through's backend (default: the proxy's, SERVER_CPU; on wrk's
#                           core the client side saturates first, see bench/RESULTS.md)
#      TARGET=0.7           the sluice / nginx ratio asked for
#      ONLY="sluice-capture nginx-capture"   a subset (names: sluice-capture nginx-capture sluice-client
#                           nginx-cosocket sluice-proxy nginx-proxy nginx-proxy-64k; and the references
#                           node-client (Node's http + Agent) and net-client (bare node:net, no parsing))
set -euo pipefail

cd "$(dirname "$0")/../.."
. bench/load/lib.sh  # the knobs, pinning, quiet-wait, retries, medians, cleanup on exit

OUT=${OUT:-bench/load/last-upstream.md}
BIG_CONNECTIONS=${BIG_CONNECTIONS:-10}
BACKEND_CPU=${BACKEND_CPU:-$SERVER_CPU}
TARGET=${TARGET:-0.7}
KEY=00cfec5ac162e3df13cb9f3111193760  # md5("hello" .. "sluice-salt")
MD5_PATH="/test?data=hello&key=$KEY"

SERVERS=(sluice-capture nginx-capture sluice-client nginx-cosocket node-client net-client sluice-proxy nginx-proxy nginx-proxy-64k)
LABEL=(
  [sluice-capture]="sluice \`md5CaptureConfig\`"
  [nginx-capture]="nginx + lua \`ngx.location.capture\` + \`proxy_pass\`"
  [sluice-client]="sluice \`md5ClientConfig\` (HttpClient)"
  [nginx-cosocket]="nginx + lua \`ngx.socket.tcp\` (md5_cosocket.lua)"
  [node-client]="reference: Node \`http\` server + \`http.Agent\` (node-md5.mjs)"
  [net-client]="reference: bare \`node:net\`, no HTTP parsing (net-md5.mjs)"
  [sluice-proxy]="sluice \`proxyPass\`"
  [nginx-proxy]="nginx \`proxy_pass\` (stock buffering)"
  [nginx-proxy-64k]="nginx \`proxy_pass\`, \`proxy_buffers 8 64k\`"
)
GROUP=([sluice-capture]="md5, capture form" [nginx-capture]="md5, capture form"
       [sluice-client]="md5, client form" [nginx-cosocket]="md5, client form"
       [node-client]="md5, client form" [net-client]="md5, client form"
       [sluice-proxy]="1 MiB pass-through, -c$BIG_CONNECTIONS" [nginx-proxy]="1 MiB pass-through, -c$BIG_CONNECTIONS"
       [nginx-proxy-64k]="1 MiB pass-through, -c$BIG_CONNECTIONS")
BASE=([sluice-capture]=nginx-capture [sluice-client]=nginx-cosocket [sluice-proxy]=nginx-proxy
      [node-client]=nginx-cosocket [net-client]=nginx-cosocket)
# the 0.7x target is the md5 scenario's; the references show what Node itself reaches here
TARGET_OF=([sluice-proxy]="" [node-client]="" [net-client]="")
for name in "${SERVERS[@]}"; do
  case $name in
    *proxy*) PATH_OF[$name]=/1m.txt; CONNS_OF[$name]=$BIG_CONNECTIONS; EXPECT[$name]=1048576 ;;
    *) PATH_OF[$name]=$MD5_PATH; EXPECT[$name]="valid request" ;;
  esac
done

# ready = "valid request", or the whole 1 MiB through the proxy
probe() {
  case $1 in
    *proxy*) curl -s --max-time 2 -o /dev/null -w '%{size_download}' "$(case_url "$1" "$2")" 2>/dev/null || true ;;
    *) curl -s --max-time 1 "$(case_url "$1" "$2")" 2>/dev/null || true ;;
  esac
}

# the pass-through's backend: nginx serving the 1 MiB file, started once, shared by both proxies
BACKEND_PORT=
start_backend() {
  [ -z "$BACKEND_PORT" ] || return 0
  local dir=$TMP/backend
  mkdir -p "$TMP/www"
  head -c 786432 /dev/urandom | base64 -w 0 >"$TMP/www/1m.txt"
  BACKEND_PORT=${BENCH_BACKEND_PORT:-$(free_port)}
  nginx_site static "$BACKEND_PORT" "$TMP/www" | nginx_conf "$dir"
  run_nginx "$dir" "$BACKEND_CPU" >"$TMP/backend.log" 2>&1
  PIDS+=("$!"); BG_PIDS+=("$!")
  local i
  for i in $(seq 50); do
    [ "$(curl -s -o /dev/null -w '%{size_download}' "http://127.0.0.1:$BACKEND_PORT/1m.txt")" = 1048576 ] && return 0
    sleep 0.1
  done
  echo "the backend did not serve /1m.txt on 127.0.0.1:$BACKEND_PORT" >&2
  cat "$TMP/backend.log" "$dir/logs/error.log" >&2
  exit 1
}

launch() {
  local name=$1 port=$2 port2
  case $name in
    *proxy*) start_backend; port2=$BACKEND_PORT ;;
    *) port2=${BENCH_UPSTREAM_PORT:-$(free_port)} ;;  # the md5 backend, a second server block in the same process
  esac
  case $name in
    # shellcheck disable=SC2086
    sluice-*) taskset -c "$SERVER_CPU" node $SLUICE_NODE_FLAGS bench/load/sluice-upstream.mjs "$port" "${name#sluice-}" "$port2" & ;;
    node-client) taskset -c "$SERVER_CPU" node bench/load/node-md5.mjs "$port" "$port2" & ;;
    net-client) taskset -c "$SERVER_CPU" node bench/load/net-md5.mjs "$port" "$port2" & ;;
    nginx-capture)
      nginx_site md5-capture "$port" "$port2" | nginx_conf "$TMP/$name"
      run_nginx "$TMP/$name" "$SERVER_CPU" ;;
    nginx-cosocket)
      nginx_site md5-cosocket "$port" "$port2" | nginx_conf "$TMP/$name"
      run_nginx "$TMP/$name" "$SERVER_CPU" ;;
    nginx-proxy | nginx-proxy-64k)
      nginx_site "${name#nginx-}" "$port" "$port2" | nginx_conf "$TMP/$name"
      run_nginx "$TMP/$name" "$SERVER_CPU" ;;
  esac
}

run_rounds

{
  echo "# Upstreams"
  echo
  env_lines
  echo "- md5 scenario (examples/md5): \`GET $MD5_PATH\` must answer \"valid request\" (checked before measuring)." \
    "Front and md5 backend are two server blocks of one process on core $SERVER_CPU, for sluice and for nginx"
  echo "  - capture form: sluice \`md5CaptureConfig\`; nginx \`ngx.location.capture('/spe_md5', { method = ngx.HTTP_POST, body = args.data })\`" \
    "of \`location = /spe_md5 { internal; proxy_pass http://md5_server; proxy_http_version 1.1; proxy_set_header Connection \"\"; }\`," \
    "\`upstream md5_server { keepalive 20; }\`"
  echo "  - client form: sluice \`md5ClientConfig\` (\`HttpClient.requestUri\`, keepalivePool 20); nginx \`bench/load/md5_cosocket.lua\`" \
    "(\`ngx.socket.tcp\`, POST with Content-Length, response read by Content-Length or chunked, \`setkeepalive(60000, 20)\`)"
  echo "  - backend, both: read the body, print md5(body .. 'sluice-salt') (a chunked response)"
  echo "- 1 MiB pass-through: \`GET /1m.txt\` through sluice \`proxyPass: 'http://backend'\` / nginx \`proxy_pass http://backend\`" \
    "(\`proxy_http_version 1.1\`, \`Connection \"\"\`), \`upstream backend { keepalive 20 }\`, to one nginx static backend" \
    "(\`sendfile on; tcp_nopush on\`), a separate process on core $BACKEND_CPU, started once and used by both proxies; nginx stock, and with \`proxy_buffer_size 64k; proxy_buffers 8 64k;" \
    "proxy_busy_buffers_size 128k\` (the size of Node's socket reads)"
  echo "- wrk: \`taskset -c $CLIENT_CPU wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency 'http://127.0.0.1:PORT$MD5_PATH'\`," \
    "and \`-c$BIG_CONNECTIONS\` for \`/1m.txt\`; a ${WARMUP} warm-up run first (not recorded)"
  method_lines
  pair_lines
  echo "  (for the pass-through: the proxy's alone, not the backend's)"
  echo
  pair_table
  echo
  ratio_lines "$TARGET"
  if [ -n "${PICK[sluice-proxy]:-}" ] && [ -n "${PICK[nginx-proxy-64k]:-}" ]; then
    echo "- 1 MiB pass-through: sluice / nginx with 64k buffers =" \
      "$(awk -v a="$(field sluice-proxy rps)" -v b="$(field nginx-proxy-64k rps)" 'BEGIN { printf "%.2fx", a / b }')"
  fi
} | tee "$OUT"
