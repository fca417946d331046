#!/bin/sh
# Screenshots of every kiosk screen into docs/screenshots/, under Xvfb (no display needed).
#
# Needs: xvfb xauth imagemagick matchbox-window-manager and Mesa's software GL (the apt line in
# README's "Kiosk" section). Each scene is a scripted state (src/demo/scenes.rs) shown full screen
# by `passkey-kiosk demo --scene NAME`; the last shot is the live demo (engine, fake tenant).
set -eu
cd "$(dirname "$0")/.."

PROFILE=${PROFILE:-debug}
if [ "$PROFILE" = release ]; then
    cargo build --release --bin passkey-kiosk
else
    cargo build --bin passkey-kiosk
fi
BIN=target/$PROFILE/passkey-kiosk
OUT=docs/screenshots
mkdir -p "$OUT"

DISPLAY_NUM=${DISPLAY_NUM:-:97}
export XDG_RUNTIME_DIR="$(mktemp -d)"
Xvfb "$DISPLAY_NUM" -screen 0 1280x800x24 -nolisten tcp &
XVFB=$!
export DISPLAY="$DISPLAY_NUM"
sleep 1
# Without a window manager, full screen is ignored.
matchbox-window-manager -use_titlebar no -use_cursor no &
WM=$!
trap 'kill $WM $XVFB 2>/dev/null; rm -rf "$XDG_RUNTIME_DIR"' EXIT INT TERM
sleep 1

shot() { # name, then the command line
    name=$1; shift
    "$@" >/dev/null 2>&1 &
    app=$!
    sleep "${SETTLE:-3}"
    import -window root "$OUT/$name.png"
    kill "$app" 2>/dev/null || true
    wait "$app" 2>/dev/null || true
    echo "$OUT/$name.png"
}

for scene in $("$BIN" demo --scene list 2>&1 | sed -n 's/.*scenes: //p' | tr -d ','); do
    shot "$scene" "$BIN" demo --scene "$scene"
done

# The pages the person reads, in German (`"language": "de"`, or the person's language switch).
for scene in touch pin reveal done; do
    shot "$scene-de" "$BIN" demo --scene "$scene" --language de
done

# The live demo (fake tenant + engine + software key), clicked through with xdotool at the
# positions of the 1280x800 layout: sign in, pick the first person, insert a key, done.
"$BIN" demo >/dev/null 2>&1 &
app=$!
sleep 6
import -window root "$OUT/demo-live-sign-in.png"
xdotool mousemove 140 342 click 1; sleep 2
import -window root "$OUT/demo-live-queue.png"
xdotool mousemove 222 313 click 1; sleep 2
xdotool mousemove 940 36 click 1; sleep 4
xdotool mousemove 946 454 click 1; sleep 1   # Reveal PIN
import -window root "$OUT/demo-live-done.png"
kill "$app" 2>/dev/null || true
wait "$app" 2>/dev/null || true
ls "$OUT"/demo-live-*.png
