"""Interop check of Access Manager: PubNub's official Python SDK against pubnub-local started
with a secret key (PROTOCOL.md §12.4, §12.5).

Usage: python access.py http://127.0.0.1:PORT   (PN_PUBLISH_KEY, PN_SUBSCRIBE_KEY and
PN_SECRET_KEY set, as run.sh sets them)

The SDK grants a token (signed POST with a JSON body), parses it with its own parse_token
(which does not restore `=` padding: pubnub-local keeps it), uses it without the secret key
(allowed publish, refused publish, refused user id), revokes it (signed DELETE) and sees it
refused. Exits non-zero on the first mismatch.
"""

import sys
import traceback
from urllib.parse import urlparse

from pubnub.exceptions import PubNubException
from pubnub.models.consumer.v3.channel import Channel
from pubnub.models.consumer.v3.group import Group
from pubnub.pubnub import PubNub

from common import RUN, SECRET_KEY, Failure, base_config, check


def client(origin, user_id, secret):
    return PubNub(base_config(origin, user_id, secret_key=SECRET_KEY if secret else None))


def refused(call, what):
    """`call` must fail with HTTP 403."""
    try:
        call()
    except PubNubException as error:
        check(error.get_status_code() == 403, f"{what}: 403 ({error.get_status_code()})")
        return
    raise Failure(f"{what}: not refused")


def main(url):
    if not SECRET_KEY:
        raise Failure("PN_SECRET_KEY is required: pubnub-local must enforce tokens")
    origin = urlparse(url).netloc
    admin = client(origin, "admin", secret=True)
    chat = f"chat-{RUN}"

    print("grant_token")
    envelope = (admin.grant_token()
                .ttl(15)
                .authorized_uuid("alice")
                .channels([Channel.id(chat).read().write(), Channel.pattern("^news-.*$").read()])
                .groups([Group.id("g").read()])
                .meta({"plan": "free", "level": 3})
                .sync())
    token = envelope.result.token
    check(isinstance(token, str) and len(token) > 50, "a token")
    check(len(token) % 4 == 0, "padding kept")

    print("parse_token")
    parsed = admin.parse_token(token)
    print(f"  parsed: {parsed!r}")
    check(parsed["version"] == 2, "version 2")
    check(parsed["ttl"] == 15, "ttl")
    check(parsed["authorized_uuid"] == "alice", "authorized uuid")
    check(parsed["resources"]["channels"][chat]["read"] is True, "chat: read")
    check(parsed["resources"]["channels"][chat]["write"] is True, "chat: write")
    check(parsed["resources"]["channels"][chat]["manage"] is False, "chat: no manage")
    check(parsed["patterns"]["channels"]["^news-.*$"]["read"] is True, "pattern: read")
    check(parsed["patterns"]["channels"]["^news-.*$"]["write"] is False, "pattern: no write")
    check(parsed["resources"]["groups"]["g"]["read"] is True, "group: read")
    check(parsed["meta"] == {"plan": "free", "level": 3}, "meta")

    print("use the token")
    alice = client(origin, "alice", secret=False)
    alice.set_token(token)
    alice.publish().channel(chat).message("hello").sync()
    check(True, "publish where write is granted")
    refused(lambda: alice.publish().channel("news-1").message("x").sync(),
            "publish where only read is granted")
    refused(lambda: alice.publish().channel("elsewhere").message("x").sync(),
            "publish on a channel the token does not name")
    nobody = client(origin, "nobody", secret=False)
    refused(lambda: nobody.publish().channel(chat).message("x").sync(), "no token")
    mallory = client(origin, "mallory", secret=False)
    mallory.set_token(token)
    refused(lambda: mallory.publish().channel(chat).message("x").sync(),
            "another user id with alice's token")

    print("revoke_token")
    admin.revoke_token(token).sync()
    check(True, "revoked")
    refused(lambda: alice.publish().channel(chat).message("again").sync(), "a revoked token")

    print("grant refusals")
    refused_grant = False
    try:
        admin.grant_token().ttl(43201).channels([Channel.id(chat).read()]).sync()
    except PubNubException as error:
        refused_grant = error.get_status_code() == 400
    check(refused_grant, "ttl above 43200 refused with 400")
    alice.stop()
    admin.stop()


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__)
        sys.exit(2)
    try:
        main(sys.argv[1])
    except Failure as failure:
        print(f"INTEROP FAILURE: {failure}")
        sys.exit(1)
    except Exception as error:
        traceback.print_exc()
        print(f"INTEROP ERROR: {error!r}")
        sys.exit(1)
