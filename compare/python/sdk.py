"""PubNub's official Python SDK (asyncio) measured the way compare/src/main.rs measures the two
Rust SDKs, against the same server: started by the comparison with the server's URL, it prints
one JSON object on stdout and nothing else there.

Usage: python sdk.py http://127.0.0.1:PORT
"""

import asyncio
import importlib.metadata
import json
import sys
import time
from urllib.parse import urlparse

from pubnub.callbacks import SubscribeCallback
from pubnub.enums import PNStatusCategory
from pubnub.pnconfiguration import PNConfiguration
from pubnub.pubnub_asyncio import PubNubAsyncio

SUB_KEY = "sub-c-compare"
PUB_KEY = "pub-c-compare"
MEASURE = 1.5
CONCURRENCY = 64
WARM_UP = 20
# Fewer than the Rust side's 2,000: each Python sample takes milliseconds.
SAMPLES = 300
GAP = 0.001
BURST = 10_000
PATIENCE = 5.0


def payload(n):
    return {"text": "hello from the benchmark", "n": n}


def client(origin, user_id):
    config = PNConfiguration()
    config.publish_key = PUB_KEY
    config.subscribe_key = SUB_KEY
    config.user_id = user_id
    config.origin = origin
    config.ssl = False
    return PubNubAsyncio(config)


class Arrivals(SubscribeCallback):
    """The `n` of every message and when the listener got it."""

    def __init__(self):
        self.queue = asyncio.Queue()
        self.connected = asyncio.Event()

    def status(self, pubnub, status):
        if status.category == PNStatusCategory.PNConnectedCategory:
            self.connected.set()

    def message(self, pubnub, message):
        at = time.perf_counter()
        n = message.message.get("n") if isinstance(message.message, dict) else None
        if n is not None:
            self.queue.put_nowait((n, at))


async def publish_one(pubnub, channel, n):
    try:
        envelope = await pubnub.publish().channel(channel).message(payload(n)).future()
        return not envelope.status.is_error()
    except Exception:  # a failed publish counts as failed, whatever the reason
        return False


async def sequential(pubnub):
    done = failed = 0
    started = time.perf_counter()
    while time.perf_counter() - started < MEASURE:
        if await publish_one(pubnub, "compare-publish", done + failed):
            done += 1
        else:
            failed += 1
    return done / (time.perf_counter() - started), failed


async def concurrent(pubnub, channel, duration, limit):
    counter = {"next": 0, "done": 0, "failed": 0}
    started = time.perf_counter()

    async def worker():
        while True:
            n = counter["next"]
            counter["next"] += 1
            if n >= limit or time.perf_counter() - started >= duration:
                return
            if await publish_one(pubnub, channel, n):
                counter["done"] += 1
            else:
                counter["failed"] += 1

    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return counter["done"] / (time.perf_counter() - started), counter["failed"]


async def listen(origin, channel, user):
    listener = client(origin, user)
    arrivals = Arrivals()
    listener.add_listener(arrivals)
    listener.subscribe().channels([channel]).execute()
    await asyncio.wait_for(arrivals.connected.wait(), PATIENCE)
    return listener, arrivals


async def latency(origin, speaker):
    channel = "compare-latency-python"
    listener, arrivals = await listen(origin, channel, "compare-listener-python")
    samples, lost = [], 0
    for n in range(WARM_UP + SAMPLES):
        await asyncio.sleep(GAP)
        started = time.perf_counter()

        async def arrival():
            while True:
                m, at = await arrivals.queue.get()
                if m == n:
                    return at

        try:
            sent, at = await asyncio.gather(
                publish_one(speaker, channel, n), asyncio.wait_for(arrival(), PATIENCE)
            )
        except asyncio.TimeoutError:
            sent, at = False, None
        if not sent or at is None:
            lost += 1
        elif n >= WARM_UP:
            samples.append((at - started) * 1e6)
    await listener.stop()
    samples.sort()

    def at_quantile(q):
        if not samples:
            return 0.0
        index = min(max(int(-(-q * len(samples) // 1)), 1), len(samples))
        return samples[index - 1]

    return {
        "latency_p50_us": at_quantile(0.50),
        "latency_p90_us": at_quantile(0.90),
        "latency_p99_us": at_quantile(0.99),
        "latency_lost": lost,
        "latency_samples": len(samples),
    }


async def burst(origin, speaker):
    channel = "compare-burst-http-python"
    listener, arrivals = await listen(origin, channel, "compare-burst-listener-python")
    started = time.perf_counter()
    publishing = asyncio.ensure_future(concurrent(speaker, channel, 120.0, BURST))
    seen, duplicated, last = set(), 0, started
    while len(seen) < BURST:
        try:
            n, at = await asyncio.wait_for(arrivals.queue.get(), 2.0 if publishing.done() else 30.0)
        except asyncio.TimeoutError:
            break
        last = at
        if n in seen:
            duplicated += 1
        else:
            seen.add(n)
    await publishing
    await listener.stop()
    return {
        "burst_http_lost": BURST - len(seen),
        "burst_http_duplicated": duplicated,
        "burst_http_delivered_per_sec": len(seen) / max(last - started, 1e-9),
    }


async def main(url):
    parsed = urlparse(url)
    origin = f"{parsed.hostname}:{parsed.port}"
    speaker = client(origin, "compare-publisher-python")
    try:
        figures = {}
        # Latency first, as the Rust side measures it (its own warm-up samples warm up).
        figures.update(await latency(origin, speaker))
        await concurrent(speaker, "compare-publish", 0.3, 10**9)  # warm up
        figures["publish_sequential_per_sec"], failed_a = await sequential(speaker)
        figures["publish_concurrent_per_sec"], failed_b = await concurrent(
            speaker, "compare-publish", MEASURE, 10**9
        )
        figures["publish_failed"] = failed_a + failed_b
        figures.update(await burst(origin, speaker))
    finally:
        await speaker.stop()
    figures["version"] = importlib.metadata.version("pubnub")
    print(json.dumps(figures))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
