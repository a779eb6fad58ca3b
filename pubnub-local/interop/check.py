"""Interop check: PubNub's official Python SDK (asyncio) against pubnub-local.

Usage: python check.py http://127.0.0.1:PORT

With PN_PUBLISH_KEY, PN_SUBSCRIBE_KEY and PN_SECRET_KEY set (run.sh sets them and starts the
server with the same secret key), every client signs every request and the server checks each
signature, as the service does; a client with another secret key must be refused.

Exits non-zero on the first mismatch. Every wait is bounded.
"""

import asyncio
import sys
from urllib.parse import urlparse

from pubnub.callbacks import SubscribeCallback
from pubnub.enums import PNStatusCategory
from pubnub.models.consumer.pubsub import PNMessageResult
from pubnub.pubnub_asyncio import PubNubAsyncio

from common import RUN, SECRET_KEY, WAIT, Failure, base_config, check, ok


class Listener(SubscribeCallback):
    """Puts every callback into one queue per kind."""

    def __init__(self):
        self.statuses = asyncio.Queue()
        self.messages = asyncio.Queue()
        self.signals = asyncio.Queue()
        self.presence_events = asyncio.Queue()

    def status(self, pubnub, status):
        self.statuses.put_nowait(status)

    def message(self, pubnub, message):
        self.messages.put_nowait(message)

    def signal(self, pubnub, signal):
        self.signals.put_nowait(signal)

    def presence(self, pubnub, presence):
        self.presence_events.put_nowait(presence)

    async def connected(self):
        while True:
            status = await asyncio.wait_for(self.statuses.get(), WAIT)
            if status.is_error():
                raise Failure(f"subscribe status error: {status.category} {status.error_data}")
            if status.category == PNStatusCategory.PNConnectedCategory:
                return status

    async def next_presence(self, event, uuid):
        """The next presence event of this kind for this uuid, skipping others."""
        while True:
            presence = await asyncio.wait_for(self.presence_events.get(), WAIT)
            if presence.event == event and presence.uuid == uuid:
                return presence


def client(origin, user_id, heartbeat=False, secret_key=SECRET_KEY):
    config = base_config(origin, user_id, secret_key=secret_key)
    config.enable_presence_heartbeat = heartbeat
    if heartbeat:
        config.set_presence_timeout(20)
    return PubNubAsyncio(config)


