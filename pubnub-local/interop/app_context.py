"""Interop check of App Context: PubNub's official Python SDK against pubnub-local
(PROTOCOL.md §19).

Usage:
  python app_context.py http://127.0.0.1:PORT              full check (run.sh)
  python app_context.py http://127.0.0.1:PORT write PREFIX  store what tests/python_interop.rs reads
  python app_context.py http://127.0.0.1:PORT read PREFIX   check what tests/python_interop.rs stored

The full check sets, reads, lists (filter, sort, limit, pages, total count) and removes user and
channel metadata, channel members and memberships with the SDK's synchronous client, receives
the App Context events a subscriber gets (uuid, channel and membership listeners), and meets
the 412 of a stale `if_matches_etag`. With PN_PUBLISH_KEY, PN_SUBSCRIBE_KEY and PN_SECRET_KEY set
(run.sh sets them), every request is signed and checked by the server, PATCH bodies included.
The write / read modes use the keys `pub-key` / `sub-key` of the Rust tests' server.

Exits non-zero on the first mismatch. Every wait is bounded.
"""

import queue
import warnings
import sys
import traceback
from urllib.parse import urlparse

from pubnub.callbacks import SubscribeCallback
from pubnub.enums import PNStatusCategory
from pubnub.exceptions import PubNubException
from pubnub.models.consumer.objects_v2.channel_members import PNUserMember
from pubnub.models.consumer.objects_v2.common import MemberIncludes, MembershipIncludes
from pubnub.models.consumer.objects_v2.memberships import PNChannelMembership
from pubnub.models.consumer.objects_v2.page import Next
from pubnub.models.consumer.objects_v2.sort import PNSortKey, PNSortKeyValue
from pubnub.pubnub import PubNub

from common import (
    PUBLISH_KEY, RUN, SECRET_KEY, SUBSCRIBE_KEY, WAIT, Failure, base_config, check, ok,
)


def _patch_python_sdk_event_emitter():
    """Python SDK 10.4.0 bug: every subscribe registers a PubNubSubscription, and the registry
    callback (`models/subscription.py` PNSubscriptionRegistryCallback) forwards App Context
    events to it as `listener.uuid(…)`, `.channel(…)`, `.membership(…)`, methods
    PNEventEmitter does not have: the AttributeError kills the subscribe message worker thread
    and no later event of any kind arrives. The SDK's own listeners (SubscribeCallback) get
    the event first, so no-op methods are enough to keep the worker alive."""
    from pubnub.models.subscription import PNEventEmitter

    for name in ("uuid", "channel", "membership"):
        if not hasattr(PNEventEmitter, name):
            setattr(PNEventEmitter, name, lambda self, event: None)


_patch_python_sdk_event_emitter()


# include_custom() is deprecated in favour of include objects; both are what apps call.
warnings.simplefilter("ignore", DeprecationWarning)


def refused(call):
    """The HTTP status of a call the SDK raises for (its sync client raises on errors)."""
    try:
        envelope = call()
    except PubNubException as error:
        return error.get_status_code()
    raise Failure(f"expected a refusal, got {envelope.result}")


class Listener(SubscribeCallback):
    """Statuses and App Context events, one queue each."""

    def __init__(self):
        self.statuses = queue.Queue()
        self.events = queue.Queue()

    def status(self, pubnub, status):
        self.statuses.put(status)

    def message(self, pubnub, message):
        pass

    def presence(self, pubnub, presence):
        pass

    def uuid(self, pubnub, uuid):
        self.events.put(("uuid", uuid.event, uuid.data))

    def channel(self, pubnub, channel):
        self.events.put(("channel", channel.event, channel.data))

    def membership(self, pubnub, membership):
        self.events.put(("membership", membership.event, membership.data))

    def connected(self):
        while True:
            status = self.statuses.get(timeout=WAIT)
            if status.is_error():
                raise Failure(f"subscribe status error: {status.category} {status.error_data}")
            if status.category == PNStatusCategory.PNConnectedCategory:
                return

    def next_event(self):
        try:
            return self.events.get(timeout=WAIT)
        except queue.Empty:
            raise Failure("no App Context event arrived in time")


