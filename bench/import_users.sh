#!/usr/bin/env bash
# Imports 100,000 users (bcrypt hashes, cost 4: an import stores hashes, it does
# not verify them) into a fresh server on SQLite and prints the time from the
# start of the upload to the job's completion.
# Usage: bench/import_users.sh [path/to/tessera] (default: target/release/tessera)
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${1:-$ROOT/target/release/tessera}
N=${N:-100000}
PORT=${PORT:-18282}
BASE=http://127.0.0.1:$PORT
ID=bench-admin
SECRET=bench-admin-secret-0123456789-abcdefghijkl
DIR=$(mktemp -d)
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$DIR"' EXIT
# Four cost-4 hashes made once by Python's bcrypt, cycled.
python3 - "$N" > "$DIR/users.json" <<'PY'
import json, sys
hashes = ["$2b$04$XTjyhGGnvBvhrqiddovlA.ILsUtEW037zygaxC8/IpGkY2YzW7VLS",
          "$2b$04$9Wi8mYi4oO3Kv0zPuJFC/OaO2PHfU6hh74qAltC5cpSJde.LGcH.q",
          "$2b$04$aqz2T6GPwfmtD/MU4XVS9eGFwd./XQelC0aOqgdezBfjId2ENoi/O",
          "$2b$04$vph3xFzb/rRaWwcPCmgY5O4fY4Gj1nmJzdN3hkYzUxgvNIkf7PDiy"]
n = int(sys.argv[1])
sys.stdout.write("[")
for i in range(n):
    if i:
        sys.stdout.write(",\n")
    sys.stdout.write(json.dumps({"email": f"user{i}@bench.example", "email_verified": True,
        "user_id": f"bench{i:08d}", "given_name": "Bench", "family_name": f"User {i}",
        "app_metadata": {"plan": "free"}, "user_metadata": {"n": i},
        "password_hash": hashes[i % 4]}))
sys.stdout.write("]")
PY
echo "file: $(du -h "$DIR/users.json" | cut -f1), $N users"
cd "$DIR"
TESSERA_LISTEN=127.0.0.1:$PORT TESSERA_ISSUER=$BASE/ TESSERA_LOG=warn \
  TESSERA_BOOTSTRAP_CLIENT_ID=$ID TESSERA_BOOTSTRAP_CLIENT_SECRET=$SECRET \
  TESSERA_REQUEST_TIMEOUT=300 "$BIN" serve >"$DIR/server.log" 2>&1 &
PID=$!
until curl -sf -o /dev/null $BASE/.well-known/openid-configuration; do sleep 0.1; done
TOKEN=$(curl -sf $BASE/oauth/token -d grant_type=client_credentials -d client_id=$ID \
  -d client_secret=$SECRET -d audience=$BASE/api/v2/ | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
CONN=$(curl -sf -H "authorization: Bearer $TOKEN" "$BASE/api/v2/connections" \
  | python3 -c 'import json,sys; print([c for c in json.load(sys.stdin) if c["strategy"] == "auth0"][0]["id"])')
START=$(date +%s.%N)
JOB=$(curl -sf -H "authorization: Bearer $TOKEN" -F "users=@$DIR/users.json;type=application/json" \
  -F connection_id=$CONN $BASE/api/v2/jobs/users-imports | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
UPLOADED=$(date +%s.%N)
while :; do
  STATUS=$(curl -sf -H "authorization: Bearer $TOKEN" $BASE/api/v2/jobs/$JOB)
  # The job's state (not the summary's `failed` count, which every answer has).
  STATE=$(echo "$STATUS" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')
  case "$STATE" in completed|failed) break ;; esac
  sleep 0.5
done
END=$(date +%s.%N)
echo "job: $STATUS"
echo "upload: $(echo "$UPLOADED - $START" | bc) s; upload to completion: $(echo "$END - $START" | bc) s"
