#!/usr/bin/env bash
# chroot-check.sh — install a baton-receiver .deb into a FRESH Debian 12 minbase chroot of its
# own architecture and prove it works there:
#   1. apt-get installs the package (and so its dependencies: python3, libVLC) from Debian;
#   2. `systemd-analyze verify` passes on the installed unit;
#   3. `baton-receiver --check` reports ready (afile output, loopback);
#   4. the installed receiver, run as the package's `baton` user, plays a 2 s 440 Hz tone
#      sent by a controller outside the chroot into afile, and the WAV holds the tone;
#   5. the receiver's memory (RSS) is sampled idle and while it plays.
# Steps 3 to 5 run in a private network namespace with only loopback.
#
#   sudo tests/integration/packaging/chroot-check.sh [ARCH] [--deb FILE] [--keep]
#   ./dev chroot-check ARCH                                  (the same, through dev)
#
# ARCH is amd64 (the default), arm64 or armhf. A foreign architecture runs under QEMU user
# emulation (qemu-user-static's binfmt_misc entries, registered here if they are missing):
# it runs as on the board, 10-50 times slower (times are not figures; memory is, see
# rss_probe.py), except mDNS: QEMU 7.2 lacks IP_MULTICAST_IF, so the receiver runs unadvertised.
#
# The minbase system of each architecture is made once with debootstrap (--foreign and
# --second-stage under emulation for arm64/armhf) and kept pristine outside the repository in
# /var/tmp/baton-fresh-bookworm[-ARCH] (amd64 shares tests/fresh/debootstrap-check.sh's);
# every check runs in its own throw-away overlay over it. The .debs apt downloads are kept in
# /var/cache/baton-chroot/ARCH, so a rerun does not fetch them again.
#
# Needs root, the built package (./dev package ARCH) and network access to the Debian
# mirror. Exits 0 when every step passed.
set -euo pipefail

REPO=$(cd "$(dirname "$(readlink -f "$0")")/../../.." && pwd)
ARCH=amd64
DEB=""
KEEP=0
BASE=""

while [ $# -gt 0 ]; do
  case "$1" in
    amd64|arm64|armhf) ARCH=$1; shift ;;
    --deb) DEB=$2; shift 2 ;;
    --base) BASE=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h|--help) sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "chroot-check.sh: unknown argument $1 (architectures: amd64 arm64 armhf)" >&2; exit 2 ;;
  esac
done

HOST_ARCH=$(dpkg --print-architecture)
if [ "$ARCH" = amd64 ]; then
  [ -n "$BASE" ] || BASE=/var/tmp/baton-fresh-bookworm
  RUNDIR=/var/tmp/baton-package-check.run     # nspawn-check.sh reuses this one
else
  [ -n "$BASE" ] || BASE=/var/tmp/baton-fresh-bookworm-$ARCH
  RUNDIR=/var/tmp/baton-package-check-$ARCH.run
fi
APT_CACHE=/var/cache/baton-chroot/$ARCH
case "$ARCH" in arm64) QEMU=aarch64 ;; armhf) QEMU=arm ;; *) QEMU="" ;; esac
[ "$ARCH" != "$HOST_ARCH" ] || QEMU=""

