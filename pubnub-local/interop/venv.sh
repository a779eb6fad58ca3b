# Sourced by run.sh and signatures.sh: a virtualenv under target/ with PubNub's official Python
# SDK at the versions pinned in requirements.txt, reinstalled only when the pins change.
# Sets `venv` and `here`; needs `root` (the workspace root).
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$root/target/pubnub-local-interop-venv"
if [ ! -x "$venv/bin/python" ]; then
    "${PYTHON:-python3}" -m venv "$venv"
fi
stamp="$venv/.requirements"
if ! cmp -s "$here/requirements.txt" "$stamp"; then
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
    cp "$here/requirements.txt" "$stamp"
fi
