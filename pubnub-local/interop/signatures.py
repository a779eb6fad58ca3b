"""Expected Access Manager signatures, computed by PubNub's official Python SDK.

Usage: python signatures.py > signatures.json

For a fixed table of requests (method, path as sent, query with raw values, body, keys and
timestamp), prints the signature that the SDK's own `pubnub.utils.sign_request` puts on each,
as JSON. The SDK chooses the form itself: v1 for a POST to /publish, v2 for everything else.
`signatures.json` beside this script is its committed output: `.ci/run` runs this script with
the pinned SDK (requirements.txt) and fails when the output differs, and the Rust tests of the
SDK (src/transport/signature.rs) and of pubnub-local (src/http/auth.rs) compare their own
signatures with it. The expectations therefore come from PubNub's code, not ours.
"""

import json
import sys
from importlib.metadata import version
from types import SimpleNamespace

from pubnub.enums import HttpMethod
from pubnub.utils import sign_request

PUB = "pub-c-a1b2c3"
SUB = "sub-c-d4e5f6"
SECRET = "sec-c-Zm9vYmFyYmF6"
TIMESTAMP = 1_700_000_000
SDK = "PubNub-Engine-Rust/0.1.0"
UUID = "user-1"
REQUEST_ID = "6f1d2c3b-4a59-4e8f-9d0c-1b2a3c4d5e6f"


def common(*extra):
    """What every request carries (auth excepted), then the endpoint's own parameters."""
    return [("pnsdk", SDK), ("requestid", REQUEST_ID), ("uuid", UUID), *extra]


# (name, method, path as sent, query with raw values, body)
CASES = [
    ("publish GET", "GET",
     f"/publish/{PUB}/{SUB}/0/chat/0/%7B%22text%22%3A%22hi%22%7D",
     common(("seqn", "1")), None),
    ("publish GET, every option", "GET",
     f"/publish/{PUB}/{SUB}/0/chat/0/%22hello%20world%22",
     [("auth", "auth key/1"), *common(
         ("store", "1"), ("ttl", "24"),
         ("meta", '{"k":"a&b=c","lang":"日本","quote":"\\"x\\""}'),
         ("custom_message_type", "chat-msg_1"), ("seqn", "2"))], None),
    ("publish POST (v1)", "POST",
     f"/publish/{PUB}/{SUB}/0/chat/0",
     common(("store", "0"), ("seqn", "3")), '{"text":"a&b /?#"}'),
    ("publish POST with meta (v1)", "POST",
     f"/publish/{PUB}/{SUB}/0/room%201/0",
     common(("meta", '{"priority":"high"}'), ("seqn", "4")), '"hi"'),
    ("fire GET", "GET",
     f"/publish/{PUB}/{SUB}/0/chat/0/5",
     common(("store", "0"), ("norep", "true"), ("seqn", "5")), None),
    ("fire POST (v1)", "POST",
     f"/publish/{PUB}/{SUB}/0/chat/0",
     common(("store", "0"), ("norep", "true"), ("seqn", "6")), "[1,2,3]"),
    ("signal", "GET",
     f"/signal/{PUB}/{SUB}/0/chat/0/%22typing%22",
     common(("custom_message_type", "typing")), None),
    ("subscribe handshake", "GET",
     f"/v2/subscribe/{SUB}/a,b,a-pnpres/0",
     common(("tt", "0"), ("channel-group", "g1,g2"), ("heartbeat", "300"),
            ("state", '{"a":{"mood":"ok"}}'),
            ("filter-expr", "meta.lang == 'en' && !(data.n > 1) || x LIKE '*~[0]'")),
     None),
    ("subscribe long-poll", "GET",
     f"/v2/subscribe/{SUB}/a/0",
     common(("tt", "17000000000000000"), ("tr", "12"), ("heartbeat", "300")), None),
    ("subscribe groups only", "GET",
     f"/v2/subscribe/{SUB}/,/0",
     common(("tt", "0"), ("channel-group", "g1"), ("heartbeat", "300")), None),
    ("heartbeat", "GET",
     f"/v2/presence/sub-key/{SUB}/channel/a,b/heartbeat",
     common(("heartbeat", "300"), ("state", '{"a":{"n":1}}')), None),
    ("leave", "GET",
     f"/v2/presence/sub-key/{SUB}/channel/a/leave",
     common(("channel-group", "g1")), None),
    ("here now", "GET",
     f"/v2/presence/sub-key/{SUB}/channel/a,b",
     common(("state", "1"), ("limit", "1000")), None),
    ("where now", "GET",
     f"/v2/presence/sub-key/{SUB}/uuid/user%201",
     common(), None),
    ("set state", "GET",
     f"/v2/presence/sub-key/{SUB}/channel/a/uuid/user-1/data",
     common(("state", '{"mood":"très bien","n":1.5}')), None),
    ("get state", "GET",
     f"/v2/presence/sub-key/{SUB}/channel/a,b/uuid/user-1",
     common(("channel-group", "g1")), None),
    ("channel group add", "GET",
     f"/v1/channel-registration/sub-key/{SUB}/channel-group/g1",
     common(("add", "a,b")), None),
    ("channel group remove", "GET",
     f"/v1/channel-registration/sub-key/{SUB}/channel-group/g1",
     common(("remove", "b")), None),
    ("channel group list channels", "GET",
     f"/v1/channel-registration/sub-key/{SUB}/channel-group/g1",
     common(), None),
    ("channel group list groups", "GET",
     f"/v1/channel-registration/sub-key/{SUB}/channel-group",
     common(), None),
    ("channel group delete", "GET",
     f"/v1/channel-registration/sub-key/{SUB}/channel-group/g1/remove",
     common(), None),
    ("time", "GET", "/time/0", common(), None),
    ("every character class in a value", "GET",
     f"/v2/presence/sub-key/{SUB}/channel/a/uuid/user-1/data",
     [("auth", "qEF2AkF0Gmgw+/=~"),
      *common(("state", "{\"s\":\"a b+c*!'()[]~%/?#&=é日🦀\\t\"}"))], None),
]


def signature(method, path, query, body):
    """What the SDK's `sign_request` puts in `signature` for this request."""
    endpoint = SimpleNamespace(get_path=lambda: path, build_path=lambda: path)
    pubnub = SimpleNamespace(
        config=SimpleNamespace(publish_key=PUB, subscribe_key=SUB, secret_key=SECRET),
        timestamp=lambda: TIMESTAMP,
    )
    params = dict(query)
    assert len(params) == len(query), "one value per name"
    sign_request(endpoint, pubnub, params, getattr(HttpMethod, method), body)
    return params["signature"]


def main():
    cases = []
    for name, method, path, query, body in CASES:
        cases.append({
            "name": name,
            "method": method,
            "path": path,
            "query": [list(pair) for pair in query],
            "body": body,
            "publish_key": PUB,
            "subscribe_key": SUB,
            "secret_key": SECRET,
            "timestamp": TIMESTAMP,
            "signature": signature(method, path, query, body),
        })
    table = {
        "generated_by": f"pubnub {version('pubnub')} pubnub.utils.sign_request"
                        " (pubnub-local/interop/signatures.py)",
        "cases": cases,
    }
    json.dump(table, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
