#!/usr/bin/env bash
# Time from exec to the first 200 of discovery + JWKS, in an empty folder (first start) and on restart.
set -u
BIN=${1:-$(cd "$(dirname "$0")/.." && pwd)/target/release/tessera}
PORT=${PORT:-18181}
measure() {
  local start=$(date +%s.%N)
  TESSERA_LISTEN=127.0.0.1:$PORT TESSERA_ISSUER=http://127.0.0.1:$PORT/ TESSERA_LOG=warn "$BIN" serve >/dev/null 2>&1 &
  local pid=$!
  until curl -sf -o /dev/null http://127.0.0.1:$PORT/.well-known/openid-configuration && curl -sf -o /dev/null http://127.0.0.1:$PORT/.well-known/jwks.json; do sleep 0.005; done
  local end=$(date +%s.%N)
  kill -TERM $pid; wait $pid
  echo "$2: $(echo "$end - $start" | bc) s"
}
for i in 1 2 3 4 5; do
  d=$(mktemp -d); cd "$d"
  measure first "first start"
  measure again "restart"
  cd /; rm -rf "$d"
done
