"""The .deb bundles what the receiver imports, tracing included: no Qt, nothing missing.

A fresh interpreter imports every receiver module (and python-vlc, which the player imports
lazily) and lists the distributions that provided the modules it loaded. They must all be in
packaging/debian/receiver-requirements.py's list, which is what the package bundles.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

PROBE = """
import importlib.metadata as md, json, sys
import devices.cli, devices.receiver, devices.player, devices._vlc_backend, devices.check
import devices.service, devices.resume, devices.transfer, devices._capture, vlc
import tracing.setup  # what --trace-endpoint imports
# Which distribution installed each loaded module's file (namespace packages such as
# "google" and "opentelemetry" are shared by several distributions: go by file).
owner = {}
for dist in md.distributions():
    for f in dist.files or []:
        owner[str(f)] = dist.metadata["Name"]
found = set()
for module in list(sys.modules.values()):
    path = getattr(module, "__file__", None) or ""
    if "site-packages/" in path:
        found.add(owner.get(path.split("site-packages/", 1)[1], "unknown: " + path))
print(json.dumps(sorted(found)))
"""


def _bundled() -> set[str]:
    spec = importlib.util.spec_from_file_location(
        "receiver_requirements", ROOT / "packaging/debian/receiver-requirements.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return set(module.RECEIVER_DISTRIBUTIONS)


def test_receiver_imports_only_what_the_package_bundles() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, cwd=ROOT
    )
    loaded = {name.lower().replace("_", "-") for name in json.loads(done.stdout)}
    # setuptools' distutils shim is loaded by site, not by Baton; baton is this project.
    loaded -= {"baton", "setuptools"}
    assert not {n for n in loaded if n.startswith(("pyside6", "shiboken6", "mutagen"))}
    assert loaded <= _bundled(), sorted(loaded - _bundled())


OWN_PROBE = """
import json, sys
import devices.cli, devices.receiver, devices.player, devices._vlc_backend, devices.check
import devices.service, devices.resume, devices.transfer, devices._capture
import tracing.setup
root = sys.argv[1]
own = ("connect/", "devices/", "tracing/", "httpguard/", "taskowner/")
print(json.dumps(sorted(
    path for path in (
        (getattr(m, "__file__", None) or "")[len(root) + 1:] for m in list(sys.modules.values())
    ) if path.startswith(own)
)))
"""


def _packaged_own_files() -> set[str]:
    """The files of Baton's own packages that build-deb.sh puts in the .deb (its pathspecs)."""
    script = (ROOT / "packaging/debian/build-deb.sh").read_text()
    block = script.split("archive --format=tar HEAD --", 1)[1].split("| tar", 1)[0]
    specs = [word.strip("'") for word in block.replace("\\\n", " ").split()]
    listed = subprocess.run(
        ["git", "ls-files", "--", *specs], capture_output=True, text=True, check=True, cwd=ROOT
    )
    return set(listed.stdout.split())


def test_every_module_of_baton_the_receiver_loads_is_in_the_package() -> None:
    done = subprocess.run(
        [sys.executable, "-c", OWN_PROBE, str(ROOT)],
        capture_output=True, text=True, check=True, cwd=ROOT,
    )  # fmt: skip
    loaded = set(json.loads(done.stdout))
    assert "httpguard/_site.py" in loaded  # the probe sees private modules too
    assert loaded <= _packaged_own_files(), sorted(loaded - _packaged_own_files())
