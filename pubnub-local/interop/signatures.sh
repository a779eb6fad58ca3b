#!/usr/bin/env bash
# Checks that signatures.json is what PubNub's official Python SDK (pinned in requirements.txt)
# computes: runs signatures.py and fails on any difference. The SDK's and pubnub-local's Rust
# tests compare their own signatures with that file. After changing the table in
# signatures.py, regenerate it with:  bash pubnub-local/interop/signatures.sh --write
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=venv.sh
source "$root/pubnub-local/interop/venv.sh"

fixture="$here/signatures.json"
if [ "${1:-}" = "--write" ]; then
    "$venv/bin/python" "$here/signatures.py" >"$fixture"
    echo "wrote $fixture"
    exit 0
fi
if ! "$venv/bin/python" "$here/signatures.py" | diff -u "$fixture" -; then
    echo "signatures.json is not what PubNub's Python SDK computes:" \
         "run 'bash pubnub-local/interop/signatures.sh --write' and commit it" >&2
    exit 1
fi
echo "signatures.json: $(grep -c '"signature"' "$fixture") signatures, as PubNub's Python SDK computes them"
