"""Print the requirements.lock entries (with their hashes) of the receiver's runtime deps.

The receiver never imports Qt or mutagen. Of OpenTelemetry it always imports the API
(instrumented code), and the SDK with the OTLP encoders when tracing is turned on
(`--trace-endpoint`, tracing.setup; exported with the standard library's urllib). This is the
closure of what `devices`, `connect` and `tracing.setup` import;
tests/integration/packaging/test_receiver_imports.py fails when it changes. Versions and
hashes come from requirements.lock, so the .deb bundles exactly what the tests ran against.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

RECEIVER_DISTRIBUTIONS = (
    "aiohappyeyeballs",
    "aiohttp",
    "aiosignal",
    "attrs",
    "frozenlist",
    "idna",
    "ifaddr",
    "multidict",
    "opentelemetry-api",
    "opentelemetry-exporter-otlp-proto-common",
    "opentelemetry-proto",
    "opentelemetry-sdk",
    "opentelemetry-semantic-conventions",
    "propcache",
    "protobuf",
    "python-vlc",
    "typing-extensions",
    "yarl",
    "zeroconf",
)


def main(lock: Path) -> int:
    """Write one `name==version --hash=...` line per receiver dependency to stdout."""
    blocks = re.split(r"\n(?=\S)", lock.read_text())
    found: dict[str, str] = {}
    for block in blocks:
        head = re.match(r"([A-Za-z0-9_.-]+)==(\S+)", block)
        if not head or head.group(1).lower() not in RECEIVER_DISTRIBUTIONS:
            continue
        if ";" in block.splitlines()[0]:
            continue  # platform-conditional pins (win32...) are not ours
        hashes = " ".join(re.findall(r"--hash=sha256:[0-9a-f]+", block))
        found[head.group(1).lower()] = f"{head.group(1)}=={head.group(2)} {hashes}"
    missing = sorted(set(RECEIVER_DISTRIBUTIONS) - set(found))
    if missing:
        print(f"not in {lock}: {', '.join(missing)}", file=sys.stderr)
        return 1
    for name in RECEIVER_DISTRIBUTIONS:
        print(found[name])
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