say() { printf '\033[1;36m[chroot-check %s]\033[0m %s\n' "$ARCH" "$*" >&2; }
die() { printf '\033[1;31m[chroot-check %s] error:\033[0m %s\n' "$ARCH" "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (debootstrap, mount and chroot need it)"
[ -n "$DEB" ] || DEB=$(ls -t "$REPO"/dist/baton-receiver_*_"$ARCH".deb 2>/dev/null | head -n1) || true
[ -f "$DEB" ] || die "no $ARCH package: build it with ./dev package $ARCH (or pass --deb)"
PY=$REPO/.venv/bin/python
[ -x "$PY" ] || die "no $PY: run ./dev setup (the controller side runs from it)"

t0=$(date +%s)
elapsed() { echo "$(( $(date +%s) - t0 )) s"; }

# ---------------------------------------------------------------- 0. emulation
# The kernel runs ARM binaries through QEMU when binfmt_misc has an entry for them. Debian's
# entries carry the F flag (the interpreter is opened once, at registration), so nothing has
# to be copied into the chroot. On a machine where the entries are not loaded (a container
# started without systemd-binfmt), load them from the package's own definitions.
ensure_binfmt() {
  [ -n "$QEMU" ] || return 0
  local entry=/proc/sys/fs/binfmt_misc/qemu-$QEMU conf=/usr/lib/binfmt.d/qemu-$QEMU.conf
  [ -x "/usr/bin/qemu-$QEMU-static" ] || die "no qemu-$QEMU-static: apt-get install qemu-user-static"
  if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
    mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc \
      || die "cannot mount binfmt_misc (a container needs it from its host)"
  fi
  if [ ! -e "$entry" ]; then
    [ -f "$conf" ] || die "no $conf: apt-get install qemu-user-static"
    say "registering $conf with binfmt_misc"
    cat "$conf" >/proc/sys/fs/binfmt_misc/register
  fi
  grep -q '^enabled' "$entry" || die "$entry is disabled"
  grep -q '^flags:.*F' "$entry" \
    || die "$entry lacks the F flag: the chroot would need its own copy of qemu-$QEMU-static"
  say "emulation: $(sed -n 's/^interpreter //p' "$entry") ($(qemu-$QEMU-static --version | head -n1))"
}

# ---------------------------------------------------------------- 1. the pristine base
# The Debian mirror this machine's apt uses (the first bookworm URIs of its deb822 sources).
host_mirror() {
  awk '
    /^[[:space:]]*$/ { if (uri != "" && ok) { print uri; exit } uri = ""; ok = 0; next }
    /^URIs:/   { uri = $2 }
    /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == "bookworm") ok = 1 }
    END        { if (uri != "" && ok) print uri }' /etc/apt/sources.list.d/*.sources 2>/dev/null \
    | head -n1 | grep . || echo http://deb.debian.org/debian
}

ensure_base() {
  if [ -x "$BASE/usr/bin/apt-get" ] && [ -f "$BASE/.baton-fresh-base" ] && [ ! -e "$BASE/debootstrap" ]; then
    say "reusing the pristine minbase system in $BASE (made $(cat "$BASE/.baton-fresh-base"))"
    return 0
  fi
  command -v debootstrap >/dev/null || die "no debootstrap: apt-get install debootstrap"
  if findmnt -rn -o TARGET | grep -q "^$BASE"; then die "something is mounted under $BASE"; fi
  rm -rf --one-file-system "$BASE"
  local mirror; mirror=$(host_mirror)
  if [ -z "$QEMU" ]; then
    say "debootstrap --variant=minbase bookworm $BASE $mirror"
    debootstrap --arch="$ARCH" --variant=minbase bookworm "$BASE" "$mirror" >"$BASE.log" 2>&1 \
      || { tail -n 20 "$BASE.log" >&2; die "debootstrap failed (log: $BASE.log)"; }
  else
    # Stage 1 (download, unpack) runs natively; stage 2 (configure) runs the target's own
    # binaries, under emulation.
    say "debootstrap --foreign --arch=$ARCH --variant=minbase bookworm $BASE $mirror"
    debootstrap --foreign --arch="$ARCH" --variant=minbase bookworm "$BASE" "$mirror" \
      >"$BASE.log" 2>&1 || { tail -n 20 "$BASE.log" >&2; die "debootstrap stage 1 failed"; }
    say "debootstrap --second-stage, under emulation (several minutes)"
    chroot "$BASE" /debootstrap/debootstrap --second-stage >>"$BASE.log" 2>&1 \
      || { tail -n 20 "$BASE.log" >&2; die "debootstrap stage 2 failed (log: $BASE.log)"; }
  fi
  date -u +%FT%TZ >"$BASE/.baton-fresh-base"
  say "base ready in $(elapsed)"
}

ensure_binfmt
ensure_base

