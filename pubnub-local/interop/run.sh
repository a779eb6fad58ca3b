#!/usr/bin/env bash
# Interop check: PubNub's official Python SDK (pinned in requirements.txt) against the
# pubnub-local binary. Creates a virtualenv under target/, builds and starts the server on an
# ephemeral port with a secret key (so every request the SDK signs is checked as the service
# checks it), runs check.py, history.py (message persistence and actions), access.py
# (Access Manager: grant, parse, enforce, revoke), app_context.py (App Context), files.py
# (File Sharing: send, list, URL, download, delete, file events, encrypted files) and push.py
# (mobile push registrations, errors, tokens, the outbox) with the same keys, and always stops
# the server; then runs this
# SDK's tests that need the Python SDK (tests/python_interop.rs, against an in-process server).
# Exits non-zero on any mismatch.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=venv.sh
source "$root/pubnub-local/interop/venv.sh"

cargo build --quiet -p pubnub-local --manifest-path "$root/Cargo.toml"
binary="$root/target/debug/pubnub-local"

log="$(mktemp)"
fifo="$(mktemp -u)"
mkfifo "$fifo"
run_id="$(date +%s)-$$"
export PN_PUBLISH_KEY="pub-c-interop-$run_id"
export PN_SUBSCRIBE_KEY="sub-c-interop-$run_id"
export PN_SECRET_KEY="sec-c-interop-$run_id"
"$binary" --bind 127.0.0.1:0 --hold 20 \
    --secret-key "$PN_SECRET_KEY" --publish-key "$PN_PUBLISH_KEY" >"$fifo" 2>"$log" &
server=$!
cleanup() {
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
    rm -f "$fifo" "$log"
}
trap cleanup EXIT

exec 3<"$fifo"
if ! read -r -t 60 line <&3; then
    echo "pubnub-local did not start; its log:" >&2
    cat "$log" >&2
    exit 1
fi
case "$line" in
    "listening on http://"*) url="${line#listening on }" ;;
    *) echo "unexpected first line: $line" >&2; exit 1 ;;
esac
echo "pubnub-local at $url"
# Keep draining stdout so the server never blocks on a full pipe.
cat <&3 >/dev/null &

for script in check.py history.py access.py app_context.py files.py push.py; do
    status=0
    NO_PROXY="127.0.0.1,localhost" no_proxy="127.0.0.1,localhost" \
        "$venv/bin/python" "$here/$script" "$url" || status=$?
    if [ "$status" -ne 0 ]; then
        echo "--- $script failed; server log (tail) ---" >&2
        tail -n 50 "$log" >&2
        exit "$status"
    fi
done

# The other direction: this SDK's tests that need the Python SDK (tests/python_interop.rs).
PUBNUB_INTEROP_PYTHON="$venv/bin/python" NO_PROXY="127.0.0.1,localhost" no_proxy="127.0.0.1,localhost" \
    cargo test --quiet --manifest-path "$root/Cargo.toml" --test python_interop -- --ignored
