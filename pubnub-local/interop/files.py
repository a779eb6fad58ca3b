"""Interop check of File Sharing: PubNub's official Python SDK (asyncio) against pubnub-local.

Usage: python files.py http://127.0.0.1:PORT

Sends files with the SDK's send_file — plain, with a cipher key (the legacy cryptor) and with
the AES-CBC crypto module — and checks what the SDK itself makes of every answer: the file
events a subscriber receives, list_files (with limit and next), get_file_url, download_file
(the same bytes back; the stored bytes are the SDK's ciphertext when encrypted), delete_file,
the file message in history (message_type 4), and the storage's 5 MiB limit.

With PN_PUBLISH_KEY, PN_SUBSCRIBE_KEY and PN_SECRET_KEY set (run.sh sets them), the server
enforces Access Manager: the encrypted flows are signed (the JSON body of generate-upload-url
included), the plain flow uses tokens granted here (write to send, read to list and download,
delete to delete) and checks that a read-only token cannot send or delete. The storage's upload
and download carry neither, as on the service (the form and the URL are their own
authorization). The plain flow sends `meta` with a token, not signed: Python 10.4.0 signs
publish-file's `meta` (and `custom_message_type`) already percent-encoded, so a server that
checks the value it received, decoded and re-encoded, as the service does for publish, refuses
the signature whenever the JSON needs escaping.

Exits non-zero on the first mismatch. Every wait is bounded.
"""

import asyncio
import sys
import traceback
from urllib.parse import urlparse

from pubnub.callbacks import SubscribeCallback
from pubnub.crypto import AesCbcCryptoModule
from pubnub.enums import PNStatusCategory
from pubnub.exceptions import PubNubException
from pubnub.models.consumer.v3.channel import Channel
from pubnub.pubnub import PubNub
from pubnub.pubnub_asyncio import PubNubAsyncio

from common import RUN, SECRET_KEY, SUBSCRIBE_KEY, WAIT, Failure, base_config, check, ok

NI = b"Knights who say Ni!"


class Listener(SubscribeCallback):
    """Statuses and file events, one queue each."""

    def __init__(self):
        self.statuses = asyncio.Queue()
        self.files = asyncio.Queue()

    def status(self, pubnub, status):
        self.statuses.put_nowait(status)

    def message(self, pubnub, message):
        pass

    def presence(self, pubnub, presence):
        pass

    def file(self, pubnub, file_message):
        self.files.put_nowait(file_message)

    async def connected(self):
        while True:
            status = await asyncio.wait_for(self.statuses.get(), WAIT)
            if status.is_error():
                raise Failure(f"subscribe status error: {status.category} {status.error_data}")
            if status.category == PNStatusCategory.PNConnectedCategory:
                return status

    async def next_file(self):
        return await asyncio.wait_for(self.files.get(), WAIT)


def config_for(origin, user_id, cipher_key=None, crypto_module=False, signed=True):
    config = base_config(origin, user_id, secret_key=SECRET_KEY if signed else None)
    if cipher_key:
        # A cipher key alone is the legacy cryptor (random IV, no header); with the AES-CBC
        # crypto module the SDK writes the `PNED` header.
        config.cipher_key = cipher_key
        if crypto_module:
            config.crypto_module = AesCbcCryptoModule(config)
    return config


def client(origin, user_id, **crypto):
    return PubNubAsyncio(config_for(origin, user_id, **crypto))


def token_client(origin, user_id, token, sync=False):
    """A client without the secret key that sends `token` as `auth` (signed when None)."""
    if token is None:
        config = config_for(origin, user_id)
    else:
        config = config_for(origin, user_id, signed=False)
    pubnub = PubNub(config) if sync else PubNubAsyncio(config)
    if token is not None:
        pubnub.set_token(token)
    return pubnub


def grant(origin, channel, *permissions):
    """A token for `channel` with these permissions (`read`, `write`, `delete`)."""
    admin = PubNub(config_for(origin, "admin"))
    try:
        resource = Channel.id(channel)
        for permission in permissions:
            resource = getattr(resource, permission)()
        return admin.grant_token().ttl(15).channels([resource]).sync().result.token
    finally:
        admin.stop()


SUBSCRIBED = []


async def subscribed(pubnub, channel):
    """A listener on `channel`. Python 10.4.0 delivers one file event per subscription only:
    its subscription set has no `file_message`, so the receive loop fails right after handing
    the first file event to the listeners added before it (this one)."""
    listener = Listener()
    pubnub.add_listener(listener)
    pubnub.subscribe().channels([channel]).execute()
    SUBSCRIBED.append(pubnub)
    await listener.connected()
    return listener


async def download(pubnub, channel, file_id, name):
    return ok(await pubnub.download_file().channel(channel).file_id(file_id).file_name(name)
              .future(), f"download_file {name}").data