CHROOT=$RUNDIR/root
MOUNTS=()
RECEIVER_PID=""
mnt() { local target=$1; shift; mkdir -p "$target"; mount "$@" "$target"; MOUNTS+=("$target"); }
cleanup() {
  local rc=$? i
  trap - EXIT INT TERM
  if [ -n "$RECEIVER_PID" ]; then kill -KILL "$RECEIVER_PID" 2>/dev/null || true; fi
  for (( i=${#MOUNTS[@]}-1; i>=0; i-- )); do
    umount "${MOUNTS[i]}" 2>/dev/null || umount -l "${MOUNTS[i]}" || true
  done
  if [ "$KEEP" = 0 ]; then rm -rf --one-file-system "$RUNDIR"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

in_chroot() {
  chroot "$CHROOT" /usr/bin/env -i HOME=/root LANG=C.UTF-8 \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"
}

# ---------------------------------------------------------------- a fresh overlay
if findmnt -rn -o TARGET | grep -q "^$RUNDIR"; then die "something is mounted under $RUNDIR"; fi
rm -rf --one-file-system "$RUNDIR"
mkdir -p "$RUNDIR/upper" "$RUNDIR/work" "$CHROOT" "$APT_CACHE/partial"
mnt "$CHROOT" -t overlay overlay -o "lowerdir=$BASE,upperdir=$RUNDIR/upper,workdir=$RUNDIR/work"
mnt "$CHROOT/proc" -t proc proc
mnt "$CHROOT/sys" -t sysfs sysfs
mnt "$CHROOT/dev" --bind /dev
mnt "$CHROOT/dev/pts" --bind /dev/pts
mnt "$CHROOT/run" -t tmpfs -o mode=0755,nosuid,nodev tmpfs
mnt "$CHROOT/tmp" -t tmpfs -o mode=1777,nosuid,nodev tmpfs
# Downloaded .debs survive the throw-away overlay (only a cache: apt checks each one).
mnt "$CHROOT/var/cache/apt/archives" --bind "$APT_CACHE"
rm -f "$CHROOT/etc/resolv.conf"; cp -L /etc/resolv.conf "$CHROOT/etc/resolv.conf"
# BUILD-HOST NETWORK SETUP (as in tests/fresh/debootstrap-check.sh): this machine's apt
# snapshot settings and sources; a real Debian 12 machine needs none of it.
if [ -f /etc/apt/apt.conf.d/99artifact-registry ]; then
  cp /etc/apt/apt.conf.d/99artifact-registry "$CHROOT/etc/apt/apt.conf.d/99baton-build-host"
fi
if [ -f /etc/apt/sources.list.d/debian.sources ]; then
  cp /etc/apt/sources.list.d/debian.sources "$CHROOT/etc/apt/sources.list.d/debian.sources"
  rm -f "$CHROOT/etc/apt/sources.list"
fi
# Keep what apt downloads (minbase's docker-style config may delete it after install).
echo 'Binary::apt::APT::Keep-Downloaded-Packages "true";' \
  >"$CHROOT/etc/apt/apt.conf.d/99baton-keep-debs"

# ---------------------------------------------------------------- 1. install
cp "$DEB" "$CHROOT/tmp/"
say "apt-get install ./$(basename "$DEB") (+ systemd and man-db, for systemd-analyze verify)"
in_chroot env DEBIAN_FRONTEND=noninteractive apt-get update -qq
in_chroot env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  "/tmp/$(basename "$DEB")" systemd man-db >"$RUNDIR/apt.log" 2>&1 \
  || { tail -n 30 "$RUNDIR/apt.log" >&2; die "apt-get install failed"; }
say "installed in $(elapsed): $(in_chroot dpkg-query -W -f='${Package} ${Version} ${Architecture}' baton-receiver)"
in_chroot id baton
in_chroot python3 -c 'import platform, sys; print(f"[chroot-check] python {sys.version.split()[0]} on {platform.machine()}")' >&2
# Which C extensions load on this architecture, and where the pure-Python code runs instead.
in_chroot python3 -I - <<'PYTHON' >&2
import importlib, sys
sys.path.insert(0, "/usr/lib/baton-receiver")
from google.protobuf.internal import api_implementation
found = []
for module in ("aiohttp._http_parser", "frozenlist._frozenlist", "multidict._multidict",
               "propcache._helpers_c", "yarl._quoting_c", "zeroconf._cache"):
    try:
        loaded = importlib.import_module(module)
        kind = "C" if loaded.__file__.endswith(".so") else "pure Python"
    except ImportError:
        kind = "pure Python"
    found.append(f"{module.split('.')[0]} {kind}")
found.append(f"protobuf {api_implementation.Type()}")
print("[chroot-check] extensions:", ", ".join(found))
PYTHON
# What --trace-endpoint imports (the OpenTelemetry SDK and encoders) is bundled too.
in_chroot python3 -I -c 'import sys; sys.path.insert(0, "/usr/lib/baton-receiver"); import tracing.setup'
say "tracing.setup imports with the bundled OpenTelemetry SDK"

# ---------------------------------------------------------------- 2. the unit
say "systemd-analyze verify baton-receiver.service"
in_chroot systemd-analyze verify /usr/lib/systemd/system/baton-receiver.service
say "systemd-analyze verify: passed"

# ---------------------------------------------------------------- 3 to 5, loopback only
say "--check, a playback and its memory, as user baton, in a network namespace with only loopback"
export CHROOT PY REPO RUNDIR
unshare -n bash -euo pipefail -c '
  ip link set lo up
  as_baton() {
    chroot --userspec=baton:baton "$CHROOT" /usr/bin/env -i HOME=/var/lib/baton LANG=C.UTF-8 \
      PATH=/usr/bin:/bin "$@"
  }
  as_baton baton-receiver --check --config /etc/baton/receiver.toml \
    --interface lo --audio-output afile:/tmp/played.wav
  # Not through as_baton: a function in the background is a subshell, and $! must be the
  # receiver itself (chroot and env exec into it), whose memory is sampled below.
  chroot --userspec=baton:baton "$CHROOT" /usr/bin/env -i HOME=/var/lib/baton LANG=C.UTF-8 \
    PATH=/usr/bin:/bin baton-receiver --config /etc/baton/receiver.toml --name "Chroot" \
    --pairing open --interface lo --port 47111 --audio-output afile:/tmp/played.wav \
    >"$CHROOT/tmp/receiver.log" 2>&1 &
  pid=$!
  # Emulated, the start takes tens of seconds (Python imports, translated on first use).
  for _ in $(seq 1200); do
    grep -q "listening on" "$CHROOT/tmp/receiver.log" && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  cat "$CHROOT/tmp/receiver.log" >&2
  grep -q "listening on" "$CHROOT/tmp/receiver.log" || { echo "the receiver did not start" >&2; exit 1; }
  cd "$REPO"
  "$PY" -m tests.integration.packaging.rss_probe "$pid" "$RUNDIR/rss.json" &
  probe=$!
  rc=0
  "$PY" -m tests.integration.packaging.drive_playback 127.0.0.1 47111 \
    --phases "$RUNDIR/phases.json" || rc=$?
  kill -TERM "$probe"; wait "$probe" || rc=$?
  kill -TERM "$pid"; wait "$pid" || true
  exit "$rc"
'
(cd "$REPO" && "$PY" - "$CHROOT/tmp/played.wav" "$ARCH") <<'PYTHON'
import sys
sys.path.insert(0, ".")
from pathlib import Path
from tests.audio import audible_duration_ms, read_wav, zero_crossing_frequency
rec = read_wav(Path(sys.argv[1]))
audible = audible_duration_ms(rec)
freq = zero_crossing_frequency(rec.samples, rec.rate)
print(f"[chroot-check {sys.argv[2]}] recording: {audible:.0f} ms audible, {freq:.1f} Hz", file=sys.stderr)
assert 1900 <= audible <= 2100, audible
assert abs(freq - 440) < 5, freq
PYTHON
(cd "$REPO" && "$PY" -m tests.integration.packaging.rss_probe --report "$RUNDIR/rss.json" \
  --phases "$RUNDIR/phases.json" --arch "$ARCH" ${QEMU:+--emulated})
say "PASS in $(elapsed): installed, unit verified, --check ready, tone played"
