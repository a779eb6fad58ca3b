"""Publishes the same payload twice from each of two PubNub Python SDK clients that share one
user id (as an app restarted with the same id does), without any de-duplication mark.

Usage: python publish_twice.py http://127.0.0.1:PORT CHANNEL

Run by `tests/python_interop.rs` (through run.sh): a de-duplicating subscription of this SDK
must receive all four, whatever `s` the server puts on them.
"""

import asyncio
import sys
from urllib.parse import urlparse

from pubnub.pubnub_asyncio import PubNubAsyncio

from common import WAIT, base_config


async def main(url, channel, publish_key, subscribe_key):
    for _ in range(2):
        pubnub = PubNubAsyncio(base_config(urlparse(url).netloc, "python-publisher",
                                           publish_key, subscribe_key, None))
        try:
            for _ in range(2):
                envelope = await asyncio.wait_for(
                    pubnub.publish().channel(channel).message("ping").future(), WAIT
                )
                if envelope.status.is_error():
                    raise SystemExit(f"publish failed: {envelope.status.error_data}")
                print(f"published ping at {envelope.result.timetoken}")
        finally:
            await pubnub.stop()


if __name__ == "__main__":
    url, channel, publish_key, subscribe_key = sys.argv[1:5]
    asyncio.run(main(url, channel, publish_key, subscribe_key))
