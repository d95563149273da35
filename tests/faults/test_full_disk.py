"""The disk under the receiver's state directory fills up while it plays.

Expected outcome: the receiver keeps playing and keeps answering commands; each save that
cannot be written logs a typed error (StateDirError: "could not save the session ... No space
left on device") and leaves the previous saved session whole and loadable (the write goes to a
temporary file first, which is removed); once space returns, the next change is saved again.
Pairing a controller on the full disk (tokens.json cannot be written) is refused with a typed
error (HTTP 500, Failure INTERNAL "the device could not save the pairing"), the tokens already
issued stay as they were, and pairing works again once space returns.

The state directory is a 512 KiB tmpfs mounted in a mount namespace of the receiver's own
(`unshare -m`), so the host's mounts are never touched; the test reaches it through
/proc/PID/root, which shows a process's view of the filesystem.
"""

from __future__ import annotations

import errno
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest

from connect.clock import monotonic_us
from connect.wire import codec
from connect.wire import messages as m
from devices.persistence import SessionStore
from devices.tokens import TOKENS_FILE, TokenStore
from tests.audio import read_capture, write_position_track
from tests.integration.receiver.helpers import until_saved
from tests.integration.transfer.fault_bench import (
    TRACK_MS,
    TrackServer,
    assert_plays_on,
    assert_session_kept,
    controller_for,
    start_session,
    wait_state,
)
from tests.receivers import RunningReceiver, start_receiver
from tests.waiting import until

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("unshare") is None, reason="needs util-linux's unshare"),
]

TMPFS_SIZE = "512k"
MOUNT_THEN_EXEC = 'mount -t tmpfs -o size="$1" tmpfs "$0" && shift && exec "$@"'


def fill(directory: Path) -> Path:
    """Write a file into *directory* until the filesystem refuses (ENOSPC); return it."""
    filler = directory / "filler"
    refused: OSError | None = None
    with filler.open("wb", buffering=0) as handle:
        for size in (65536, 4096, 1):  # down to the last byte, so nothing at all fits
            try:
                while True:
                    handle.write(b"\0" * size)
            except OSError as exc:
                refused = exc
    assert refused is not None
    assert refused.errno == errno.ENOSPC, refused
    return filler


@asynccontextmanager
async def receiver_on_tmpfs(
    tmp_path: Path, name: str, **kwargs: object
) -> AsyncIterator[tuple[RunningReceiver, Path]]:
    """A receiver whose state directory is a small tmpfs; yield it and its state dir's view."""
    mounted = tmp_path / f"{name.lower()}-tmpfs"
    mounted.mkdir()
    wrapper = ["unshare", "-m", "--propagation", "private", "sh", "-c", MOUNT_THEN_EXEC,
               str(mounted), TMPFS_SIZE]  # fmt: skip
    receiver = await start_receiver(tmp_path, name, wrapper=wrapper, state_dir=mounted, **kwargs)  # type: ignore[arg-type]
    try:
        # The receiver's view of its state directory (the tmpfs), from outside its namespace.
        view = Path(f"/proc/{receiver.process.pid}/root") / mounted.relative_to("/")
        assert not (mounted / "tls").exists()  # what it wrote went to the tmpfs, not here
        yield receiver, view
    finally:
        await receiver.stop()


async def test_full_state_disk_keeps_the_music_and_the_last_saved_session(
    tmp_path: Path,
) -> None:
    media = TrackServer(write_position_track(tmp_path / "track.wav", TRACK_MS).read_bytes())
    await media.start()
    try:
        async with (
            receiver_on_tmpfs(tmp_path, "Speaker", output="capture", pairing="open") as (
                receiver,
                state_dir,
            ),
            controller_for(receiver) as controller,
        ):
            device = receiver.device_id
            before = await start_session(controller, device, media.url("track.wav"))
            await until_saved(state_dir, lambda s: s.session_id == before.session_id)

            filler = fill(state_dir)
            full_at = monotonic_us()
            result = await controller.async_command(device, m.SetVolume(33))
            assert result.ok, result.failure  # commands are unaffected
            await until(
                lambda: any("could not save the session" in line for line in receiver.output),
                what="the receiver logs the failed save",
            )
            error = next(line for line in receiver.output if "could not save" in line)
            print(f"\n  receiver: {error.strip()}")
            assert "No space left on device" in error
            saved = _load(state_dir)
            assert saved is not None, "the previous saved session was lost"
            assert_session_kept(saved, before)
            assert saved.volume == before.volume  # the failed save left the old one whole
            assert [p.name for p in state_dir.iterdir() if p.name.endswith(".tmp")] == []
            playing = await wait_state(controller, device, lambda s: s.volume == 33)
            assert playing.clock.playing  # the music goes on

            filler.unlink()  # space returns
            assert (await controller.async_command(device, m.SetVolume(34))).ok
            await until_saved(state_dir, lambda s: s.volume == 34)
            back_at = monotonic_us()
            final = controller.connection(device).state
            assert final is not None
            assert_session_kept(final, before)
    finally:
        await media.close()
    assert_plays_on(
        read_capture(receiver.recording), full_at, back_at, position_ms_at=final.clock.position_at
    )


async def test_pairing_on_a_full_state_disk_is_refused_with_a_typed_error(tmp_path: Path) -> None:
    async with (
        receiver_on_tmpfs(tmp_path, "Locked", pairing="pin") as (receiver, state_dir),
        aiohttp.ClientSession() as http,
    ):
        pinned = aiohttp.Fingerprint(bytes.fromhex(receiver.device_id))
        url = f"https://{receiver.host}:{receiver.port}/connect/v1/pair"

        used: set[str] = set()

        def codes() -> list[str]:
            return [line.rsplit(" ", 1)[1].strip() for line in receiver.output
                    if "pairing code: " in line]  # fmt: skip

        async def pair(client_id: str) -> aiohttp.ClientResponse:
            # A code changes once used: wait for the receiver to log its next one.
            await until(lambda: bool(codes()) and codes()[-1] not in used, what="a fresh code")
            code = codes()[-1]
            used.add(code)
            request = m.PairingRequest(m.ClientIdentity(client_id, client_id), code)
            body = codec.encode_pairing_request(request)
            return await http.post(url, data=body, ssl=pinned)

        first = await pair("first-controller")
        assert first.status == 200, await first.read()
        assert len(_records(state_dir)) == 1
        tokens_before = (state_dir / TOKENS_FILE).read_bytes()

        filler = fill(state_dir)
        refused = await pair("second-controller")
        failure = codec.decode_failure(await refused.read())
        print(f"\n  pairing on a full disk: HTTP {refused.status} {failure}")
        assert refused.status == 500
        assert failure.code is m.ErrorCode.INTERNAL
        assert failure.message == "the device could not save the pairing"
        assert (state_dir / TOKENS_FILE).read_bytes() == tokens_before  # nothing changed
        await until(
            lambda: any("could not save a new pairing" in line for line in receiver.output),
            what="the receiver logs the failed pairing save",
        )

        filler.unlink()
        again = await pair("second-controller")
        assert again.status == 200, await again.read()
        assert len(_records(state_dir)) == 2


def _records(state_dir: Path) -> tuple[object, ...]:
    store = TokenStore(state_dir)
    store.load()
    return store.records()


def _load(state_dir: Path) -> m.PlaybackState | None:
    return SessionStore(state_dir).load_session()
