"""Interop check of mobile push: PubNub's official Python SDK against pubnub-local.

Usage:
  python push.py URL
      the check (run.sh runs it): every registration call of the SDK, for GCM (FCM), legacy
      APNs, MPNS and APNs2 (topic, development and production), what the SDK makes of each
      answer, the recorded errors, and the outbox (GET /__push/outbox) after the SDK publishes
      pn_fcm / pn_apns messages.
  python push.py register URL DEVICE CHANNEL...
      registers the FCM (type=gcm) device DEVICE on the channels; prints nothing
  python push.py list URL DEVICE
      prints the JSON list of the channels of the FCM (type=gcm) device DEVICE

`register` and `list` use the keys pub-key / sub-key and no secret key (other programs' tests
call them). The check uses PN_PUBLISH_KEY, PN_SUBSCRIBE_KEY and PN_SECRET_KEY when set (run.sh
sets them and starts the server with that secret key): then every call is signed, and a client
without the secret key uses a token granted here (read on a channel lets it register the device
there; elsewhere it is refused). Tokens that need percent-encoding in the path (spaces,
non-ASCII) go through a client that does not sign: Python 10.4.0 signs the path before it is
encoded, so a server that checks the path it received refuses those signatures.

Exits non-zero on the first mismatch.
"""

import json
import sys
import traceback
import urllib.request
from urllib.parse import urlparse

from pubnub.endpoints.endpoint import Endpoint
from pubnub.enums import PNPushEnvironment, PNPushType
from pubnub.exceptions import PubNubException
from pubnub.models.consumer.v3.channel import Channel
from pubnub.pubnub import PubNub

from common import PUBLISH_KEY, RUN, SECRET_KEY, SUBSCRIBE_KEY, Failure, base_config, check

TOPIC = "com.example.testapp.notifications"
DEV = PNPushEnvironment.DEVELOPMENT
PROD = PNPushEnvironment.PRODUCTION


def client(origin, user_id, secret=True, publish_key=PUBLISH_KEY, subscribe_key=SUBSCRIBE_KEY):
    return PubNub(base_config(origin, user_id, publish_key, subscribe_key,
                              SECRET_KEY if secret else None))


def add(pubnub, device, channels, push_type, topic=None, environment=None):
    call = pubnub.add_channels_to_push(channels).device_id(device).push_type(push_type)
    if push_type == PNPushType.APNS2:
        call = call.topic(topic).environment(environment)
    return call.sync()


def remove(pubnub, device, channels, push_type, topic=None, environment=None):
    call = (pubnub.remove_channels_from_push().channels(channels).device_id(device)
            .push_type(push_type))
    if push_type == PNPushType.APNS2:
        call = call.topic(topic).environment(environment)
    # Python 10.4.0's RemoveChannelsFromPush.sync calls a `process_sync` that does not exist:
    # send it the way every other endpoint's sync does.
    return Endpoint.sync(call)


def listed(pubnub, device, push_type, topic=None, environment=None):
    call = pubnub.list_push_channels().device_id(device).push_type(push_type)
    if push_type == PNPushType.APNS2:
        call = call.topic(topic).environment(environment)
    return call.sync().result.channels


def remove_device(pubnub, device, push_type, topic=None, environment=None):
    call = pubnub.remove_device_from_push().device_id(device).push_type(push_type)
    if push_type == PNPushType.APNS2:
        call = call.topic(topic).environment(environment)
    return call.sync()


def refused(call, status, what):
    """`call` must fail with HTTP `status`; returns the error's body text."""
    try:
        call()
    except PubNubException as error:
        check(error.get_status_code() == status, f"{what}: {status} ({error.get_status_code()})")
        return str(error)
    raise Failure(f"{what}: not refused")


def outbox(url, channel):
    """The notifications of `channel` in GET /__push/outbox."""
    with urllib.request.urlopen(f"{url}/__push/outbox", timeout=10) as response:
        body = json.load(response)
    return [n for n in body["notifications"] if n["channel"] == channel]


