#!/usr/bin/env bash
# Builds the parser fuzzer and runs it for SECONDS (default 60); exits non-zero on any crash,
# sanitizer report, invariant failure (abort) or hang.
#   bash tools/fuzz/run.sh [SECONDS]
# Work files go to tools/fuzz/out/ (corpus, seeds, crash-* artifacts); not committed.
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_TO_RUN=${1:-60}
OUT=tools/fuzz/out
bash tools/fuzz/build.sh "$OUT/parser_fuzz"
rm -rf "$OUT/seeds"
node tools/fuzz/seeds.mjs "$OUT/seeds"
mkdir -p "$OUT/corpus"
# every input that once failed must pass first (tools/fuzz/regressions: control header + bytes)
mapfile -t REGRESSIONS < <(find tools/fuzz/regressions -type f ! -name '*.md' | sort)
if [ "${#REGRESSIONS[@]}" -gt 0 ]; then
  "$OUT/parser_fuzz" "${REGRESSIONS[@]}" 2>&1 | tail -n 1
fi
exec "$OUT/parser_fuzz" -max_total_time="$SECONDS_TO_RUN" -timeout=10 -rss_limit_mb=2048 \
  -print_final_stats=1 -artifact_prefix="$OUT/" "$OUT/corpus" "$OUT/seeds"
