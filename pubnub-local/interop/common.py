"""What the interop scripts share: the run's keys (PN_PUBLISH_KEY, PN_SUBSCRIBE_KEY and
PN_SECRET_KEY from run.sh, or keys of this run), the failure and check helpers, and the
configuration every client starts from: plain HTTP to pubnub-local, no presence heartbeat.
"""

import os
import uuid as uuidlib

from pubnub.pnconfiguration import PNConfiguration

WAIT = 15.0
RUN = uuidlib.uuid4().hex[:8]
PUBLISH_KEY = os.environ.get("PN_PUBLISH_KEY", f"pub-{RUN}")
SUBSCRIBE_KEY = os.environ.get("PN_SUBSCRIBE_KEY", f"sub-{RUN}")
SECRET_KEY = os.environ.get("PN_SECRET_KEY")


class Failure(Exception):
    pass


def check(condition, what):
    if not condition:
        raise Failure(what)
    print(f"  ok: {what}")


def ok(envelope, what):
    """The result of an asyncio or sync envelope; a Failure naming the error otherwise."""
    if envelope.status.is_error():
        data = envelope.status.error_data
        raise Failure(f"{what}: {envelope.status.category} {envelope.status.status_code} "
                      f"{getattr(data, 'information', data)!r} {getattr(data, 'exception', '')!r}")
    return envelope.result


def base_config(origin, user_id, publish_key=PUBLISH_KEY, subscribe_key=SUBSCRIBE_KEY,
                secret_key=SECRET_KEY):
    """A configuration for pubnub-local at `origin` (host:port): signed when `secret_key`."""
    config = PNConfiguration()
    config.publish_key = publish_key
    config.subscribe_key = subscribe_key
    if secret_key:
        config.secret_key = secret_key
    config.user_id = user_id
    config.origin = origin
    config.ssl = False
    config.enable_presence_heartbeat = False
    return config