def v1_calls(pubnub, unsigned):
    device = "0000000000000000"
    print("GCM (FCM)")
    gcm = [f"gcm-{RUN}-1", f"gcm-{RUN}-2"]
    add(pubnub, device, gcm, PNPushType.GCM)
    check(listed(pubnub, device, PNPushType.GCM) == gcm, "listed after add")
    remove(pubnub, device, [gcm[0], f"never-{RUN}"], PNPushType.GCM)
    check(listed(pubnub, device, PNPushType.GCM) == gcm[1:], "one removed, a stranger ignored")

    print("legacy APNs")
    apns = [f"ch_{RUN}_{i}" for i in (5, 1, 3)]
    add(pubnub, device, apns, PNPushType.APNS)
    add(pubnub, device, apns[:1], PNPushType.APNS)
    check(listed(pubnub, device, PNPushType.APNS) == sorted(apns), "sorted, no duplicates")
    check(listed(pubnub, device, PNPushType.GCM) == gcm[1:], "GCM registrations are apart")
    check(listed(pubnub, device, PNPushType.MPNS) == [], "MPNS lists nothing")
    remove_device(pubnub, device, PNPushType.APNS)
    check(listed(pubnub, device, PNPushType.APNS) == [], "device removed")
    check(listed(pubnub, device, PNPushType.GCM) == gcm[1:], "GCM untouched")
    for _ in range(3):
        remove_device(pubnub, "nonexistent_device_123", PNPushType.APNS)
    check(True, "removing an unknown device, again and again")
    remove_device(pubnub, device, PNPushType.MPNS)
    hundred = [f"max_channel_{i}" for i in range(100)]
    remove(pubnub, device, hundred + hundred[:3], PNPushType.APNS)
    check(True, "removing 100 channels, duplicates included")

    print("errors")
    text = refused(lambda: add(pubnub, "device_id_should_be_16_characters_long", ["a"],
                               PNPushType.APNS), 400, "a non-hex APNs token")
    check("Invalid device token" in text, f"the service's text: {text}")
    text = refused(lambda: add(pubnub, device, ["a b"], PNPushType.GCM), 400,
                   "a channel name with a space")
    check("Invalid channel name" in text, f"named: {text}")

    print("tokens needing encoding")
    for token in ["测试设备ID123456", "  1234567890ABCDEF  "]:
        channel = f"enc-{RUN}"
        add(unsigned, token, [channel], PNPushType.GCM)
        check(listed(unsigned, token, PNPushType.GCM) == [channel], f"{token!r} kept as sent")
        remove_device(unsigned, token, PNPushType.GCM)
        check(listed(unsigned, token, PNPushType.GCM) == [], f"{token!r} removed")


def apns2_calls(pubnub):
    print("APNs2")
    device = f"{RUN}0000000000000000"
    dev = [f"apns2-dev-{RUN}-1", f"apns2-dev-{RUN}-2"]
    prod = [f"apns2-prod-{RUN}-1"]
    add(pubnub, device, dev, PNPushType.APNS2, TOPIC, DEV)
    add(pubnub, device, prod, PNPushType.APNS2, TOPIC, PROD)
    check(listed(pubnub, device, PNPushType.APNS2, TOPIC, DEV) == dev, "development list")
    check(listed(pubnub, device, PNPushType.APNS2, TOPIC, PROD) == prod, "production list")
    check(listed(pubnub, device, PNPushType.APNS2, "com.example.other", DEV) == [],
          "another topic lists nothing")
    check(listed(pubnub, device, PNPushType.APNS, None, None) == [], "legacy APNs is apart")
    remove(pubnub, device, dev[:1], PNPushType.APNS2, TOPIC, DEV)
    check(listed(pubnub, device, PNPushType.APNS2, TOPIC, DEV) == dev[1:], "removed one")
    remove_device(pubnub, device, PNPushType.APNS2, TOPIC, DEV)
    check(listed(pubnub, device, PNPushType.APNS2, TOPIC, DEV) == [], "development removed")
    check(listed(pubnub, device, PNPushType.APNS2, TOPIC, PROD) == prod, "production kept")
    remove_device(pubnub, device, PNPushType.APNS2, TOPIC, PROD)