def full_check(origin):
    keys = (PUBLISH_KEY, SUBSCRIBE_KEY, SECRET_KEY)
    admin = PubNub(base_config(origin, "admin", *keys))
    watcher = PubNub(base_config(origin, "watcher", *keys))
    alice, bob, room = f"alice-{RUN}", f"bob-{RUN}", f"room-{RUN}"
    listener = Listener()
    watcher.add_listener(listener)
    try:
        watcher.subscribe().channels([room, alice]).execute()
        listener.connected()

        print("uuid metadata")
        set_alice = ok(admin.set_uuid_metadata().uuid(alice).set_name("Alice")
                       .email("alice@example.com").custom({"mood": "happy", "age": 30})
                       .set_status("active").set_type("admin").include_custom(True).sync(),
                       "set_uuid_metadata").data
        check(set_alice["id"] == alice and set_alice["name"] == "Alice", "id and name")
        check(set_alice["custom"] == {"mood": "happy", "age": 30}, "custom echoed")
        check(set_alice.get("status") == "active" and set_alice.get("type") == "admin",
              "status and type")
        check(bool(set_alice.get("eTag")) and set_alice.get("updated", "").endswith("Z"),
              "eTag and updated")
        got = ok(admin.get_uuid_metadata().uuid(alice).include_custom(True).sync(),
                 "get_uuid_metadata").data
        check(got == set_alice, "get reads back what set stored")
        event = listener.next_event()
        check(event[:2] == ("uuid", "set") and event[2]["name"] == "Alice"
              and event[2]["id"] == alice, "uuid set event")

        print("channel metadata")
        set_room = ok(admin.set_channel_metadata().channel(room).set_name("Room")
                      .description("Where we talk").custom({"topic": "rust"})
                      .include_custom(True).sync(), "set_channel_metadata").data
        check(set_room["description"] == "Where we talk", "description")
        event = listener.next_event()
        check(event[:2] == ("channel", "set") and event[2]["custom"] == {"topic": "rust"},
              "channel set event with custom")

        print("members and memberships")
        admin.set_uuid_metadata().uuid(bob).set_name("Bob").sync()
        members = ok(admin.set_channel_members().channel(room)
                     .uuids([PNUserMember(alice, custom={"role": "moderator"}), PNUserMember(bob)])
                     .include(MemberIncludes(custom=True, user=True, total_count=True)).sync(),
                     "set_channel_members")
        by_id = {m["uuid"]["id"]: m for m in members.data}
        check(set(by_id) == {alice, bob}, "both members answered")
        check(by_id[alice]["custom"] == {"role": "moderator"}, "member custom")
        check(by_id[bob]["uuid"].get("name") == "Bob", "include user: the user's name")
        # Python 10 puts total_count into `include`, which the service ignores (recorded):
        # only `count=true` (get_all_*'s include_total_count) asks for totalCount.
        check(members.total_count is None, "no totalCount from include=totalCount")
        seen = [listener.next_event() for _ in range(3)]
        check(sorted(e[:2] for e in seen) == [("membership", "set")] * 3,
              "membership events: alice on the room and on herself, bob on the room")
        memberships = ok(admin.get_memberships().uuid(alice)
                         .include(MembershipIncludes(custom=True, channel=True)).sync(),
                         "get_memberships")
        check([m["channel"]["id"] for m in memberships.data] == [room], "alice's channels")
        check(memberships.data[0]["channel"].get("name") == "Room", "include channel: name")
        carol_room = ok(admin.set_memberships().uuid(f"carol-{RUN}")
                        .channel_memberships([PNChannelMembership(room, status="invited")])
                        .include(MembershipIncludes(status=True)).sync(), "set_memberships")
        check(carol_room.data[0].get("status") == "invited", "membership status")
        listener.next_event()
        removed = ok(admin.remove_channel_members().channel(room).uuids([PNUserMember(bob)])
                     .sync(), "remove_channel_members")
        check(sorted(m["uuid"]["id"] for m in removed.data) == [alice, f"carol-{RUN}"],
              "bob removed")
        event = listener.next_event()
        check(event[:2] == ("membership", "delete") and event[2]["uuid"]["id"] == bob,
              "membership delete event")

        print("lists: filter, sort, limit, pages")
        for i in range(5):
            admin.set_uuid_metadata().uuid(f"u-{RUN}-{i}").set_name(f"User {4 - i}").sync()
        names, page, sizes = [], None, []
        for _ in range(10):
            builder = (admin.get_all_uuid_metadata().limit(2).filter(f"id like 'u-{RUN}-*'")
                       .sort(PNSortKey.asc(PNSortKeyValue.NAME)).include_total_count(True))
            if page:
                builder = builder.page(page)
            result = ok(builder.sync(), "get_all_uuid_metadata")
            check(result.total_count == 5, "totalCount of the filtered list")
            sizes.append(len(result.data))
            names += [u["name"] for u in result.data]
            page = result.next
            if not page:
                break
        # As recorded, every non-empty page names a next, the last one too: following it
        # gives an empty page without one.
        check(sizes == [2, 2, 1, 0], "pages of 2, 2 and 1, then an empty one")
        check(names == [f"User {i}" for i in range(5)], "sorted by name across pages")
        check(isinstance(page, (type(None), Next)), "no next page at the end")

        print("remove")
        ok(admin.remove_uuid_metadata().uuid(alice).sync(), "remove_uuid_metadata")
        event = listener.next_event()
        check(event == ("uuid", "delete", {"id": alice}), "uuid delete event")
        check(refused(lambda: admin.get_uuid_metadata().uuid(alice).sync()) == 404,
              "404 after remove")

        print("if_matches_etag (last: the SDK keeps the header on later objects calls)")
        current = ok(admin.get_channel_metadata().channel(room).sync(), "get channel").data
        stale = refused(lambda: admin.set_channel_metadata().channel(room).set_name("Renamed")
                        .if_matches_etag("not-" + current["eTag"]).sync())
        check(stale == 412, "stale ETag: 412")
        fresh = ok(admin.set_channel_metadata().channel(room).set_name("Renamed")
                   .if_matches_etag(current["eTag"]).sync(), "current ETag accepted").data
        check(fresh["name"] == "Renamed", "renamed with the current ETag")
    finally:
        watcher.unsubscribe_all()
        watcher.stop()
        admin.stop()


