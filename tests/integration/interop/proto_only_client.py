"""A Baton controller written from proto/baton/connect/v1/connect.proto alone, as a device maker
would write one: the classes protoc generates from that file, aiohttp for HTTP and WebSocket,
zeroconf for mDNS. Nothing of Baton's own code (its codec, messages, controller) is imported;
the last check says so.

It finds the device on mDNS by name, checks its TXT record against the .proto's words, pairs
by PIN if the device is in pin mode (TLS pinned to the id, the certificate's SHA-256), says
Hello, plays a URL with SetQueue{play: true}, and waits for a state snapshot that says playing.
Then it only listens for longer than a device waits for a silent controller, kept in the
session by its Heartbeats alone, and turns the volume past 100 (clamped, not refused). It
prints one JSON line with what it saw; exit 0 means every check held.

    python proto_only_client.py --generated DIR --name NAME --media-url URL [--pin-file PATH]

DIR holds `connect_pb2.py` as protoc wrote it (`protoc --python_out`).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import ssl
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
from zeroconf import ServiceStateChange
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

SERVICE = "_baton._tcp.local."  # the .proto, "Discovery"
TXT_KEYS = {"id", "v", "type", "model", "path", "rev", "caps", "pair"}
PROTOBUF = "application/x-protobuf"
BATON_PACKAGES = {"connect", "devices", "client", "tracing", "httpguard"}


class ContractBrokenError(Exception):
    """What the device did differs from what the .proto says."""


def check(holds: bool, what: str) -> None:
    if not holds:
        raise ContractBrokenError(what)


async def discover(name: str, timeout_s: float) -> tuple[dict[str, str], str, int]:
    """Return the TXT record, an address and the port of the device called *name*."""
    found: asyncio.Queue[str] = asyncio.Queue()

    def on_change(
        zeroconf: Any, service_type: str, name: str, state_change: ServiceStateChange
    ) -> None:
        if state_change is not ServiceStateChange.Removed:
            found.put_nowait(name)

    aiozc = AsyncZeroconf(interfaces=["127.0.0.1"])
    browser = AsyncServiceBrowser(aiozc.zeroconf, SERVICE, handlers=[on_change])
    try:
        async with asyncio.timeout(timeout_s):
            while True:
                full = await found.get()
                if full != f"{name}.{SERVICE}":
                    continue
                info = AsyncServiceInfo(SERVICE, full)
                if not await info.async_request(aiozc.zeroconf, 3000):
                    continue
                txt = {
                    key.decode().lower(): (value or b"").decode()
                    for key, value in info.properties.items()
                }
                addresses = info.parsed_addresses()
                check(bool(addresses) and info.port is not None, "no address or port")
                assert info.port is not None
                return txt, addresses[0], info.port
    finally:
        await browser.async_cancel()
        await aiozc.async_close()


def pinned(device_id: str) -> aiohttp.Fingerprint:
    """TLS trusted by the certificate's SHA-256 alone (the .proto, "Trust")."""
    return aiohttp.Fingerprint(bytes.fromhex(device_id))


def no_ca() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # self-signed: the fingerprint is the trust
    return context


async def run(args: argparse.Namespace, pb: Any) -> dict[str, object]:
    seen: dict[str, object] = {}
    txt, host, port = await discover(args.name, args.timeout)
    missing = TXT_KEYS - txt.keys()
    check(not missing, f"TXT lacks {sorted(missing)}")
    check(txt["v"] == "1", f"TXT v={txt['v']}")
    check(len(txt["id"]) == 64 and all(c in "0123456789abcdef" for c in txt["id"]), "TXT id")
    check(txt["pair"] in ("open", "pin"), f"TXT pair={txt['pair']}")
    seen["txt"] = txt
    tls = txt["pair"] == "pin"  # pin mode means TLS only
    scheme = "https" if tls else "http"
    base = f"{scheme}://{host}:{port}"
    ssl_arg: Any = pinned(txt["id"]) if tls else None
    connector = aiohttp.TCPConnector(ssl=no_ca()) if tls else aiohttp.TCPConnector()
    async with aiohttp.ClientSession(connector=connector) as http:
        async with http.get(f"{base}/connect/v1/info", ssl=ssl_arg) as answer:
            check(answer.status == 200, f"info answered {answer.status}")
            check(answer.content_type == PROTOBUF, f"info as {answer.content_type}")
            info = pb.DeviceInfo.FromString(await answer.read())
        check(info.id == txt["id"], "DeviceInfo.id is not the TXT id")
        check(info.ws_path == txt["path"], "DeviceInfo.ws_path is not the TXT path")
        codecs = "\n".join(sorted(set(info.capabilities.audio_codecs)))
        recipe = hashlib.sha256(codecs.encode()).hexdigest()[:8]
        check(recipe == txt["caps"], f"caps {txt['caps']} is not the recipe's {recipe}")
        async with http.get(
            f"{base}/connect/v1/info", ssl=ssl_arg, headers={"Accept": "application/json"}
        ) as answer:
            check(answer.content_type == "application/json", "info JSON content type")
            check(json.loads(await answer.text())["id"] == info.id, "info JSON id")
        seen["device"] = {"name": info.name, "pairing": pb.PairingMode.Name(info.pairing)}

        me = pb.ClientIdentity(id="proto-only-client", name="A client from the .proto")
        token = ""
        if tls:
            request = pb.PairingRequest(client=me, pin=args.pin)
            async with http.post(
                f"{base}/connect/v1/pair",
                data=request.SerializeToString(),
                headers={"Content-Type": PROTOBUF},
                ssl=ssl_arg,
            ) as answer:
                body = await answer.read()
                if answer.status != 200:
                    failure = pb.Failure.FromString(body)
                    raise ContractBrokenError(f"pairing refused: {answer.status} {failure.message}")
                paired = pb.PairingResponse.FromString(body)
            check(paired.certificate_sha256 == txt["id"], "certificate_sha256 is not the id")
            check(paired.device_id == txt["id"], "PairingResponse.device_id")
            check(paired.role == pb.ROLE_OWNER, "the first pairer is not the owner")
            token = paired.token
            seen["paired_as"] = pb.Role.Name(paired.role)

        ws_url = f"{'wss' if tls else 'ws'}://{host}:{port}{txt['path']}"
        async with http.ws_connect(ws_url, ssl=ssl_arg) as ws:
            seen.update(await session(ws, pb, me, token, args.media_url, args.timeout))
    return seen