def outbox_check(url, pubnub):
    print("outbox")
    channel = f"push-outbox-{RUN}"
    add(pubnub, f"fcm-{RUN}", [channel], PNPushType.GCM)
    add(pubnub, f"{RUN}aaaa", [channel], PNPushType.APNS2, TOPIC, DEV)
    add(pubnub, f"{RUN}bbbb", [channel], PNPushType.APNS2, TOPIC, PROD)
    pubnub.publish().channel(channel).message({"text": "no push"}).sync()
    check(outbox(url, channel) == [], "a message without pn_* pushes nothing")
    fcm = {"notification": {"title": "Chat invitation", "body": "You have been invited"}}
    apns = {"aps": {"alert": {"title": "Chat invitation"}, "sound": "default"},
            "pn_push": [{"auth_method": "token", "version": "v2",
                         "targets": [{"environment": "development", "topic": TOPIC}]}]}
    envelope = pubnub.publish().channel(channel).message(
        {"text": "invite", "pn_fcm": fcm, "pn_apns": apns}).sync()
    sent = outbox(url, channel)
    timetoken = str(envelope.result.timetoken)
    check(len(sent) == 2 and all(n["timetoken"] == timetoken for n in sent),
          "two notifications, at the publish timetoken")
    by_type = {n["push_type"]: n for n in sent}
    check(by_type["fcm"]["token"] == f"fcm-{RUN}" and by_type["fcm"]["payload"] == fcm,
          "the FCM device gets pn_fcm")
    apns2 = by_type["apns2"]
    check((apns2["token"], apns2["topic"], apns2["environment"])
          == (f"{RUN}aaaa", TOPIC, "development"), "the development APNs2 device only")
    check(apns2["payload"] == {"aps": apns["aps"]}, "and gets pn_apns without pn_push")


def token_check(origin):
    """Without the secret key, a token: read on a channel lets the device register there."""
    print("Access Manager")
    admin = client(origin, "admin")
    allowed = f"push-token-{RUN}"
    token = (admin.grant_token().ttl(15)
             .channels([Channel.id(allowed).read(), Channel.id(f"enc-{RUN}").read()])
             .sync().result.token)
    admin.stop()
    user = client(origin, "user", secret=False)
    user.set_token(token)
    add(user, "tok", [allowed], PNPushType.GCM)
    check(listed(user, "tok", PNPushType.GCM) == [allowed], "read on the channel: registered")
    refused(lambda: add(user, "tok", [f"elsewhere-{RUN}"], PNPushType.GCM), 403,
            "a channel the token does not name")
    nobody = client(origin, "nobody", secret=False)
    refused(lambda: listed(nobody, "tok", PNPushType.GCM), 403, "no token")
    nobody.stop()
    return user


def main(url):
    origin = urlparse(url).netloc
    pubnub = client(origin, "pusher")
    unsigned = token_check(origin) if SECRET_KEY else pubnub
    try:
        v1_calls(pubnub, unsigned)
        apns2_calls(pubnub)
        outbox_check(url, pubnub)
        print("all push interop checks passed"
              + (" (Access Manager on: signatures and tokens checked)" if SECRET_KEY else ""))
    finally:
        pubnub.stop()
        if unsigned is not pubnub:
            unsigned.stop()


def register(url, device, channels):
    pubnub = client(urlparse(url).netloc, "push-register", secret=False,
                    publish_key="pub-key", subscribe_key="sub-key")
    try:
        add(pubnub, device, channels, PNPushType.GCM)
    finally:
        pubnub.stop()


def list_channels(url, device):
    pubnub = client(urlparse(url).netloc, "push-list", secret=False,
                    publish_key="pub-key", subscribe_key="sub-key")
    try:
        print(json.dumps(listed(pubnub, device, PNPushType.GCM)))
    finally:
        pubnub.stop()


if __name__ == "__main__":
    args = sys.argv[1:]
    try:
        if len(args) >= 4 and args[0] == "register":
            register(args[1], args[2], args[3:])
        elif len(args) == 3 and args[0] == "list":
            list_channels(args[1], args[2])
        elif len(args) == 1:
            main(args[0])
        else:
            print(__doc__)
            sys.exit(2)
    except Failure as failure:
        print(f"INTEROP FAILURE: {failure}")
        sys.exit(1)
    except Exception as error:
        traceback.print_exc()
        print(f"INTEROP ERROR: {error!r}")
        sys.exit(1)