async def plain(origin, channel, sender, reader, receiver, read_only):
    listener = await subscribed(receiver, channel)
    if read_only is not None:
        print("Access Manager")

        def send_read_only():
            pubnub = token_client(origin, "reader", read_only, sync=True)
            try:
                pubnub.send_file().channel(channel).file_name("no.txt").file_object(NI).sync()
            except PubNubException as error:
                return error
            finally:
                pubnub.stop()
            return None

        error = await asyncio.wait_for(asyncio.to_thread(send_read_only), WAIT)
        check(error is not None and error.get_status_code() == 403,
              "a token without write cannot get an upload form (403)")

    print("send_file")
    sent = ok(await sender.send_file().channel(channel).file_name("king_arthur.txt")
              .message({"test_message": "test"}).meta({"kind": "doc"})
              .custom_message_type("file-msg").should_store(True).ttl(222)
              .file_object(NI).future(), "send_file")
    check(sent.name == "king_arthur.txt", "the name the form was issued for")
    check(len(sent.file_id) == 36 and int(sent.timestamp) > 0, "a file id and the publish timetoken")

    event = await listener.next_file()
    check((event.file_id, event.file_name) == (sent.file_id, "king_arthur.txt"),
          "the subscriber got the file event (e: 4)")
    check(event.message == {"test_message": "test"}, "with the message")
    check((event.publisher, event.custom_message_type, event.user_metadata)
          == ("sender", "file-msg", {"kind": "doc"}), "publisher, custom message type, meta")
    check(int(event.timetoken) == int(sent.timestamp), "at the publish timetoken")
    check(event.file_url.startswith(f"http://{origin}/v1/files/{SUBSCRIBE_KEY}/channels/{channel}"
                                    f"/files/{sent.file_id}/king_arthur.txt?"),
          "the event's URL is this server's file URL")

    print("get_file_url, download_file")
    url = ok(await reader.get_file_url().channel(channel).file_id(sent.file_id)
             .file_name("king_arthur.txt").future(), "get_file_url").file_url
    check(url.startswith(f"http://{origin}/__files/download/{SUBSCRIBE_KEY}/")
          and url.endswith(f"/{sent.file_id}/king_arthur.txt"),
          f"the redirect's Location is the storage's download: {url}")
    check(await download(reader, channel, sent.file_id, "king_arthur.txt") == NI,
          "the same bytes back")

    print("list_files")
    more = [ok(await sender.send_file().channel(channel).file_name(name).should_store(True)
               .file_object(data).future(), f"send_file {name}")
            for name, data in [("b.bin", bytes(range(256))), ("c", b"\n")]]
    ids = sorted([sent.file_id] + [m.file_id for m in more])
    first = ok(await reader.list_files(channel, limit=2).future(), "list_files limit=2")
    check(first.count == 2 and first.next, "a first page of two, with next")
    second = ok(await reader.list_files(channel, limit=2, next=first.next).future(),
                "list_files next")
    check(second.count == 1 and second.next is None, "the last page, next null")
    check([f["id"] for f in first.data + second.data] == ids, "in id order")
    listed = {f["id"]: f for f in first.data + second.data}
    check((listed[sent.file_id]["name"], listed[sent.file_id]["size"])
          == ("king_arthur.txt", 19), "name and size")
    check(listed[more[1].file_id]["size"] == 1, "a one-byte file (Python refuses empty ones)")
    check(await download(reader, channel, more[0].file_id, "b.bin") == bytes(range(256)),
          "binary bytes back")

    print("history")
    history = await asyncio.to_thread(
        lambda: PubNub(config_for(origin, "historian")).fetch_messages().channels([channel])
        .include_message_type(True).sync().result)
    items = history.channels.get(channel, [])
    check([item.message["file"]["id"] for item in items] == [sent.file_id] + [m.file_id for m in more],
          "the file messages are stored, oldest first")
    check([item.message_type for item in items] == [4, 4, 4], "as message type 4")
    check(items[0].message == {"message": {"test_message": "test"},
                               "file": {"id": sent.file_id, "name": "king_arthur.txt"}},
          "the message as published")

    print("delete_file")
    if read_only is not None:
        refused = await reader.delete_file().channel(channel).file_id(sent.file_id) \
            .file_name("king_arthur.txt").future()
        check(refused.status.is_error() and refused.status.status_code == 403,
              "a token without delete cannot delete (403)")
    deleted = ok(await sender.delete_file().channel(channel).file_id(sent.file_id)
                 .file_name("king_arthur.txt").future(), "delete_file")
    check(deleted.status == 200, "status 200")
    after = ok(await reader.list_files(channel).future(), "list_files after delete")
    check(sorted(f["id"] for f in after.data) == sorted(m.file_id for m in more), "it is gone")
    gone = await reader.download_file().channel(channel).file_id(sent.file_id) \
        .file_name("king_arthur.txt").future()
    check(gone.status.is_error() and gone.status.status_code == 404,
          "its download is a 404 (S3's NoSuchKey)")


