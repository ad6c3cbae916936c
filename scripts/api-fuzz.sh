#!/usr/bin/env bash
# Property-based fuzzing of the whole API from its own OpenAPI document with
# schemathesis, against a real `photopro-api serve` (SQLite + embedded store
# in a temp dir on 127.0.0.1). Fails on any 5xx and on any response that does
# not match the document (status, content type, schema).
#
#   scripts/api-fuzz.sh                 # bounded run (a few minutes at most)
#   API_FUZZ_MAX_EXAMPLES=200 scripts/api-fuzz.sh
#
# Device routes are fuzzed with a device token, admin routes with the admin
# token, the rest with no credentials. Reports land in $API_FUZZ_REPORT_DIR
# (default: a temp dir, printed at the end).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$repo_root"

max_examples="${API_FUZZ_MAX_EXAMPLES:-25}"
max_time="${API_FUZZ_MAX_SECONDS:-45}"   # per pass (fuzzing repeats until spent); four passes

pip_install() {
  python3 -m pip install -q --user "$@" 2>/dev/null \
    || python3 -m pip install -q --user --break-system-packages "$@"
}
if ! command -v schemathesis >/dev/null 2>&1; then
  echo "Installing schemathesis (PyPI) for the API fuzz run"
  pip_install "schemathesis>=4,<5"
fi

cargo build -q -p photopro-api
api="$CARGO_TARGET_DIR/debug/photopro-api"

work="$(mktemp -d)"
report_dir="${API_FUZZ_REPORT_DIR:-$work/report}"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  if [ -z "${API_FUZZ_REPORT_DIR:-}" ] && [ "${keep_work:-0}" -eq 0 ]; then rm -rf "$work"; fi
}
trap cleanup EXIT

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
base="http://127.0.0.1:$port"
admin_token="ppa_fuzz_$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
export PHOTOPRO_DATA_DIR="$work/data" PHOTOPRO_ADMIN_TOKEN="$admin_token"

org_id="$("$api" admin create-org --name "Fuzz Photography" --tier PRO | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')"
issue_token() {
  "$api" admin issue-token --org "$org_id" --device-name "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])'
}
device_token="$(issue_token Fuzzer)"
# Revocation gets its own device: schemathesis reuses IDs it saw in responses,
# so fuzzing DELETE /v1/devices/{id} with the main token would revoke it.
revoke_token="$(issue_token "Fuzzer (revocation)")"

# Rate limits off: the fuzzer's deliberate bad credentials would otherwise use
# up 127.0.0.1's failed-authentication budget and leave everything else 429
# (the limits have their own tests in crates/api/tests/api/hygiene.rs).
RUST_LOG="${RUST_LOG:-warn}" "$api" serve --listen "127.0.0.1:$port" \
  --rate-failed-auth 0 --rate-pairing-attempts 0 --rate-pairing-codes 0 \
  >"$work/serve.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 200); do
  if curl -fsS "$base/readyz" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$server_pid" 2>/dev/null; then cat "$work/serve.log" >&2; echo "photopro-api serve exited" >&2; exit 1; fi
  sleep 0.1
done
curl -fsS "$base/readyz" >/dev/null

checks="not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
status=0
run_pass() {
  local name="$1"; shift
  echo "== schemathesis: $name"
  # From the temp dir, so schemathesis's caches (.hypothesis/, .schemathesis/) stay out of the repository.
  (cd "$work" && schemathesis run "$base/openapi.json" \
    --checks "$checks" \
    --max-examples "$max_examples" \
    --max-time "$max_time" \
    --phases examples,coverage,fuzzing \
    --workers 2 \
    --seed 20261205 \
    --request-timeout 30 \
    --suppress-health-check all \
    --report junit --report-dir "$report_dir/$name" \
    "$@") || status=1
}
run_pass device -H "Authorization: Bearer $device_token" --include-path-regex '^/v1/' --exclude-path '/v1/devices/pair' --exclude-path '/v1/tiers' --exclude-path '/v1/devices/{id}'
run_pass revoke -H "Authorization: Bearer $revoke_token" --include-path '/v1/devices/{id}'
run_pass admin -H "Authorization: Bearer $admin_token" --include-path-regex '^/admin/'
run_pass public --include-path-regex '^/(health|readyz|v1/tiers|v1/devices/pair)$'

if ! kill -0 "$server_pid" 2>/dev/null; then
  echo "photopro-api serve died during the fuzz run:" >&2
  tail -50 "$work/serve.log" >&2
  status=1
fi
if grep -q "panicked" "$work/serve.log"; then
  echo "photopro-api serve panicked during the fuzz run:" >&2
  grep -A5 "panicked" "$work/serve.log" >&2
  status=1
fi
if [ "$status" -ne 0 ]; then
  keep_work=1
  echo "API fuzz run FAILED; reports in $report_dir, server log in $work/serve.log" >&2
else
  echo "API fuzz run passed"
fi
exit "$status"
