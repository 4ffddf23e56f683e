#!/usr/bin/env bash
# Builds the libFuzzer harness natively over the parser's generated C and glue:
#   bash tools/fuzz/build.sh [OUT]   (default tools/fuzz/out/parser_fuzz)
# Needs Debian clang 14 and libclang-rt-14-dev (the fuzzer and sanitizer runtimes). CLANG overrides.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${1:-tools/fuzz/out/parser_fuzz}
P=src/http/parser
mkdir -p "$(dirname "$OUT")"
# -Wno-unknown-attributes: the wasm export/import attributes mean nothing natively
"${CLANG:-clang}" -g -O1 -fno-omit-frame-pointer \
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -Wall -Wextra -Wno-unused-parameter -Wno-unknown-attributes -Werror \
  -o "$OUT" tools/fuzz/parser_fuzz.c "$P/generated/parser.c" "$P/c/api.c" "$P/c/http.c" "$P/c/spans.c"
echo "built $OUT"
