#!/usr/bin/env bash
# chroot-check.sh — install the amd64 baton-receiver .deb into a FRESH Debian 12 minbase
# chroot and prove it works there:
#   1. apt-get installs the package (and so its dependencies: python3, libVLC) from Debian;
#   2. `systemd-analyze verify` passes on the installed unit;
#   3. `baton-receiver --check` reports ready (afile output, loopback);
#   4. the installed receiver, run as the package's `baton` user, plays a 2 s 440 Hz tone
#      sent by a controller outside the chroot into afile, and the WAV holds the tone.
# Steps 3 and 4 run in a private network namespace with only loopback.
#
# It reuses the pristine minbase system of tests/fresh/debootstrap-check.sh
# (/var/tmp/baton-fresh-bookworm; make it with that script once) under its own throw-away
# overlay, so it never disturbs that base or a fresh check running at the same time.
#
#   sudo tests/integration/packaging/chroot-check.sh [--deb FILE] [--base DIR] [--keep]
#
# Needs root, the built package (./dev package amd64) and network access to the Debian
# mirror for the install. Exits 0 when every step passed.
set -euo pipefail

REPO=$(cd "$(dirname "$(readlink -f "$0")")/../../.." && pwd)
BASE=/var/tmp/baton-fresh-bookworm
RUNDIR=/var/tmp/baton-package-check.run
DEB=""
KEEP=0

while [ $# -gt 0 ]; do
  case "$1" in
    --deb) DEB=$2; shift 2 ;;
    --base) BASE=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "chroot-check.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

say() { printf '\033[1;36m[chroot-check]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m[chroot-check] error:\033[0m %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (mount and chroot need it)"
[ -n "$DEB" ] || DEB=$(ls -t "$REPO"/dist/baton-receiver_*_amd64.deb 2>/dev/null | head -n1) || true
[ -f "$DEB" ] || die "no amd64 package: build it with ./dev package amd64 (or pass --deb)"
[ -x "$BASE/usr/bin/apt-get" ] && [ -f "$BASE/.baton-fresh-base" ] \
  || die "no minbase system in $BASE: run tests/fresh/debootstrap-check.sh once"
PY=$REPO/.venv/bin/python
[ -x "$PY" ] || die "no $PY: run ./dev setup (the controller side runs from it)"

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

t0=$(date +%s)
# ---------------------------------------------------------------- a fresh overlay
if findmnt -rn -o TARGET | grep -q "^$RUNDIR"; then die "something is mounted under $RUNDIR"; fi
rm -rf --one-file-system "$RUNDIR"
mkdir -p "$RUNDIR/upper" "$RUNDIR/work" "$CHROOT"
mnt "$CHROOT" -t overlay overlay -o "lowerdir=$BASE,upperdir=$RUNDIR/upper,workdir=$RUNDIR/work"
mnt "$CHROOT/proc" -t proc proc
mnt "$CHROOT/sys" -t sysfs sysfs
mnt "$CHROOT/dev" --bind /dev
mnt "$CHROOT/dev/pts" --bind /dev/pts
mnt "$CHROOT/run" -t tmpfs -o mode=0755,nosuid,nodev tmpfs
mnt "$CHROOT/tmp" -t tmpfs -o mode=1777,nosuid,nodev tmpfs
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

# ---------------------------------------------------------------- 1. install
cp "$DEB" "$CHROOT/tmp/"
say "apt-get install ./$(basename "$DEB") (+ systemd and man-db, for systemd-analyze verify)"
in_chroot env DEBIAN_FRONTEND=noninteractive apt-get update -qq
in_chroot env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  "/tmp/$(basename "$DEB")" systemd man-db >"$RUNDIR/apt.log" 2>&1 \
  || { tail -n 30 "$RUNDIR/apt.log" >&2; die "apt-get install failed"; }
say "installed in $(( $(date +%s) - t0 )) s: $(in_chroot dpkg-query -W -f='${Package} ${Version} ${Architecture}' baton-receiver)"
in_chroot id baton
# What --trace-endpoint imports (the OpenTelemetry SDK and encoders) is bundled too.
in_chroot python3 -I -c 'import sys; sys.path.insert(0, "/usr/lib/baton-receiver"); import tracing.setup'
say "tracing.setup imports with the bundled OpenTelemetry SDK"

# ---------------------------------------------------------------- 2. the unit
say "systemd-analyze verify baton-receiver.service"
in_chroot systemd-analyze verify /usr/lib/systemd/system/baton-receiver.service
say "systemd-analyze verify: passed"

# ---------------------------------------------------------------- 3 and 4, loopback only
say "--check and a playback, as user baton, in a network namespace with only loopback"
export CHROOT PY REPO
unshare -n bash -euo pipefail -c '
  ip link set lo up
  as_baton() {
    chroot --userspec=baton:baton "$CHROOT" /usr/bin/env -i HOME=/var/lib/baton LANG=C.UTF-8 \
      PATH=/usr/bin:/bin "$@"
  }
  as_baton baton-receiver --check --config /etc/baton/receiver.toml \
    --interface lo --audio-output afile:/tmp/played.wav
  as_baton baton-receiver --config /etc/baton/receiver.toml --name "Chroot" --pairing open \
    --interface lo --port 47111 --audio-output afile:/tmp/played.wav >"$CHROOT/tmp/receiver.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do grep -q "listening on" "$CHROOT/tmp/receiver.log" && break; sleep 0.1; done
  cat "$CHROOT/tmp/receiver.log" >&2
  cd "$REPO"
  rc=0
  "$PY" -m tests.integration.packaging.drive_playback 127.0.0.1 47111 || rc=$?
  kill -TERM "$pid"; wait "$pid" || true
  exit "$rc"
'
(cd "$REPO" && "$PY" - "$CHROOT/tmp/played.wav") <<'PYTHON'
import sys
sys.path.insert(0, ".")
from pathlib import Path
from tests.audio import audible_duration_ms, read_wav, zero_crossing_frequency
rec = read_wav(Path(sys.argv[1]))
audible = audible_duration_ms(rec)
freq = zero_crossing_frequency(rec.samples, rec.rate)
print(f"[chroot-check] recording: {audible:.0f} ms audible, {freq:.1f} Hz", file=sys.stderr)
assert 1900 <= audible <= 2100, audible
assert abs(freq - 440) < 5, freq
PYTHON
say "PASS in $(( $(date +%s) - t0 )) s: installed, unit verified, --check ready, tone played"
