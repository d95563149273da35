#!/bin/bash
# Runs once inside the booted container (baton-nspawn-check.service, after the receiver's
# service) and writes /root/report.txt, then powers the container off. See nspawn-check.sh.
set -uo pipefail
exec >/root/report.txt 2>&1
here=/usr/local/lib/baton-nspawn-check
show() {
  systemctl show baton-receiver -p ActiveState -p SubState -p NRestarts -p StatusText \
    -p WatchdogUSec -p User | sort | sed 's/^/  /'
}
main_pid() { systemctl show -p MainPID --value baton-receiver; }

echo "== 1. alive 25 s after boot (longer than WatchdogSec=20: the pings keep it up)"
sleep 25; show
echo "== 2. a 3 s tone played by the sandboxed service into afile"
python3 $here/play.py 3
echo "  played.wav: $(stat -c %s /var/lib/baton/played.wav) bytes (3 s of 44.1 kHz s16 mono: 264644)"
echo "== 3. a hang: SIGSTOP the receiver, its event loop stops pinging the watchdog"
kill -STOP "$(main_pid)"
sleep 28; show
echo "== 4. a power cut while playing: SIGKILL, systemd restarts it, it plays on"
python3 $here/play.py 30 --no-wait & media=$!
sleep 5
kill -KILL "$(main_pid)"
sleep 6; show
kill "$media"
echo "== journal"
journalctl -u baton-receiver --no-pager -o short-monotonic | tail -40
kill -s SIGRTMIN+4 1  # systemd: start poweroff.target (no D-Bus in a minbase system)
