"""`--audio-output` parsing and the libVLC arguments each output needs."""

from __future__ import annotations

from pathlib import Path

import pytest

from devices.audio_output import AudioOutput, OutputKind, parse_audio_output


def test_default_passes_no_aout_and_keeps_caching_small() -> None:
    out = parse_audio_output("default")
    assert out == AudioOutput(OutputKind.DEFAULT)
    args = out.instance_args()
    assert not any(a.startswith("--aout") for a in args)
    for expected in ("--no-video", "--intf=dummy", "--no-lua", "--file-caching=50"):
        assert expected in args
    assert "--network-caching=50" in args


def test_alsa_keeps_colons_in_the_device_name() -> None:
    out = parse_audio_output("alsa:hw:CARD=sndrpihifiberry,DEV=0")
    assert out.kind is OutputKind.ALSA
    assert out.target == "hw:CARD=sndrpihifiberry,DEV=0"
    assert out.instance_args()[-2:] == (
        "--aout=alsa",
        "--alsa-audio-device=hw:CARD=sndrpihifiberry,DEV=0",
    )
    assert out.software_volume


def test_afile_resolves_the_path_and_writes_s16(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    out = parse_audio_output("afile:out.wav")
    assert out.path == tmp_path / "out.wav"
    assert f"--audiofile-file={tmp_path / 'out.wav'}" in out.instance_args()
    assert "--aout=afile" in out.instance_args()
    assert "--audiofile-format=s16" in out.instance_args()
    assert not out.software_volume  # afile ignores libVLC's volume
    assert str(out) == f"afile:{tmp_path / 'out.wav'}"


def test_none_uses_the_real_dummy_module_name() -> None:
    out = parse_audio_output("none")
    assert out.instance_args()[-1] == "--aout=adummy"
    assert str(out) == "none"


def test_network_caching_can_be_raised_for_flaky_wifi() -> None:
    out = parse_audio_output("none", network_caching_ms=400)
    assert "--network-caching=400" in out.instance_args()


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("pulseaudio", "unknown audio output"),
        ("pulse:my sink", "no spaces"),
        ("", "unknown audio output"),
        ("alsa", "needs an ALSA device name"),
        ("alsa:", "needs an ALSA device name"),
        ("alsa:hw 0", "no spaces"),
        ("afile:", "needs a file path"),
        ("none:x", "takes no argument"),
        ("default:", "takes no argument"),
    ],
)
def test_bad_values_say_what_is_wrong(value: str, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        parse_audio_output(value)


def test_afile_pointing_at_a_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="is a directory"):
        parse_audio_output(f"afile:{tmp_path}")


def test_network_caching_range_is_checked() -> None:
    with pytest.raises(ValueError, match="network caching"):
        parse_audio_output("none", network_caching_ms=-1)


def test_capture_resolves_the_path_and_applies_volume_itself(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    out = parse_audio_output("capture:cap.wav")
    assert out.kind is OutputKind.CAPTURE
    assert out.path == tmp_path / "cap.wav"
    assert str(out) == f"capture:{tmp_path / 'cap.wav'}"
    assert out.baton_fed
    assert not out.software_volume  # gain is applied per sample by the capture sink
    # The callbacks pick amem; the instance's own output is the dummy, never a real device.
    assert [a for a in out.instance_args() if a.startswith("--aout")] == ["--aout=adummy"]
    with pytest.raises(ValueError, match="needs a file path"):
        parse_audio_output("capture:")
    with pytest.raises(ValueError, match="is a directory"):
        parse_audio_output(f"capture:{tmp_path}")


def test_pulse_names_a_sink_or_takes_the_default_and_is_fed_by_baton() -> None:
    out = parse_audio_output("pulse")
    assert out == AudioOutput(OutputKind.PULSE)
    sink = parse_audio_output("pulse:alsa_output.usb-DAC.analog-stereo")
    assert sink.target == "alsa_output.usb-DAC.analog-stereo"
    assert str(sink) == "pulse:alsa_output.usb-DAC.analog-stereo"
    for fed in (out, sink):
        assert fed.baton_fed
        assert not fed.software_volume  # the gain is in the samples (devices/_timed_sink.py)
        assert fed.path is None
        assert "--aout=adummy" in fed.instance_args()
    # `default` is fed by Baton once a sound server answers (the player finds out).
    assert "--aout=adummy" in parse_audio_output("default").instance_args(baton_fed=True)
