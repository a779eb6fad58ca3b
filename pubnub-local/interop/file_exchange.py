"""Files between PubNub's official Python SDK and this SDK, through pubnub-local.

Usage:
  python file_exchange.py send     URL CHANNEL CRYPTOR CIPHER_KEY PATH NAME
  python file_exchange.py download URL CHANNEL CRYPTOR CIPHER_KEY FILE_ID NAME OUT

CRYPTOR is `none`, `legacy` (a cipher key alone: the SDK's LegacyCryptoModule, random IV, no
header) or `aes-cbc` (the AES-CBC crypto module, `PNED` header). `send` sends the bytes of PATH
as NAME with the message {"from": "python"} and prints one JSON line {"id", "name",
"timetoken"}; `download` writes the file's bytes, as the SDK decrypted them, to OUT.

Run by `tests/python_interop.rs` (through run.sh), which compares the bytes both ways. Every
wait is bounded.
"""

import asyncio
import json
import sys
from urllib.parse import urlparse

from pubnub.crypto import AesCbcCryptoModule
from pubnub.pubnub_asyncio import PubNubAsyncio

from common import WAIT, base_config


def client(url, cryptor, cipher_key):
    config = base_config(urlparse(url).netloc, "python-files", "pub-key", "sub-key", None)
    # Python encrypts files only when a cipher key is set (a crypto module alone is not used).
    if cryptor in ("legacy", "aes-cbc"):
        config.cipher_key = cipher_key
    if cryptor == "aes-cbc":
        config.crypto_module = AesCbcCryptoModule(config)
    elif cryptor not in ("none", "legacy"):
        raise SystemExit(f"unknown cryptor {cryptor!r}")
    return PubNubAsyncio(config)


async def main(command, url, channel, cryptor, cipher_key, args):
    pubnub = client(url, cryptor, cipher_key)
    try:
        if command == "send":
            path, name = args
            with open(path, "rb") as f:
                data = f.read()
            envelope = await asyncio.wait_for(
                pubnub.send_file().channel(channel).file_name(name)
                .message({"from": "python"}).should_store(True).file_object(data).future(),
                WAIT)
            if envelope.status.is_error():
                raise SystemExit(f"send_file failed: {envelope.status.error_data}")
            result = envelope.result
            print(json.dumps({"id": result.file_id, "name": result.name,
                              "timetoken": int(result.timestamp)}), flush=True)
        elif command == "download":
            file_id, name, out = args
            envelope = await asyncio.wait_for(
                pubnub.download_file().channel(channel).file_id(file_id).file_name(name)
                .future(), WAIT)
            if envelope.status.is_error():
                raise SystemExit(f"download_file failed: {envelope.status.error_data}")
            with open(out, "wb") as f:
                f.write(envelope.result.data)
        else:
            raise SystemExit(f"unknown command {command!r}")
    finally:
        await pubnub.stop()


if __name__ == "__main__":
    if len(sys.argv) < 6:
        raise SystemExit(__doc__)
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5],
                     sys.argv[6:]))