async def session(
    ws: aiohttp.ClientWebSocketResponse, pb: Any, me: Any, token: str, url: str, timeout_s: float
) -> dict[str, object]:
    seq = 0
    last_sent = time.monotonic()

    async def send(**body: Any) -> None:
        nonlocal seq, last_sent
        seq += 1  # per direction, from 1
        envelope = pb.Envelope(seq=seq, msg_id=uuid.uuid4().hex, **body)
        await ws.send_bytes(envelope.SerializeToString())
        last_sent = time.monotonic()

    v1 = pb.ProtocolVersion(major=1, minor=0)
    await send(hello=pb.Hello(supported=pb.VersionRange(min=v1, max=v1), client=me, token=token))
    first = pb.Envelope.FromString((await ws.receive(timeout=5)).data)
    check(first.WhichOneof("body") == "welcome", f"got {first.WhichOneof('body')}, not Welcome")
    interval = first.welcome.heartbeat_interval_ms / 1000
    check(interval > 0, "no heartbeat interval")

    item = pb.QueueItem(uid="proto-item-1", url=url, title="played from the .proto")
    command = pb.Command(command_id="play-1")
    command.set_queue.items.append(item)
    command.set_queue.play = True
    await send(command=command)

    result_ok = playing = False
    beats = 0
    async with asyncio.timeout(timeout_s):
        while not (result_ok and playing):
            idle = time.monotonic() - last_sent
            if idle >= interval:  # the controller's heartbeat duty
                await send(heartbeat=pb.Heartbeat())
                beats += 1
                continue
            try:
                message = await ws.receive(timeout=interval - idle)
            except TimeoutError:
                continue
            check(message.type is aiohttp.WSMsgType.BINARY, f"a {message.type} frame")
            envelope = pb.Envelope.FromString(message.data)
            kind = envelope.WhichOneof("body")
            if kind == "command_result" and envelope.command_result.command_id == "play-1":
                check(
                    not envelope.command_result.HasField("failure"),
                    f"SetQueue failed: {envelope.command_result.failure.message}",
                )
                result_ok = True
            elif kind == "state_snapshot":
                state = envelope.state_snapshot.state
                playing = (
                    state.status == pb.PLAYBACK_STATUS_PLAYING
                    and state.current_uid == "proto-item-1"
                    and state.last_command_id == "play-1"
                )
            elif kind in ("goodbye", "error"):
                raise ContractBrokenError(f"device sent {kind}: {envelope}")

    # Listen only, past the 3 silent intervals after which a device drops a controller: only
    # the heartbeats keep the session. Then a knob turned past its end: clamped, not refused.
    listen_until = time.monotonic() + 3.5 * interval
    loud = pb.Command(command_id="loud-1")
    loud.set_volume.volume = 150
    volume = -1
    async with asyncio.timeout(timeout_s):
        while volume < 0:
            idle = time.monotonic() - last_sent
            if time.monotonic() >= listen_until and loud is not None:
                await send(command=loud)
                loud = None
                continue
            if idle >= interval:
                await send(heartbeat=pb.Heartbeat())
                beats += 1
                continue
            try:
                message = await ws.receive(timeout=interval - idle)
            except TimeoutError:
                continue
            check(message.type is aiohttp.WSMsgType.BINARY, f"dropped: a {message.type} frame")
            envelope = pb.Envelope.FromString(message.data)
            kind = envelope.WhichOneof("body")
            check(kind not in ("goodbye", "error"), f"device sent {kind}: {envelope}")
            if kind == "command_result" and envelope.command_result.command_id == "loud-1":
                result = envelope.command_result
                check(not result.HasField("failure"), f"SetVolume 150: {result.failure.message}")
            elif kind == "state_snapshot":
                state = envelope.state_snapshot.state
                if state.last_command_id == "loud-1":
                    volume = state.volume
    check(volume == 100, f"SetVolume 150 set {volume}, not 100")
    await send(goodbye=pb.Goodbye(reason=pb.GOODBYE_REASON_SHUTDOWN, message="done"))
    return {
        "playing": playing,
        "result_ok": result_ok,
        "heartbeats_sent": beats,
        "clamped_volume": volume,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--generated", required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--media-url", required=True)
    parser.add_argument("--pin-file", default="")
    parser.add_argument("--timeout", type=float, default=20.0)
    args = parser.parse_args()
    # The code the device shows or logs; a person would type it in.
    args.pin = Path(args.pin_file).read_text().strip() if args.pin_file else ""
    sys.path.insert(0, args.generated)
    import connect_pb2 as pb

    try:
        seen = asyncio.run(run(args, pb))
    except ContractBrokenError as exc:
        print(json.dumps({"failed": str(exc)}))
        return 1
    leaked = sorted(BATON_PACKAGES & {name.split(".")[0] for name in sys.modules})
    seen["baton_modules_imported"] = leaked
    print(json.dumps(seen))
    return 0 if not leaked else 1


if __name__ == "__main__":
    sys.exit(main())
