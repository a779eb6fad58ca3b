"""Interop check of message persistence and message actions: PubNub's official Python SDK
(asyncio) against pubnub-local (PROTOCOL.md §18).

Usage: python history.py http://127.0.0.1:PORT

Publishes with the SDK, then checks what the SDK itself parses from fetch_messages (with
include_meta, include_message_type, include_uuid, and include_message_actions),
message_counts, add/get/remove_message_action (and the 409 of a duplicate), the message-action
events a subscriber receives, and delete_messages. With PN_PUBLISH_KEY, PN_SUBSCRIBE_KEY and
PN_SECRET_KEY set (run.sh sets them), every request is signed and checked by the server,
including the POST body of add_message_action and the DELETE requests.

Exits non-zero on the first mismatch. Every wait is bounded.
"""

import asyncio
import sys
import traceback
from urllib.parse import urlparse

from pubnub.callbacks import SubscribeCallback
from pubnub.enums import PNStatusCategory
from pubnub.models.consumer.message_actions import PNMessageAction
from pubnub.pubnub import PubNub
from pubnub.pubnub_asyncio import PubNubAsyncio

from common import RUN, SECRET_KEY, WAIT, Failure, base_config, check, ok


class Listener(SubscribeCallback):
    """Statuses and message-action events, one queue each."""

    def __init__(self):
        self.statuses = asyncio.Queue()
        self.actions = asyncio.Queue()

    def status(self, pubnub, status):
        self.statuses.put_nowait(status)

    def message(self, pubnub, message):
        pass

    def presence(self, pubnub, presence):
        pass

    def message_action(self, pubnub, message_action):
        self.actions.put_nowait(message_action)

    async def connected(self):
        while True:
            status = await asyncio.wait_for(self.statuses.get(), WAIT)
            if status.is_error():
                raise Failure(f"subscribe status error: {status.category} {status.error_data}")
            if status.category == PNStatusCategory.PNConnectedCategory:
                return status


def client(origin, user_id):
    return PubNubAsyncio(base_config(origin, user_id))


def fetch_sync(pubnub, channels, **options):
    """fetch_messages on the SDK's synchronous client: in 10.4.0 the asyncio one fails every
    successful fetch with KeyError(45), its latency telemetry having no name for
    PNFetchMessagesOperation (managers.py `endpoint_name_for_operation`)."""
    builder = pubnub.fetch_messages().channels(channels)
    for name, value in options.items():
        builder = getattr(builder, name)(value)
    return builder.sync().result


async def fetch(pubnub, channels, **options):
    return await asyncio.wait_for(asyncio.to_thread(fetch_sync, pubnub, channels, **options), WAIT)