async def encrypted(origin, plain_reader, label, channel, sender, receiver, check_stored):
    print(f"send_file ({label})")
    listener = await subscribed(receiver, channel)
    sent = ok(await sender.send_file().channel(channel).file_name("secret.txt")
              .message({"text": "sealed"}).should_store(True).file_object(NI).future(),
              f"send_file ({label})")
    event = await listener.next_file()
    check((event.file_id, event.file_name, event.message)
          == (sent.file_id, "secret.txt", {"text": "sealed"}),
          "the subscriber with the same key decrypts the file event")
    check(await download(receiver, channel, sent.file_id, "secret.txt") == NI,
          "download_file decrypts to the same bytes")
    stored = await download(plain_reader, channel, sent.file_id, "secret.txt")
    check(stored != NI and check_stored(stored), f"what is stored is the SDK's ciphertext "
                                                 f"({len(stored)} bytes)")
    listed = ok(await plain_reader.list_files(channel).future(), "list_files")
    check([f["size"] for f in listed.data] == [len(stored)], "listed with the stored size")
    history = await asyncio.to_thread(
        lambda: PubNub(config_for(origin, "historian")).fetch_messages().channels([channel])
        .include_message_type(True).sync().result)
    items = history.channels.get(channel, [])
    check(len(items) == 1 and isinstance(items[0].message, str) and items[0].message_type == 4,
          "history keeps the encrypted message as published (a string), message type 4")


def too_large(origin):
    """The sync client raises the storage's error text (S3's XML) as its exception."""
    pubnub = PubNub(config_for(origin, "sender"))
    try:
        pubnub.send_file().channel(f"files-big-{RUN}").file_name("file_5mb") \
            .file_object(b"x" * (5 * 1024 * 1024 + 1)).sync()
    except PubNubException as error:
        return error
    finally:
        pubnub.stop()
    return None


def quiet_known_sdk_bug(loop, context):
    """Keeps the failure `subscribed` describes out of the output; reports anything else."""
    error = context.get("exception")
    if isinstance(error, AttributeError) and "file_message" in str(error):
        return
    loop.default_exception_handler(context)


async def main(url):
    asyncio.get_running_loop().set_exception_handler(quiet_known_sdk_bug)
    origin = urlparse(url).netloc
    channel = f"files-plain-{RUN}"
    # With Access Manager on, the plain flow runs on tokens; without, on nothing at all.
    writer_token = grant(origin, channel, "read", "write", "delete") if SECRET_KEY else None
    reader_token = grant(origin, channel, "read") if SECRET_KEY else None
    sender = token_client(origin, "sender", writer_token)
    reader = token_client(origin, "reader", reader_token)
    receiver = client(origin, "receiver")
    legacy_sender = client(origin, "sender", cipher_key="silly_walk")
    legacy_receiver = client(origin, "receiver", cipher_key="silly_walk")
    module_sender = client(origin, "sender", cipher_key="enigma", crypto_module=True)
    module_receiver = client(origin, "receiver", cipher_key="enigma", crypto_module=True)
    everyone = [sender, reader, receiver, legacy_sender, legacy_receiver, module_sender,
                module_receiver]
    try:
        await plain(origin, channel, sender, reader, receiver, reader_token)
        # Legacy: random IV(16) then AES-CBC with PKCS#7, no header: 48 bytes for 19.
        signed_reader = client(origin, "reader")
        everyone.append(signed_reader)
        await encrypted(origin, signed_reader, "cipher key: legacy cryptor", f"files-legacy-{RUN}",
                        legacy_sender, legacy_receiver, lambda data: len(data) == 48)
        await encrypted(origin, signed_reader, "AES-CBC crypto module", f"files-module-{RUN}",
                        module_sender, module_receiver,
                        lambda data: data.startswith(b"PNED\x01ACRH\x10"))

        print("the 5 MiB limit")
        error = await asyncio.wait_for(asyncio.to_thread(too_large, origin), 60)
        check(error is not None and "Your proposed upload exceeds the maximum allowed size"
              in str(error), "a file over 5 MiB is refused with S3's EntityTooLarge")
        listed = ok(await signed_reader.list_files(f"files-big-{RUN}").future(), "list_files")
        check(listed.count == 0, "and nothing is stored")

        print("all files interop checks passed"
              + (" (Access Manager on: signatures and tokens checked)" if SECRET_KEY else ""))
    finally:
        for pubnub in everyone:
            try:
                if pubnub in SUBSCRIBED:
                    pubnub.unsubscribe_all()
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
        traceback.print_exc()
        print(f"INTEROP ERROR: {error!r}")
        sys.exit(1)
