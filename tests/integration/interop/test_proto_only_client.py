"""The .proto is the whole contract (Baton issue 13, item 9).

A controller written from proto/baton/connect/v1/connect.proto alone (proto_only_client.py:
the classes protoc generates from it, aiohttp, zeroconf; nothing of Baton's code) finds a
real receiver on mDNS, pairs with it if it is in pin mode, and plays a URL on it. Everything
it needs to know (the TXT keys and the `caps` recipe, TLS pinned to the certificate's SHA-256,
the first pairer becoming owner, the Content-Types, SetQueue{play} for a URL, the
controller's uids and heartbeats, a volume clamped) is in the .proto's comments, which the
last test below checks word for word.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.audio import write_tone
from tests.media_server import MediaServer
from tests.receivers import start_receiver

ROOT = Path(__file__).resolve().parents[3]
PROTO = "baton/connect/v1/connect.proto"
CLIENT = Path(__file__).with_name("proto_only_client.py")
CLIENT_TIMEOUT_S = 60.0


def generate(out: Path) -> Path:
    """Compile the .proto with Debian's protoc (else grpcio-tools); return the module's folder."""
    protoc = shutil.which("protoc")
    command = [protoc] if protoc else [sys.executable, "-m", "grpc_tools.protoc"]
    if not protoc:
        pytest.importorskip("grpc_tools", reason="neither protoc nor grpcio-tools is installed")
    subprocess.run(
        [*command, f"-I{ROOT / 'proto'}", f"--python_out={out}", PROTO], check=True, cwd=out
    )
    return out / Path(PROTO).parent


@pytest.mark.slow
@pytest.mark.parametrize("pairing", ["open", "pin"])
async def test_a_client_from_the_proto_alone_plays_a_url(
    tmp_path: Path, media_server: MediaServer, pairing: str
) -> None:
    generated = generate(tmp_path)
    write_tone(media_server.root / "tone.wav", 440.0, 5000)
    receiver = await start_receiver(tmp_path, "Proto Speaker", pairing=pairing)
    # The code a pin-mode device logs and keeps in its state directory, as a person reads it.
    pin_file = ["--pin-file", str(receiver.state_dir / "pairing-code")] if pairing == "pin" else []
    try:
        client = await asyncio.create_subprocess_exec(
            sys.executable,
            str(CLIENT),
            "--generated", str(generated),
            "--name", "Proto Speaker",
            "--media-url", media_server.url("tone.wav"),
            *pin_file,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=tmp_path,  # nothing of the repository on its path but what it imports itself
        )  # fmt: skip
        out, err = await asyncio.wait_for(client.communicate(), CLIENT_TIMEOUT_S)
    finally:
        assert await receiver.stop() == 0, "".join(receiver.output)
    assert client.returncode == 0, (out + err).decode()
    seen = json.loads(out.decode().splitlines()[-1])
    assert seen["playing"]
    assert seen["result_ok"]
    assert seen["heartbeats_sent"] >= 3  # its only frames for three intervals: kept, not dropped
    assert seen["clamped_volume"] == 100
    assert seen["baton_modules_imported"] == []
    assert seen["txt"]["pair"] == pairing
    assert seen["txt"]["id"] == receiver.device_id
    if pairing == "pin":
        assert seen["paired_as"] == "ROLE_OWNER"


# What the client above relies on, each in the .proto's own words: before issue 13 a client
# writer had to read Baton's code for every one of these.
CONTRACT = {
    "the mDNS service": "`_baton._tcp.local.`",
    "the TXT keys": "id     the device id",
    "the TXT version key": "v      the protocol's major version",
    "the TXT path key": "path   the session WebSocket's path",
    "the TXT pairing key": 'pair   the pairing mode, "open" or "pin"',
    "the caps recipe": "the first 8 lowercase hex digits of the SHA-256 of the",
    "pin mode is TLS only": "`pin` mode is TLS only",
    "the device id is the certificate's hash": "SHA-256 of its TLS certificate (the DER bytes)",
    "the first pairer is the owner": "becomes its owner (ROLE_OWNER)",
    "the Content-Types": "sent as `application/x-protobuf`",
    "JSON on request": "`Accept: application/json`",
    "Play has no URL": "`SetQueue{items: [QueueItem{uid, url}], play: true}`",
    "the controller chooses uids": "The CONTROLLER chooses queue uids",
    "the transfer id characters": "to 128 characters of `A-Z a-z 0-9 . _ ~ -`",
    "the target_url cap": "At most 512\n  // bytes",
    "the heartbeat duty": "A controller that only listens must still send Heartbeats.",
    "Hello's deadline": "within 5 s of the upgrade",
    "every command answered": "Every Command is answered by one CommandResult",
    "http and https only": "`http://` or `https://` with a host, nothing else",
}


@pytest.mark.parametrize("fact", sorted(CONTRACT))
def test_the_proto_says_it(fact: str) -> None:
    assert CONTRACT[fact] in (ROOT / "proto" / PROTO).read_text(), fact