async def main(url):
    origin = urlparse(url).netloc
    alice = client(origin, "alice")
    bob = client(origin, "bob")
    carol = client(origin, "carol")
    reader = PubNub(base_config(origin, "reader"))
    channel = f"history-{RUN}"
    other = f"history-other-{RUN}"
    subscribed = False
    try:
        print("publish")
        t1 = int(ok(await alice.publish().channel(channel).message({"text": "one"})
                    .meta({"lang": "en"}).future(), "publish with meta").timetoken)
        t2 = int(ok(await alice.publish().channel(channel).message("two").future(),
                    "publish").timetoken)
        ok(await alice.publish().channel(channel).message("not stored").should_store(False)
           .future(), "publish store=0")
        ok(await alice.signal().channel(channel).message("sig").future(), "signal")
        t4 = int(ok(await bob.publish().channel(other).message("elsewhere").future(),
                    "publish on another channel").timetoken)

        print("fetch_messages")
        fetched = await fetch(reader, [channel], include_meta=True, include_message_type=True,
                              include_uuid=True)
        items = fetched.channels.get(channel, [])
        check([item.message for item in items] == [{"text": "one"}, "two"],
              "stored messages only, oldest first (no store=0, no signal)")
        check([int(item.timetoken) for item in items] == [t1, t2], "publish timetokens")
        check(items[0].meta == {"lang": "en"}, "meta of the first")
        check(not items[1].meta, "no meta on the second")
        check([getattr(item, "uuid", None) for item in items] == ["alice", "alice"], "publisher uuid")
        check([getattr(item, "message_type", "absent") for item in items] == [None, None],
              "message_type null for ordinary messages")
        check(all(item.actions is None for item in items), "no actions without include_message_actions")

        page = await fetch(reader, [channel], count=1)
        check([item.message for item in page.channels[channel]] == ["two"], "max=1 is the newest")
        older = await fetch(reader, [channel], start=t2)
        check([item.message for item in older.channels[channel]] == [{"text": "one"}],
              "start is exclusive")
        both = await fetch(reader, [channel, other])
        check(sorted(both.channels) == sorted([channel, other]), "both channels answered")
        check([item.message for item in both.channels[other]] == ["elsewhere"], "the other channel")

        print("message_counts")
        counts = ok(await alice.message_counts().channel([channel, other])
                    .channel_timetokens([t1 - 1, t4]).future(), "message_counts (channelsTimetoken)")
        check(counts.channels == {channel: 2, other: 0}, f"counts are exclusive: {counts.channels}")
        counts = ok(await alice.message_counts().channel([channel]).channel_timetokens([t1])
                    .future(), "message_counts (timetoken)")
        check(counts.channels == {channel: 1}, f"one timetoken: {counts.channels}")

        print("message actions")
        listener = Listener()
        carol.add_listener(listener)
        carol.subscribe().channels([channel]).execute()
        subscribed = True
        await listener.connected()

        action = PNMessageAction()
        action.type = "reaction"
        action.value = "smiley_face"
        action.message_timetoken = str(t1)
        added = ok(await bob.add_message_action().channel(channel).message_action(action).future(),
                   "add_message_action")
        check((added.type, added.value, added.uuid) == ("reaction", "smiley_face", "bob"),
              "added action: type, value, uuid")
        check(int(added.message_timetoken) == t1, "added action: message timetoken")
        action_tt = int(added.action_timetoken)
        check(action_tt > t4, "added action: a new timetoken")

        event = await asyncio.wait_for(listener.actions.get(), WAIT)
        check((event.type, event.value, event.uuid) == ("reaction", "smiley_face", "bob"),
              "subscriber got the added action")
        check((int(event.message_timetoken), int(event.action_timetoken)) == (t1, action_tt),
              "event timetokens")

        again = await bob.add_message_action().channel(channel).message_action(action).future()
        check(again.status.is_error() and again.status.status_code == 409,
              "a duplicate is refused with 409")

        second = PNMessageAction()
        second.type = "receipt"
        second.value = "read"
        second.message_timetoken = str(t2)
        ok(await alice.add_message_action().channel(channel).message_action(second).future(),
           "add a second action")
        await asyncio.wait_for(listener.actions.get(), WAIT)

        listed = ok(await alice.get_message_actions().channel(channel).future(),
                    "get_message_actions")
        check([(a.type, a.value, a.uuid) for a in listed.actions]
              == [("reaction", "smiley_face", "bob"), ("receipt", "read", "alice")],
              "both actions, oldest first")
        limited = ok(await alice.get_message_actions().channel(channel).limit("1").future(),
                     "get_message_actions limit=1")
        check([a.value for a in limited.actions] == ["read"], "limit=1 is the newest")

        with_actions = await fetch(reader, [channel], include_message_actions=True,
                                   include_meta=True)
        items = with_actions.channels[channel]
        check(items[0].actions == {"reaction": {"smiley_face": [
            {"uuid": "bob", "actionTimetoken": str(action_tt)}]}},
            "actions on the first message")
        check(list(items[1].actions) == ["receipt"], "actions on the second message")

        ok(await bob.remove_message_action().channel(channel).message_timetoken(t1)
           .action_timetoken(action_tt).future(), "remove_message_action")
        event = await asyncio.wait_for(listener.actions.get(), WAIT)
        check((event.value, int(event.action_timetoken)) == ("smiley_face", action_tt),
              "subscriber got the removal")
        gone = await bob.remove_message_action().channel(channel).message_timetoken(t1) \
            .action_timetoken(action_tt).future()
        check(gone.status.is_error() and gone.status.status_code == 400,
              "removing it again is refused with 400")
        listed = ok(await alice.get_message_actions().channel(channel).future(),
                    "get_message_actions after remove")
        check([a.value for a in listed.actions] == ["read"], "one action left")

        print("delete_messages")
        ok(await alice.delete_messages().channel(channel).start(t2 + 1).end(t2).future(),
           "delete one message (end=T, start=T+1)")
        left = await fetch(reader, [channel])
        check([item.message for item in left.channels[channel]] == [{"text": "one"}],
              "only that message went")
        ok(await alice.delete_messages().channel(channel).future(), "delete the whole channel")
        left = await fetch(reader, [channel])
        check(left.channels.get(channel, []) == [], "history is empty")

        print("all history interop checks passed"
              + (" (every request signed and checked)" if SECRET_KEY else ""))
    finally:
        if subscribed:
            carol.unsubscribe_all()
        for pubnub in (alice, bob, carol):
            try:
                await asyncio.wait_for(pubnub.stop(), 5)
            except Exception as e:  # cleanup only
                print(f"  (cleanup: {e!r})")
        reader.stop()


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
        traceback.print_exc()
        print(f"INTEROP ERROR: {error!r}")
        sys.exit(1)