def write(origin, prefix):
    """What tests/python_interop.rs reads with this SDK."""
    pubnub = PubNub(base_config(origin, "python-writer", "pub-key", "sub-key", None))
    try:
        ok(pubnub.set_uuid_metadata().uuid(f"{prefix}-user").set_name("Py User")
           .email("py@example.com").custom({"lang": "python", "n": 1}).sync(), "set user")
        ok(pubnub.set_channel_metadata().channel(f"{prefix}-room").set_name("Py Room")
           .description("made in Python").sync(), "set channel")
        ok(pubnub.set_channel_members().channel(f"{prefix}-room")
           .uuids([PNUserMember(f"{prefix}-user", custom={"role": "owner"})]).sync(), "set member")
    finally:
        pubnub.stop()


def read(origin, prefix):
    """Checks what tests/python_interop.rs stored with this SDK."""
    pubnub = PubNub(base_config(origin, "python-reader", "pub-key", "sub-key", None))
    try:
        user = ok(pubnub.get_uuid_metadata().uuid(f"{prefix}-user").include_custom(True).sync(),
                  "get user").data
        check(user["name"] == "Rust User" and user["custom"] == {"lang": "rust", "n": 2},
              "user set by Rust")
        room = ok(pubnub.get_channel_metadata().channel(f"{prefix}-room").sync(),
                  "get channel").data
        check(room["description"] == "made in Rust", "channel set by Rust")
        members = ok(pubnub.get_channel_members().channel(f"{prefix}-room")
                     .include(MemberIncludes(custom=True, user=True)).sync(), "get members").data
        check([(m["uuid"]["id"], m["custom"]) for m in members]
              == [(f"{prefix}-user", {"role": "owner"})], "member set by Rust")
        check(members[0]["uuid"].get("name") == "Rust User", "member's user name")
    finally:
        pubnub.stop()


if __name__ == "__main__":
    if len(sys.argv) not in (2, 4):
        print(__doc__)
        sys.exit(2)
    try:
        origin = urlparse(sys.argv[1]).netloc
        if len(sys.argv) == 2:
            full_check(origin)
        elif sys.argv[2] == "write":
            write(origin, sys.argv[3])
        elif sys.argv[2] == "read":
            read(origin, sys.argv[3])
        else:
            print(__doc__)
            sys.exit(2)
        print("app_context: all checks passed")
    except Failure as failure:
        print(f"INTEROP FAILURE: {failure}")
        sys.exit(1)
    except Exception as error:
        traceback.print_exc()
        print(f"INTEROP ERROR: {error!r}")
        sys.exit(1)
