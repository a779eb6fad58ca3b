"""Encrypted messages between PubNub's official Python SDK and this SDK, through pubnub-local.

Usage:
  python crypto.py publish   URL CHANNEL PUB_KEY SUB_KEY CRYPTOR CIPHER_KEY MESSAGES_JSON
  python crypto.py subscribe URL CHANNEL PUB_KEY SUB_KEY CRYPTOR CIPHER_KEY COUNT

CRYPTOR is `aes-cbc` (AesCbcCryptoModule), `legacy` (LegacyCryptoModule with a random IV, the
SDK's default) or `legacy-constant-iv` (LegacyCryptoModule with the constant IV).

`publish` publishes each message of the JSON array MESSAGES_JSON, encrypted by the SDK's crypto
module, and prints one line per publish. `subscribe` prints `connected` once subscribed, then
one JSON line per message received (`{"message": ..., "error": ...}`, the message as the SDK
decrypted it), and exits after COUNT messages.

Run by `tests/python_interop.rs` (through run.sh), which compares decrypted values, never
ciphertexts: another SDK's JSON may differ in spacing and escapes. Every wait is bounded.
"""

import asyncio
import json
import sys
from urllib.parse import urlparse

from pubnub.callbacks import SubscribeCallback
from pubnub.crypto import AesCbcCryptoModule, LegacyCryptoModule
from pubnub.enums import PNStatusCategory
from pubnub.pubnub_asyncio import PubNubAsyncio

from common import WAIT, base_config


def client(url, user_id, publish_key, subscribe_key, cryptor, cipher_key):
    config = base_config(urlparse(url).netloc, user_id, publish_key, subscribe_key, None)
    # The subscribe worker decrypts only when a cipher key is set; the module does the work.
    config.cipher_key = cipher_key
    if cryptor == "aes-cbc":
        config.crypto_module = AesCbcCryptoModule(config)
    elif cryptor == "legacy":
        config.use_random_initialization_vector = True
        config.crypto_module = LegacyCryptoModule(config)
    elif cryptor == "legacy-constant-iv":
        config.use_random_initialization_vector = False
        config.crypto_module = LegacyCryptoModule(config)
    else:
        raise SystemExit(f"unknown cryptor {cryptor!r}")
    return PubNubAsyncio(config)


async def publish(pubnub, channel, messages):
    for message in messages:
        envelope = await asyncio.wait_for(
            pubnub.publish().channel(channel).message(message).future(), WAIT
        )
        if envelope.status.is_error():
            raise SystemExit(f"publish failed: {envelope.status.error_data}")
        print(f"published at {envelope.result.timetoken}", flush=True)


class Listener(SubscribeCallback):
    def __init__(self):
        self.statuses = asyncio.Queue()
        self.messages = asyncio.Queue()

    def status(self, pubnub, status):
        self.statuses.put_nowait(status)

    def message(self, pubnub, message):
        self.messages.put_nowait(message)


async def subscribe(pubnub, channel, count):
    listener = Listener()
    pubnub.add_listener(listener)
    pubnub.subscribe().channels([channel]).execute()
    while True:
        status = await asyncio.wait_for(listener.statuses.get(), WAIT)
        if status.category == PNStatusCategory.PNConnectedCategory:
            break
        if status.is_error():
            raise SystemExit(f"subscribe failed: {status.category} {status.error_data}")
    print("connected", flush=True)
    for _ in range(count):
        message = await asyncio.wait_for(listener.messages.get(), WAIT)
        error = str(message.error) if message.error else None
        print(json.dumps({"message": message.message, "error": error}), flush=True)


async def main(command, url, channel, publish_key, subscribe_key, cryptor, cipher_key, arg):
    user_id = f"python-{command}"
    pubnub = client(url, user_id, publish_key, subscribe_key, cryptor, cipher_key)
    try:
        if command == "publish":
            await publish(pubnub, channel, json.loads(arg))
        elif command == "subscribe":
            await subscribe(pubnub, channel, int(arg))
        else:
            raise SystemExit(f"unknown command {command!r}")
    finally:
        await pubnub.stop()


if __name__ == "__main__":
    if len(sys.argv) != 9:
        raise SystemExit(__doc__)
    asyncio.run(main(*sys.argv[1:9]))
