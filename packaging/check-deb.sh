#!/bin/sh
# Builds the Debian package (`cargo deb`) from the binary of the given profile (default: dev,
# so CI does not pay for a release build; `release` for a real package) and checks what a
# security team would:
# the files and their modes, the conffile, the maintainer scripts, the systemd unit
# (`systemd-analyze verify`) and the udev rule (`udevadm verify` where it exists).
set -eu
cd "$(dirname "$0")/.."
profile="${1:-dev}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cargo build --profile "$profile" --bin passkey-kiosk --locked
cargo deb --profile "$profile" --no-build --fast --output "$work/passkey-kiosk.deb" 2>&1 |
    grep -v -e 'dev profile is not supported' -e 'To enable debug symbols' || true
deb="$work/passkey-kiosk.deb"
fail() { echo "check-deb: $*" >&2; exit 1; }

dpkg-deb -I "$deb" >"$work/info"
dpkg-deb -c "$deb" >"$work/contents"
dpkg-deb -e "$deb" "$work/control"
dpkg-deb -x "$deb" "$work/root"

# Files and modes: "mode path" as dpkg-deb lists them.
has() { grep -E "^$1 (root/root|0/0) .* \./$2\$" "$work/contents" >/dev/null || fail "missing $1 $2"; }
has '-rwxr-xr-x' 'usr/bin/passkey-kiosk'
has '-rw-r-----' 'etc/passkey-kiosk/configs.json'
has '-rw-r--r--' 'etc/pam.d/passkey-kiosk'
has '-rw-r--r--' 'usr/lib/udev/rules.d/70-passkey-kiosk.rules'
has '-rw-r--r--' 'usr/share/polkit-1/rules.d/60-passkey-kiosk-pcsc.rules'
has '-rw-r--r--' '(usr/)?lib/systemd/system/passkey-kiosk.service'
has '-rw-r--r--' 'usr/share/doc/passkey-kiosk/deploying.md'
has '-rw-r--r--' 'usr/share/doc/passkey-kiosk/configs.example.json'
has '-rw-r--r--' 'usr/share/doc/passkey-kiosk/pin-letters.md'
# Nothing else is installed world-writable or setuid.
if grep -E '^-..s|^-.....s|^-.......w' "$work/contents"; then fail "setuid or world-writable file"; fi

# Control: dependencies, conffile, maintainer scripts with the service user and the unit.
for dep in cage libpcsclite1 pcscd; do
    grep -E "^ Depends:.*\b$dep\b" "$work/info" >/dev/null || fail "Depends lacks $dep"
done
grep -x '/etc/passkey-kiosk/configs.json' "$work/control/conffiles" >/dev/null || fail "configs.json is not a conffile"
grep 'adduser --system' "$work/control/postinst" >/dev/null || fail "postinst creates no system user"
grep 'install -d -o root -g passkey-kiosk -m 0750 /etc/passkey-kiosk' "$work/control/postinst" >/dev/null || fail "postinst does not set /etc/passkey-kiosk to 0750"
grep 'install -d -o passkey-kiosk -g passkey-kiosk -m 0700 /var/lib/passkey-kiosk' "$work/control/postinst" >/dev/null || fail "postinst does not set /var/lib/passkey-kiosk to 0700"
grep 'deb-systemd-helper' "$work/control/postinst" >/dev/null || fail "postinst does not enable the unit"
if grep -F '#DEBHELPER#' "$work/control/postinst" "$work/control/postrm"; then fail "unexpanded #DEBHELPER#"; fi
sh -n "$work/control/postinst" && sh -n "$work/control/postrm" || fail "maintainer script syntax"

# The unit as systemd reads it (the compositor it starts must exist: cage).
unit="$(find "$work/root" -name passkey-kiosk.service)"
if ! SYSTEMD_LOG_LEVEL=warning systemd-analyze verify "$unit" 2>"$work/verify"; then
    cat "$work/verify" >&2
    fail "systemd-analyze verify"
fi
# Units named by After=/Conflicts= that a container lacks are not our problem.
if grep -v -e 'getty@' -e 'plymouth' -e 'graphical.target' -e 'logind' -e 'dbus' "$work/verify" | grep -q .; then
    cat "$work/verify" >&2
    fail "systemd-analyze verify warned"
fi
if udevadm verify --help >/dev/null 2>&1; then
    udevadm verify "$work/root/usr/lib/udev/rules.d/70-passkey-kiosk.rules" || fail "udevadm verify"
fi
echo "check-deb: $(dpkg-deb -f "$deb" Package) $(dpkg-deb -f "$deb" Version): files, modes, scripts and unit checked"
# Keep the package for an install test when asked (DEB_OUT=path).
if [ -n "${DEB_OUT:-}" ]; then cp "$deb" "$DEB_OUT"; fi
