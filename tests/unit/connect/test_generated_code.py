"""The committed generated code is exactly what `./dev proto` makes from proto/."""

from __future__ import annotations

from connect.wire import protogen


def test_committed_generated_code_matches_the_proto_files() -> None:
    stale = protogen.differences(protogen.generate())
    assert stale == [], f"run ./dev proto and commit: {stale} differ"


def test_generated_classes_stay_behind_the_codec() -> None:
    # DESIGN.md: generated code never leaks past the codec. Only the codec's own modules
    # (and the generator) may import connect.wire._pb.
    allowed = {
        "codec.py",
        "_to_wire.py",
        "_from_wire.py",
        "_lazy.py",
        "_queue_frames.py",
        "protogen.py",
    }
    root = protogen.ROOT
    offenders = [
        str(path.relative_to(root))
        for package in ("connect", "devices", "client", "tracing")
        for path in (root / package).rglob("*.py")
        if "_pb" not in path.parts
        and path.name not in allowed
        and "connect.wire._pb" in path.read_text()
    ]
    assert offenders == []
