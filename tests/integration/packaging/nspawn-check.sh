#!/usr/bin/env bash
# nspawn-check.sh — boot a fresh Debian 12 with the amd64 baton-receiver package installed,
# under a real systemd (systemd-nspawn -b, private network: loopback only), and check the
# service as systemd runs it, sandbox included:
#   1. Type=notify: it reaches "active (running)" with its STATUS line, and is still up 25 s
#      after boot (longer than WatchdogSec=20: the watchdog pings work);
#   2. it plays a 3 s tone into afile under the full sandbox (ProtectSystem=strict, ...);
#   3. a hang (SIGSTOP) is caught by the watchdog: systemd kills and restarts it;
#   4. a power cut while playing (SIGKILL): systemd restarts it and it resumes playing.
#
#   sudo tests/integration/packaging/nspawn-check.sh [--deb FILE]
#
# Needs what chroot-check.sh needs (it runs it first, to install the package) and
# systemd-nspawn (apt-get install systemd-container). Exits 0 when every check passed.
set -euo pipefail

HERE=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
BASE=/var/tmp/baton-fresh-bookworm
RUNDIR=/var/tmp/baton-package-check.run
ROOT=$RUNDIR/root

say() { printf '\033[1;36m[nspawn-check]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m[nspawn-check] error:\033[0m %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root"
command -v systemd-nspawn >/dev/null || die "no systemd-nspawn: apt-get install systemd-container"

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  umount "$ROOT" 2>/dev/null || umount -l "$ROOT" 2>/dev/null || true
  rm -rf --one-file-system "$RUNDIR"
  exit "$rc"
}

say "installing the package in a fresh overlay (chroot-check.sh --keep)"
"$HERE/chroot-check.sh" --keep "$@"
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
mount -t overlay overlay \
  -o "lowerdir=$BASE,upperdir=$RUNDIR/upper,workdir=$RUNDIR/work" "$ROOT"

# The test's settings: loopback, afile in the state directory (the only place the sandbox
# lets it write), a fixed port, frequent checkpoints so the power cut has a position to keep.
cat >"$ROOT/etc/baton/receiver.toml" <<'TOML'
name = "Nspawn"
interfaces = ["lo"]
port = 47112
audio-output = "afile:/var/lib/baton/played.wav"
checkpoint-interval = "2s"
pairing = "open"
TOML
install -D -m 0755 "$HERE/nspawn/run.sh" "$ROOT/usr/local/lib/baton-nspawn-check/run.sh"
install -D -m 0644 "$HERE/nspawn/play.py" "$ROOT/usr/local/lib/baton-nspawn-check/play.py"
install -D -m 0644 "$HERE/nspawn/baton-nspawn-check.service" \
  "$ROOT/etc/systemd/system/baton-nspawn-check.service"
ln -sf /etc/systemd/system/baton-nspawn-check.service \
  "$ROOT/etc/systemd/system/multi-user.target.wants/baton-nspawn-check.service"
[ -L "$ROOT/etc/systemd/system/multi-user.target.wants/baton-receiver.service" ] \
  || die "the package did not enable baton-receiver.service"

say "booting the container (systemd-nspawn -b, private network); about 90 s"
# --register=no --keep-unit: this machine's PID 1 is not systemd (no machined, no bus).
timeout 240 systemd-nspawn -q --register=no --keep-unit --private-network -D "$ROOT" -b \
  >"$RUNDIR/boot.log" 2>&1 || true
[ -f "$ROOT/root/report.txt" ] || { tail -n 40 "$RUNDIR/boot.log" >&2; die "no report"; }
cat "$ROOT/root/report.txt" >&2

report=$(cat "$ROOT/root/report.txt")
section() { awk -v s="== $1." 'index($0, s) == 1 { on = 1; next } /^== / { on = 0 } on' <<<"$report"; }
expect() {  # expect SECTION TEXT WHAT
  if section "$1" | grep -qF -- "$2"; then say "ok: $3"; else die "not seen: $3 ('$2' in section $1)"; fi
}
expect 1 "ActiveState=active" "active (Type=notify: READY=1 reached systemd)"
expect 1 "StatusText=advertising 'Nspawn'" "its STATUS line"
expect 1 "NRestarts=0" "no restart 25 s after boot (the watchdog pings arrive)"
expect 1 "User=baton" "runs as user baton"
expect 2 "while playing: PLAYING" "playing under the sandbox"
expect 2 "played.wav: 264644 bytes" "3 s of audio written by libVLC under the sandbox"
expect 3 "NRestarts=1" "a hung receiver restarted by the watchdog"
expect 4 "NRestarts=2" "a killed receiver restarted"
grep -qF "Watchdog timeout (limit 20s)" <<<"$report" || die "no watchdog timeout in the journal"
grep -qF "resume at start: yes" <<<"$report" || die "no resume after the power cut"
say "ok: the journal shows the watchdog timeout and the resume after the power cut"
say "PASS: the packaged service works under a real systemd"
