#!/bin/sh
# Installs the Debian package on this (throwaway, CI) machine and uses the installed station
# as its service user: `doctor` against a local fake tenant, then the demo under Xvfb for a
# few frames. Then removes and purges it, checking what stays. Needs root.
# Usage: packaging/install-test.sh PACKAGE.deb
set -eu
deb="$1"
fail() { echo "install-test: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || fail "run as root"

# apt resolves the package's dependencies (cage, pcscd, polkit) from the archive.
if ! ls /var/lib/apt/lists/*Packages >/dev/null 2>&1; then apt-get update -qq; fi
apt-get install -y -qq --no-install-recommends "$deb" >/dev/null
id passkey-kiosk >/dev/null || fail "no passkey-kiosk user"
[ "$(stat -c '%a %U %G' /etc/passkey-kiosk)" = "750 root passkey-kiosk" ] || fail "/etc/passkey-kiosk: $(stat -c '%a %U %G' /etc/passkey-kiosk)"
[ "$(stat -c '%a %U %G' /etc/passkey-kiosk/configs.json)" = "640 root passkey-kiosk" ] || fail "configs.json: $(stat -c '%a %U %G' /etc/passkey-kiosk/configs.json)"
[ "$(stat -c '%a %U' /var/lib/passkey-kiosk)" = "700 passkey-kiosk" ] || fail "/var/lib/passkey-kiosk: $(stat -c '%a %U' /var/lib/passkey-kiosk)"

as_station() { runuser -u passkey-kiosk -- "$@"; }

# The placeholder configuration is refused with what to fix.
if as_station passkey-kiosk doctor --config /etc/passkey-kiosk/configs.json >/tmp/doctor.out 2>&1; then
    fail "doctor passed the placeholder configuration"
fi
grep -q "FAIL Configuration valid" /tmp/doctor.out || { cat /tmp/doctor.out; fail "doctor did not name the configuration"; }

# A fake tenant, configured the way an administrator would: root's file, the station's group.
as_station passkey-kiosk fake-tenant --port 0 >/tmp/fake.out 2>&1 &
trap 'pkill -u passkey-kiosk 2>/dev/null || true' EXIT
for _ in $(seq 50); do grep -q '"graphBaseUrl"' /tmp/fake.out && break; sleep 0.2; done
sed -n '/^{/,/^}/p' /tmp/fake.out | python3 -c '
import json, sys
c = json.load(sys.stdin)
c["journalPath"] = "/var/lib/passkey-kiosk/passkey-kiosk.journal.sqlite"
json.dump(c, open("/etc/passkey-kiosk/configs.json", "w"), indent=2)'
chgrp passkey-kiosk /etc/passkey-kiosk/configs.json
chmod 0640 /etc/passkey-kiosk/configs.json
as_station passkey-kiosk doctor --config /etc/passkey-kiosk/configs.json --device udp:127.0.0.1:9 >/tmp/doctor.out 2>&1 || { cat /tmp/doctor.out; fail "doctor failed as the service user"; }
grep -q "ok   Secret files readable only by the station's user" /tmp/doctor.out || { cat /tmp/doctor.out; fail "the installed layout is not private enough for doctor"; }

# The queue, fetched by the service user into its journal under /var/lib/passkey-kiosk.
as_station passkey-kiosk prefetch --config /etc/passkey-kiosk/configs.json \
    --out /var/lib/passkey-kiosk/usersToRegister.csv >/tmp/prefetch.out 2>&1 || { cat /tmp/prefetch.out; fail "prefetch failed as the service user"; }
[ "$(stat -c '%a %U' /var/lib/passkey-kiosk/passkey-kiosk.journal.sqlite)" = "600 passkey-kiosk" ] || fail "the journal is not the station's alone"

# The demo, as the service user, on a virtual display.
if command -v Xvfb >/dev/null; then
    Xvfb :97 -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 &
    xvfb=$!
    sleep 1
    runuser -u passkey-kiosk -- env DISPLAY=:97 XDG_RUNTIME_DIR=/tmp HOME=/var/lib/passkey-kiosk \
        passkey-kiosk demo --windowed --bench-frames 30 >/tmp/demo.out 2>&1 || { cat /tmp/demo.out; kill $xvfb; fail "the demo did not run as the service user"; }
    kill $xvfb
fi
# Everything the service user started ends before the purge (runuser leaves its child).
pkill -u passkey-kiosk 2>/dev/null || true
sleep 0.5

apt-get purge -y -qq passkey-kiosk >/dev/null
[ ! -e /etc/passkey-kiosk ] || fail "purge left /etc/passkey-kiosk"
[ -e /var/lib/passkey-kiosk/passkey-kiosk.journal.sqlite ] || fail "purge removed the journal"
! id passkey-kiosk >/dev/null 2>&1 || fail "purge left the user"
rm -rf /var/lib/passkey-kiosk
echo "install-test: installed, used as the service user (doctor, demo), purged (journal kept)"
