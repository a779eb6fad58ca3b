#!/usr/bin/env bash
# Interop check: PubNub's official Python SDK (pinned in requirements.txt) against the
# pubnub-local binary. Creates a virtualenv under target/, builds and starts the server on an
# ephemeral port, runs check.py, and always stops the server. Exits non-zero on any mismatch.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="$root/target/pubnub-local-interop-venv"
python="${PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
# Reinstall only when the pins change.
stamp="$venv/.requirements"
if ! cmp -s "$here/requirements.txt" "$stamp"; then
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
    cp "$here/requirements.txt" "$stamp"
fi

cargo build --quiet -p pubnub-local --manifest-path "$root/Cargo.toml"
binary="$root/target/debug/pubnub-local"

log="$(mktemp)"
fifo="$(mktemp -u)"
mkfifo "$fifo"
"$binary" --bind 127.0.0.1:0 --hold 20 >"$fifo" 2>"$log" &
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

status=0
NO_PROXY="127.0.0.1,localhost" no_proxy="127.0.0.1,localhost" \
    "$venv/bin/python" "$here/check.py" "$url" || status=$?
if [ "$status" -ne 0 ]; then
    echo "--- server log (tail) ---" >&2
    tail -n 50 "$log" >&2
fi
exit "$status"
