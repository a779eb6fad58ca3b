"""Access Manager tokens with PubNub's official Python SDK, for tests/python_interop.rs.

Usage:
  python pam_tokens.py grant URL PUBLISH_KEY SUBSCRIBE_KEY SECRET_KEY CHANNEL USER_ID
      grants USER_ID read and write on CHANNEL for 10 minutes; prints the token
  python pam_tokens.py parse TOKEN
      prints the SDK's parse_token of TOKEN as JSON
"""

import json
import sys
from urllib.parse import urlparse

from pubnub.models.consumer.v3.channel import Channel
from pubnub.pubnub import PubNub

from common import base_config


def sdk(origin="127.0.0.1", publish_key="p", subscribe_key="s", secret_key=None):
    config = base_config(origin, "python-admin", publish_key, subscribe_key, secret_key)
    return PubNub(config)


def main(args):
    if len(args) == 8 and args[1] == "grant":
        _, _, url, publish_key, subscribe_key, secret_key, channel, user_id = args
        pubnub = sdk(urlparse(url).netloc, publish_key, subscribe_key, secret_key)
        envelope = (pubnub.grant_token().ttl(10).authorized_uuid(user_id)
                    .channels([Channel.id(channel).read().write()]).sync())
        print(envelope.result.token)
        pubnub.stop()
    elif len(args) == 3 and args[1] == "parse":
        print(json.dumps(sdk().parse_token(args[2]), default=repr))
    else:
        print(__doc__)
        sys.exit(2)


if __name__ == "__main__":
    main(sys.argv)