async def main(url):
    parsed = urlparse(url)
    origin = f"{parsed.hostname}:{parsed.port}"
    channel = f"interop-{RUN}"
    group = f"group-{RUN}"
    member = f"member-{RUN}"

    alice = client(origin, "alice", heartbeat=True)
    bob = client(origin, "bob", heartbeat=True)
    carol = client(origin, "carol")
    try:
        print("time")
        time = ok(await alice.time().future(), "time")
        check(len(str(int(time))) == 17, "time is a 17-digit timetoken")

        print("subscribe with listener")
        listener = Listener()
        alice.add_listener(listener)
        alice.subscribe().channels([channel]).with_presence().execute()
        await listener.connected()
        check(True, "alice connected")
        joined = await listener.next_presence("join", "alice")
        check(joined.channel == channel, "alice sees her own join on the channel")

        print("publish")
        sent = ok(
            await bob.publish()
            .channel(channel)
            .message({"text": "hello", "n": 1})
            .meta({"lang": "en"})
            .custom_message_type("chat-text")
            .future(),
            "publish",
        )
        check(len(str(sent.timetoken)) == 17, "publish timetoken has 17 digits")
        message = await asyncio.wait_for(listener.messages.get(), WAIT)
        check(isinstance(message, PNMessageResult), "a message result")
        check(message.channel == channel, "message channel")
        check(message.message == {"text": "hello", "n": 1}, "message payload")
        check(message.timetoken == sent.timetoken, "message timetoken equals publish timetoken")
        check(message.publisher == "bob", "message publisher")
        check(message.user_metadata == {"lang": "en"}, "message meta")
        check(message.custom_message_type == "chat-text", "custom message type")

        print("POST publish, compressed")
        bob.config.should_compress = True
        sent = ok(await bob.publish().channel(channel).message("posted").use_post(True).future(), "post")
        bob.config.should_compress = False
        message = await asyncio.wait_for(listener.messages.get(), WAIT)
        check(message.message == "posted" and message.timetoken == sent.timetoken, "POST publish delivered")

        print("fire")
        fired = ok(await bob.fire().channel(channel).message("fired").future(), "fire")
        check(len(str(fired.timetoken)) == 17, "fire answered with a timetoken")
        after = ok(await bob.publish().channel(channel).message("after-fire").future(), "publish")
        message = await asyncio.wait_for(listener.messages.get(), WAIT)
        check(message.message == "after-fire", "fired message was not delivered")
        check(message.timetoken == after.timetoken, "next message arrived instead")

        print("signal")
        signalled = ok(await bob.signal().channel(channel).message("typing").future(), "signal")
        signal = await asyncio.wait_for(listener.signals.get(), WAIT)
        check(signal.channel == channel, "signal channel")
        check(signal.message == "typing", "signal payload")
        # The SDK keeps the signal's publish timetoken as the string the server sent.
        check(signal.timetoken == int(signalled.timetoken), "signal timetoken")
        check(signal.publisher == "bob", "signal publisher")
        too_big = await bob.signal().channel(channel).message("x" * 100).future()
        check(too_big.status.is_error(), "oversized signal is an error")

        print("presence join / here_now / leave")
        bob.subscribe().channels([channel]).execute()
        joined = await listener.next_presence("join", "bob")
        check(joined.occupancy == 2, "bob's join has occupancy 2")
        check(joined.channel == channel, "join channel")
        here = ok(await carol.here_now().channels([channel]).include_uuids(True).future(), "here_now")
        check(here.total_occupancy == 2, "here_now total occupancy 2")
        occupants = sorted(o.uuid for o in here.channels[0].occupants)
        check(occupants == ["alice", "bob"], "here_now lists alice and bob")
        here = ok(await carol.here_now().channels([channel, "empty-" + RUN]).future(), "here_now multi")
        check(here.total_occupancy == 2, "multi-channel here_now")
        where = ok(await carol.where_now().uuid("bob").future(), "where_now")
        check(where.channels == [channel], "where_now for bob")

        state = ok(await bob.set_state().channels([channel]).state({"mood": "ok"}).future(), "set_state")
        check(state.state == {"mood": "ok"}, "set_state answer")
        changed = await listener.next_presence("state-change", "bob")
        check(changed.state == {"mood": "ok"}, "state-change event carries the state")
        got = ok(await carol.get_state().channels([channel]).uuid("bob").future(), "get_state")
        check(got.channels == {channel: {"mood": "ok"}}, "get_state")

        bob.unsubscribe().channels([channel]).execute()
        left = await listener.next_presence("leave", "bob")
        check(left.occupancy == 1, "bob's leave has occupancy 1")
        ok(await carol.heartbeat().channels([channel]).future(), "explicit heartbeat")
        joined = await listener.next_presence("join", "carol")
        check(joined.occupancy == 2, "an explicit heartbeat joins carol")

        print("channel groups")
        ok(await carol.add_channel_to_channel_group().channels([member, "other-" + RUN]).channel_group(group).future(), "cg add")
        listed = ok(await carol.list_channels_in_channel_group().channel_group(group).future(), "cg list")
        check(sorted(listed.channels) == sorted([member, "other-" + RUN]), "cg list channels")
        ok(await carol.remove_channel_from_channel_group().channels(["other-" + RUN]).channel_group(group).future(), "cg remove")
        listed = ok(await carol.list_channels_in_channel_group().channel_group(group).future(), "cg list")
        check(listed.channels == [member], "cg remove channel")

        group_listener = Listener()
        carol.add_listener(group_listener)
        carol.subscribe().channel_groups([group]).execute()
        await group_listener.connected()
        sent = ok(await bob.publish().channel(member).message("to the group").future(), "publish to member")
        message = await asyncio.wait_for(group_listener.messages.get(), WAIT)
        check(message.channel == member, "group message channel is the member channel")
        check(message.subscription == group, "group message subscription is the group")
        check(message.timetoken == sent.timetoken, "group message timetoken")
        carol.unsubscribe_all()
        ok(await carol.remove_channel_group().channel_group(group).future(), "cg delete")
        listed = ok(await carol.list_channels_in_channel_group().channel_group(group).future(), "cg list")
        check(listed.channels == [], "deleted group is empty")

        if SECRET_KEY:
            print("signatures")
            mallory = client(origin, "mallory", secret_key=SECRET_KEY + "-wrong")
            try:
                refused = await mallory.publish().channel(channel).message("forged").future()
                check(refused.status.is_error(), "a publish signed with another secret key is refused")
                check(refused.status.category == PNStatusCategory.PNAccessDeniedCategory,
                      "as access denied (403)")
                refused = await mallory.here_now().channels([channel]).future()
                check(refused.status.is_error(), "a here_now signed with another secret key is refused")
                time = ok(await mallory.time().future(), "time")
                check(len(str(int(time))) == 17, "time needs no signature")
            finally:
                await asyncio.wait_for(mallory.stop(), 5)

        print("all interop checks passed" + (" (every request signed and checked)" if SECRET_KEY else ""))
    finally:
        for pubnub in (alice, bob, carol):
            try:
                await asyncio.wait_for(pubnub.stop(), 5)
            except Exception as e:  # cleanup only
                print(f"  (cleanup: {e!r})")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__)
        sys.exit(2)
    try:
        asyncio.run(asyncio.wait_for(main(sys.argv[1]), 120))
    except Failure as failure:
        print(f"INTEROP FAILURE: {failure}")
        sys.exit(1)
    except Exception as error:
        print(f"INTEROP ERROR: {error!r}")
        sys.exit(1)
